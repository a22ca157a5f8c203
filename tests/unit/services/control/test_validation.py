"""Provider connection rules and audit scrubbing, without a database."""

from __future__ import annotations

import pytest

from services.control.audit import scrub
from services.control.errors import InvalidField
from services.control.resources.providers.validation import ConnectionDraft, validate_draft


def draft(**changes: object) -> ConnectionDraft:
    values: dict[str, object] = {
        "provider": "openai",
        "name": "main",
        "api_key": "sk-abc",
        "base_url": None,
        "priority": 1,
        "is_active": True,
        "default_model": None,
        "models": [],
    }
    values.update(changes)
    return ConnectionDraft(**values)  # type: ignore[arg-type]


def test_catalog_aliases_are_normalised() -> None:
    assert validate_draft(draft(provider="OAI"), allow_private=False).provider == "openai"


def test_catalog_providers_need_no_base_url_but_generic_ones_do() -> None:
    assert validate_draft(draft(), allow_private=False).base_url is None
    with pytest.raises(InvalidField, match="baseUrl"):
        validate_draft(draft(provider="openai-compatible", api_key=None), allow_private=False)


def test_base_url_from_provider_specific_data_moves_to_the_column() -> None:
    result = validate_draft(
        draft(provider_specific_data={"baseUrl": "http://127.0.0.1:1/v1/", "x": 1}), allow_private=True
    )
    assert result.base_url == "http://127.0.0.1:1/v1"
    assert result.provider_specific_data == {"x": 1}


def test_keys_kept_on_update_satisfy_the_key_requirement() -> None:
    validate_draft(draft(api_key=None, keeps_key=True), allow_private=False)
    with pytest.raises(InvalidField, match="apiKey"):
        validate_draft(draft(api_key=None), allow_private=False)
    with pytest.raises(InvalidField, match="apiKey"):
        validate_draft(draft(api_key="sk-\r\nX-Evil: 1"), allow_private=False)


def test_oversized_provider_data_is_refused() -> None:
    with pytest.raises(InvalidField, match="providerSpecificData"):
        validate_draft(draft(provider_specific_data={"blob": "x" * 70_000}), allow_private=False)


def test_scrub_removes_secrets_at_any_depth() -> None:
    cleaned = scrub({"apiKey": "sk-1", "nested": [{"password": "p", "name": "n"}], "token": None, "keep": 1})
    assert cleaned == {
        "apiKey": "[REDACTED]",
        "nested": [{"password": "[REDACTED]", "name": "n"}],
        "token": None,
        "keep": 1,
    }
