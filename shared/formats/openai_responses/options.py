"""OpenAI Responses request options (tools, tool choice, text format, reasoning), both directions.

Function tools are strict by default in this API (`strict` omitted means true), unlike Chat
Completions; a canonical tool with no stated strictness is therefore sent with `strict: false`.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolChoice, ToolSpec
from shared.canonical.errors import BadRequest
from shared.formats.common import require
from shared.formats.openai_chat.options import effort_for_budget

__all__ = ["echo_options", "options_body", "parse_options"]

_EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh"}
_SUMMARIES = {"auto", "concise", "detailed"}
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def _function_tool(tool: dict[str, Any], path: str) -> ToolSpec:
    name = tool.get("name")
    require(isinstance(name, str) and bool(name), f"'{path}.name' is required", f"{path}.name")
    parameters = tool.get("parameters")
    require(parameters is None or isinstance(parameters, dict), f"'{path}.parameters' must be an object", path)
    description = tool.get("description")
    require(description is None or isinstance(description, str), f"'{path}.description' must be a string", path)
    strict = tool.get("strict")
    require(strict is None or isinstance(strict, bool), f"'{path}.strict' must be a boolean", f"{path}.strict")
    parameters = parameters or dict(_EMPTY_SCHEMA)
    return ToolSpec(name=str(name), description=description, parameters=parameters, strict=strict)


def _tools(value: Any, unsupported: set[str]) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    require(isinstance(value, list), "'tools' must be an array", "tools")
    tools = []
    for index, tool in enumerate(value):
        path = f"tools[{index}]"
        require(isinstance(tool, dict), f"'{path}' must be an object", path)
        kind = tool.get("type")
        require(isinstance(kind, str) and bool(kind), f"'{path}.type' is required", f"{path}.type")
        if kind == "function":
            tools.append(_function_tool(tool, path))
        else:
            unsupported.add(f"'{kind}' tools")  # built-in tools (web_search, file_search, mcp, ...)
    return tuple(tools)


def _tool_choice(value: Any, unsupported: set[str]) -> ToolChoice | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return ToolChoice(value)
    require(isinstance(value, dict), "'tool_choice' must be auto, none, required or an object", "tool_choice")
    kind = value.get("type")
    if kind == "function":
        name = value.get("name")
        require(isinstance(name, str) and bool(name), "'tool_choice.name' is required", "tool_choice.name")
        return ToolChoice("tool", str(name))
    require(isinstance(kind, str) and bool(kind), "'tool_choice.type' is required", "tool_choice.type")
    unsupported.add(f"'{kind}' tool_choice")  # allowed_tools, built-in tools, mcp, custom
    return None


def _format(text: Any, unsupported: set[str]) -> ResponseFormat | None:
    if text is None:
        return None
    require(isinstance(text, dict), "'text' must be an object", "text")
    if text.get("verbosity") not in (None, "medium"):
        unsupported.add("'text.verbosity'")
    fmt = text.get("format")
    if fmt is None:
        return None
    require(isinstance(fmt, dict), "'text.format' must be an object", "text.format")
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind != "json_schema":
        raise BadRequest("'text.format.type' must be text, json_object or json_schema", param="text.format.type")
    schema = fmt.get("schema")
    require(isinstance(schema, dict), "'text.format.schema' is required", "text.format.schema")
    name, strict = fmt.get("name"), fmt.get("strict")
    require(name is None or isinstance(name, str), "'text.format.name' must be a string", "text.format.name")
    require(strict is None or isinstance(strict, bool), "'text.format.strict' must be a boolean", "text.format.strict")
    return ResponseFormat("json_schema", schema=schema, name=name, strict=strict)


def _reasoning(value: Any) -> ReasoningConfig | None:
    if value is None:
        return None
    require(isinstance(value, dict), "'reasoning' must be an object", "reasoning")
    effort = value.get("effort")
    if effort is not None:
        require(effort in _EFFORTS, f"'reasoning.effort' must be one of {sorted(_EFFORTS)}", "reasoning.effort")
    summary = value.get("summary", value.get("generate_summary"))
    if summary is not None:
        require(summary in _SUMMARIES, f"'reasoning.summary' must be one of {sorted(_SUMMARIES)}", "reasoning.summary")
    if effort is None and summary is None:
        return None
    return ReasoningConfig(
        effort=effort,
        enabled=None if effort is None else effort != "none",
        include_thoughts=True if summary is not None else None,
    )


def parse_options(body: dict[str, Any], unsupported: set[str]) -> dict[str, Any]:
    return {
        "tools": _tools(body.get("tools"), unsupported),
        "tool_choice": _tool_choice(body.get("tool_choice"), unsupported),
        "response_format": _format(body.get("text"), unsupported),
        "reasoning": _reasoning(body.get("reasoning")),
    }


# --- outbound -------------------------------------------------------------------------------


def _tool_body(tool: ToolSpec, strict_default: bool | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = tool.parameters
    strict = tool.strict if tool.strict is not None else strict_default
    if strict is not None:
        out["strict"] = strict
    return out


def _choice_body(choice: ToolChoice) -> str | dict[str, str]:
    return {"type": "function", "name": choice.name or ""} if choice.mode == "tool" else choice.mode


def _format_body(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    out: dict[str, Any] = {"type": "json_schema", "name": fmt.name or "response", "schema": fmt.schema or {}}
    if fmt.strict is not None:
        out["strict"] = fmt.strict
    return out


def reasoning_body(reasoning: ReasoningConfig) -> dict[str, Any] | None:
    effort = effort_for_budget(reasoning)
    out: dict[str, Any] = {"effort": effort} if effort else {}
    wanted = bool(effort) or bool(reasoning.include_thoughts)
    if wanted and effort != "none" and reasoning.include_thoughts is not False and reasoning.enabled is not False:
        out["summary"] = "auto"  # canonical thinking is the summary: ask for it unless told not to
    return out or None


def options_body(request: ChatRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = [_tool_body(tool, strict_default=False) for tool in request.tools]
    if request.tool_choice is not None:
        out["tool_choice"] = _choice_body(request.tool_choice)
    if request.parallel_tool_calls is not None and request.tools:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None and request.response_format.type != "text":
        out["text"] = {"format": _format_body(request.response_format)}
    if request.reasoning is not None:
        reasoning = reasoning_body(request.reasoning)
        if reasoning:
            out["reasoning"] = reasoning
    return out


def echo_options(request: ChatRequest) -> dict[str, Any]:
    """Request options as a response object echoes them back."""
    reasoning = request.reasoning
    fmt = request.response_format
    return {
        "parallel_tool_calls": True if request.parallel_tool_calls is None else request.parallel_tool_calls,
        "reasoning": {
            "effort": reasoning.effort if reasoning else None,
            "summary": "auto" if reasoning and reasoning.include_thoughts else None,
        },
        "text": {"format": _format_body(fmt) if fmt is not None else {"type": "text"}, "verbosity": "medium"},
        "tool_choice": _choice_body(request.tool_choice) if request.tool_choice else "auto",
        "tools": [_tool_body(tool, strict_default=None) for tool in request.tools],
    }
