"""OpenAI Chat request options (tools, tool choice, JSON mode, reasoning, stop), both directions."""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolChoice, ToolSpec
from shared.canonical.errors import BadRequest
from shared.formats.common import optional_bool, require

__all__ = ["effort_for_budget", "options_body", "parse_options"]

_EFFORTS = {"minimal", "low", "medium", "high", "none", "xhigh"}


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    require(isinstance(value, list), "'tools' must be an array", "tools")
    tools = []
    for index, tool in enumerate(value):
        path = f"tools[{index}]"
        require(isinstance(tool, dict) and tool.get("type") == "function", f"'{path}' must be a function tool", path)
        function = tool.get("function")
        require(isinstance(function, dict), f"'{path}.function' is required", f"{path}.function")
        name = function.get("name")
        require(isinstance(name, str) and bool(name), f"'{path}.function.name' is required", f"{path}.function.name")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        require(isinstance(parameters, dict), f"'{path}.function.parameters' must be an object", path)
        description = function.get("description")
        strict = function.get("strict")
        tools.append(
            ToolSpec(
                name=name,
                description=description if isinstance(description, str) else None,
                parameters=parameters,
                strict=strict if isinstance(strict, bool) else None,
            )
        )
    return tuple(tools)


def _tool_choice(value: Any) -> ToolChoice | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return ToolChoice(value)
    if isinstance(value, dict) and isinstance(value.get("function"), dict):
        name = value["function"].get("name")
        require(isinstance(name, str) and bool(name), "'tool_choice.function.name' is required", "tool_choice")
        return ToolChoice("tool", name)
    raise BadRequest("'tool_choice' must be auto, none, required or a function", param="tool_choice")


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    require(isinstance(value, dict), "'response_format' must be an object", "response_format")
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind == "json_schema":
        spec = value.get("json_schema")
        require(isinstance(spec, dict), "'response_format.json_schema' is required", "response_format.json_schema")
        schema = spec.get("schema")
        require(schema is None or isinstance(schema, dict), "'response_format.json_schema.schema' must be an object")
        name = spec.get("name")
        strict = spec.get("strict")
        return ResponseFormat(
            "json_schema",
            schema=schema,
            name=name if isinstance(name, str) else None,
            strict=strict if isinstance(strict, bool) else None,
        )
    raise BadRequest("'response_format.type' must be text, json_object or json_schema", param="response_format")


def _reasoning(body: dict[str, Any]) -> ReasoningConfig | None:
    effort = body.get("reasoning_effort")
    nested = body.get("reasoning")
    if isinstance(nested, dict) and effort is None:
        effort = nested.get("effort")
    if effort is None:
        return None
    require(isinstance(effort, str) and effort in _EFFORTS, f"'reasoning_effort' must be one of {sorted(_EFFORTS)}")
    return ReasoningConfig(effort=effort, enabled=effort not in ("none",))


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    require(isinstance(value, list) and all(isinstance(v, str) for v in value), "'stop' must be a string or array")
    return tuple(value)


def parse_options(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "tools": _tools(body.get("tools")),
        "tool_choice": _tool_choice(body.get("tool_choice")),
        "parallel_tool_calls": optional_bool(body, "parallel_tool_calls"),
        "response_format": _response_format(body.get("response_format")),
        "reasoning": _reasoning(body),
        "stop": _stop(body.get("stop")),
    }


def effort_for_budget(reasoning: ReasoningConfig) -> str | None:
    """An effort level for dialects that only know efforts, from a budget if that is what was asked."""
    if reasoning.effort:
        return reasoning.effort
    if reasoning.enabled is False:
        return None
    if reasoning.budget_tokens is not None:
        if reasoning.budget_tokens <= 0:
            return None
        return "low" if reasoning.budget_tokens <= 2048 else "medium" if reasoning.budget_tokens <= 12288 else "high"
    return "medium" if reasoning.enabled else None


def options_body(request: ChatRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "parameters": t.parameters,
                    **({"strict": t.strict} if t.strict is not None else {}),
                },
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        choice = request.tool_choice
        out["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}} if choice.mode == "tool" else choice.mode
        )
    if request.parallel_tool_calls is not None and request.tools:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        if fmt.type == "json_object":
            out["response_format"] = {"type": "json_object"}
        else:
            spec: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.schema or {}}
            if fmt.strict is not None:
                spec["strict"] = fmt.strict
            out["response_format"] = {"type": "json_schema", "json_schema": spec}
    if request.reasoning is not None:
        effort = effort_for_budget(request.reasoning)
        if effort:
            out["reasoning_effort"] = effort
    if request.stop:
        out["stop"] = list(request.stop)
    return out
