"""Anthropic request options (tools, tool_choice, thinking, output_config, stop_sequences), both directions.

- `tool_choice` {auto|any|tool|none} <-> ToolChoice auto|required|tool|none, and its
  `disable_parallel_tool_use` <-> `parallel_tool_calls` (negated).
- `thinking` {enabled, budget_tokens} / {disabled} / {adaptive} and `output_config.effort` <->
  ReasoningConfig. A canonical effort without a budget becomes a budget (low 2048, medium 8192,
  high 16384, the inverse of the OpenAI dialect's `effort_for_budget`), so any thinking model takes it.
- `output_config.format` {type: json_schema, schema} (and the older top-level `output_format`) <->
  ResponseFormat json_schema. Anthropic has no schema-less JSON mode: `json_object` is refused.
- Server tools (web search, code execution, ...) cannot be carried: they go to `unsupported`.
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolChoice, ToolSpec
from shared.canonical.errors import BadRequest
from shared.formats.common import optional_bool, optional_int, require

__all__ = ["DEFAULT_BUDGET", "options_body", "parse_options", "thinking_body"]

_CHOICES = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_CHOICE_NAMES = {"auto": "auto", "required": "any", "tool": "tool", "none": "none"}
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768, "max": 32768}
_MIN_BUDGET = 1024  # Anthropic's documented minimum for budget_tokens
DEFAULT_BUDGET = _BUDGETS["medium"]
# Tool fields the canonical ToolSpec does not hold but that change nothing the model is told:
# prompt-caching and streaming-granularity hints.
_TOOL_HINTS = {"name", "description", "input_schema", "type", "strict", "cache_control", "eager_input_streaming"}


def _tool(tool: Any, path: str, unsupported: set[str]) -> ToolSpec | None:
    require(isinstance(tool, dict), f"'{path}' must be an object", path)
    kind = tool.get("type")
    if kind not in (None, "custom"):
        unsupported.add(f"server tool '{kind}'")
        return None
    name = tool.get("name")
    require(isinstance(name, str) and bool(name), f"'{path}.name' is required", f"{path}.name")
    schema = tool.get("input_schema")
    require(isinstance(schema, dict), f"'{path}.input_schema' must be an object", f"{path}.input_schema")
    description = tool.get("description")
    require(description is None or isinstance(description, str), f"'{path}.description' must be a string", path)
    unsupported.update(f"'tools[].{key}'" for key in tool if key not in _TOOL_HINTS)
    return ToolSpec(
        name=str(name),
        description=description,
        parameters=schema,
        strict=optional_bool(tool, "strict", f"{path}.strict"),
    )


def _tools(value: Any, unsupported: set[str]) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    require(isinstance(value, list), "'tools' must be an array", "tools")
    tools = (_tool(tool, f"tools[{index}]", unsupported) for index, tool in enumerate(value))
    return tuple(tool for tool in tools if tool is not None)


def _tool_choice(value: Any) -> tuple[ToolChoice | None, bool | None]:
    if value is None:
        return None, None
    require(isinstance(value, dict), "'tool_choice' must be an object", "tool_choice")
    kind = value.get("type")
    if kind not in _CHOICES:
        raise BadRequest("'tool_choice.type' must be one of auto, any, tool, none", param="tool_choice.type")
    name = value.get("name")
    if kind == "tool":
        require(isinstance(name, str) and bool(name), "'tool_choice.name' is required", "tool_choice.name")
    disable = optional_bool(value, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use")
    choice = ToolChoice(_CHOICES[kind], str(name) if kind == "tool" else None)  # type: ignore[arg-type]
    return choice, None if disable is None else not disable


def _thinking(value: Any, unsupported: set[str]) -> dict[str, Any]:
    """The ReasoningConfig fields a `thinking` object sets."""
    if value is None:
        return {}
    require(isinstance(value, dict), "'thinking' must be an object", "thinking")
    kind = value.get("type")
    display = value.get("display")
    ok = display in (None, "summarized", "omitted")
    require(ok, "'thinking.display' must be summarized or omitted", "thinking.display")
    shown = None if display is None else display == "summarized"
    if kind == "enabled":
        budget = value.get("budget_tokens")
        if budget is None:
            raise BadRequest("'thinking.budget_tokens' is required", param="thinking.budget_tokens")
        budget = optional_int(value, "budget_tokens", low=1, path="thinking.budget_tokens")
        return {"enabled": True, "budget_tokens": budget, "include_thoughts": shown}
    if kind == "adaptive":
        return {"enabled": True, "include_thoughts": shown}
    if kind == "disabled":
        return {"enabled": False}
    if kind == "between_tools":
        unsupported.add("thinking type 'between_tools'")
        return {"enabled": False}
    raise BadRequest("'thinking.type' must be enabled, adaptive or disabled", param="thinking.type")


def _output_config(body: dict[str, Any], unsupported: set[str]) -> tuple[str | None, ResponseFormat | None]:
    config = body.get("output_config")
    if config is None:
        config = {}
    require(isinstance(config, dict), "'output_config' must be an object", "output_config")
    unsupported.update(f"'output_config.{key}'" for key in config if key not in ("effort", "format"))
    effort = config.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise BadRequest(f"'output_config.effort' must be one of {list(_EFFORTS)}", param="output_config.effort")
    fmt, path = config.get("format"), "output_config.format"
    if fmt is None:
        fmt, path = body.get("output_format"), "output_format"  # the pre-GA spelling, still accepted
    if fmt is None:
        return effort, None
    require(isinstance(fmt, dict) and fmt.get("type") == "json_schema", f"'{path}.type' must be json_schema", path)
    schema = fmt.get("schema")
    require(isinstance(schema, dict), f"'{path}.schema' must be an object", f"{path}.schema")
    return effort, ResponseFormat("json_schema", schema=schema)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    require(ok, "'stop_sequences' must be an array of strings", "stop_sequences")
    return tuple(value)


def parse_options(body: dict[str, Any], unsupported: set[str]) -> dict[str, Any]:
    choice, parallel = _tool_choice(body.get("tool_choice"))
    effort, fmt = _output_config(body, unsupported)
    thinking = _thinking(body.get("thinking"), unsupported)
    reasoning = ReasoningConfig(effort=effort, **thinking) if thinking or effort else None
    return {
        "tools": _tools(body.get("tools"), unsupported),
        "tool_choice": choice,
        "parallel_tool_calls": parallel,
        "reasoning": reasoning,
        "response_format": fmt,
        "stop": _stop(body.get("stop_sequences")),
    }


def thinking_body(reasoning: ReasoningConfig) -> tuple[dict[str, Any] | None, str | None]:
    """(`thinking`, `output_config.effort`) for a canonical reasoning request."""
    if reasoning.enabled is False or reasoning.budget_tokens == 0 or reasoning.effort == "none":
        return {"type": "disabled"}, None
    budget = reasoning.budget_tokens
    if budget is None and reasoning.enabled is None and reasoning.effort:
        # An effort alone (Anthropic's own output_config.effort) tunes spending without switching thinking on.
        effort = reasoning.effort if reasoning.effort in _EFFORTS else "low"
        return None, effort
    if budget is None or budget < 0:  # no budget, or Gemini's -1 ("dynamic")
        budget = _BUDGETS.get(reasoning.effort or "medium", DEFAULT_BUDGET)
    thinking: dict[str, Any] = {"type": "enabled", "budget_tokens": max(_MIN_BUDGET, budget)}
    if reasoning.include_thoughts is False:
        thinking["display"] = "omitted"
    return thinking, None


def _tool_choice_body(request: ChatRequest) -> dict[str, Any] | None:
    choice, parallel = request.tool_choice, request.parallel_tool_calls
    if choice is None and (parallel is None or not request.tools):
        return None
    mode = choice.mode if choice is not None else "auto"
    out: dict[str, Any] = {"type": _CHOICE_NAMES[mode]}
    if mode == "tool":
        out["name"] = choice.name if choice is not None else None
    if parallel is not None and mode != "none":
        out["disable_parallel_tool_use"] = not parallel
    return out


def _tools_body(request: ChatRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": tool.name,
            **({"description": tool.description} if tool.description else {}),
            "input_schema": tool.parameters,
            **({"strict": tool.strict} if tool.strict is not None else {}),
        }
        for tool in request.tools
    ]


def options_body(request: ChatRequest) -> dict[str, Any]:
    """Tools, tool choice, thinking, output config and stop sequences of an Anthropic request body."""
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = _tools_body(request)
    choice = _tool_choice_body(request)
    if choice is not None:
        out["tool_choice"] = choice
    config: dict[str, Any] = {}
    if request.reasoning is not None:
        thinking, effort = thinking_body(request.reasoning)
        if thinking is not None:
            out["thinking"] = thinking
        if effort is not None:
            config["effort"] = effort
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        raise BadRequest(
            "JSON mode without a schema (response_format json_object) is not supported by anthropic; "
            "use a json_schema response format",
            param="response_format",
        )
    if fmt is not None and fmt.type == "json_schema":
        config["format"] = {"type": "json_schema", "schema": fmt.schema or {}}
    if config:
        out["output_config"] = config
    if request.stop:
        out["stop_sequences"] = list(request.stop)
    return out
