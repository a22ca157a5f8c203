"""Rules a suite's cases satisfy before they are stored; names the field that breaks one."""

from __future__ import annotations

from typing import Any

import msgspec

from services.control.errors import InvalidField
from services.control.resources.evals.schemas import CaseCreate, SuiteCreate
from services.control.resources.names import check_printable
from shared.evals.scoring import check_pattern

__all__ = ["case_values", "check_suite"]


def _check_parts(field: str, case: CaseCreate) -> None:
    for m, message in enumerate(case.messages):
        if isinstance(message.content, str):
            continue
        for p, part in enumerate(message.content):
            if part.type == "text" and part.text is None:
                raise InvalidField(f"{field}.messages[{m}].content[{p}].text", "is required for a text part")
            if part.type == "image_url" and part.image_url is None:
                raise InvalidField(f"{field}.messages[{m}].content[{p}].image_url", "is required for an image part")


def _check_case(index: int, case: CaseCreate) -> None:
    field = f"cases[{index}]"
    _check_parts(field, case)
    check_printable(f"{field}.name", case.name)
    if case.scoring == "judge":
        if case.rubric is None or not case.rubric.strip():
            raise InvalidField(f"{field}.rubric", "is required when scoring is judge")
    elif case.expected is None:
        raise InvalidField(f"{field}.expected", f"is required when scoring is {case.scoring}")
    if case.scoring == "regex" and case.expected is not None:
        problem = check_pattern(case.expected, case.case_sensitive)
        if problem is not None:
            raise InvalidField(f"{field}.expected", problem)
    if case.scoring != "judge" and case.rubric is not None:
        raise InvalidField(f"{field}.rubric", "is only used when scoring is judge")


def check_suite(data: SuiteCreate) -> tuple[str, str]:
    """The suite's trimmed (name, description); raises InvalidField on the first bad case."""
    name = data.name.strip()
    if not name:
        raise InvalidField("name", "must not be blank")
    check_printable("name", name)
    for index, case in enumerate(data.cases):
        _check_case(index, case)
    return name, data.description.strip()


def case_values(case: CaseCreate) -> dict[str, Any]:
    return {
        "name": case.name.strip(),
        "messages": msgspec.to_builtins(case.messages),
        "expected": case.expected,
        "scoring": case.scoring,
        "case_sensitive": case.case_sensitive,
        "rubric": case.rubric,
        "max_tokens": case.max_tokens,
        "temperature": case.temperature,
    }
