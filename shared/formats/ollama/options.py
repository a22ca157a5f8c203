"""Ollama request options (`options`, `think`, `format`, `tools`), both directions.

`options` holds the sampling settings the canonical request carries (temperature, top_p, top_k,
num_predict as max_tokens, stop, seed, presence/frequency penalties). The runtime settings that
only tell a local Ollama server how to run the model (num_ctx, num_gpu, num_thread, ...) change
nothing in what is asked, so a translated request leaves them behind (a same-dialect passthrough
keeps them). Any other option changes the answer in a way the canonical request cannot express
(repeat_penalty, min_p, mirostat, ...), so it is listed as unsupported: a clear 400 when the
request must be translated, passed through untouched otherwise.
"""

from __future__ import annotations

import math
from typing import Any

from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolSpec
from shared.canonical.errors import BadRequest
from shared.formats.common import optional_int, optional_number, require

__all__ = ["options_body", "parse_format", "parse_options", "parse_think", "parse_tools", "think_value", "tools_body"]

_CARRIED = {"temperature", "top_p", "top_k", "num_predict", "stop", "seed", "presence_penalty", "frequency_penalty"}
_RUNTIME = {
    "num_ctx",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "low_vram",
    "f16_kv",
    "use_mmap",
    "use_mlock",
    "num_thread",
    "numa",
    "vocab_only",
    "logits_all",
    "embedding_only",
    "num_keep",
}
_LEVELS = ("low", "medium", "high")
_LEVEL_OF_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}


def _number(options: dict[str, Any], name: str, low: float | None = None) -> float | None:
    """A number as Ollama takes it: no upper bound (llama.cpp samples with any value)."""
    value = options.get(name)
    if value is None:
        return None
    path = f"options.{name}"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    require(ok, f"'{path}' must be a number", path)
    if low is not None:
        require(value >= low, f"'{path}' must be at least {low:g}", path)
    return float(value)


def _num_predict(options: dict[str, Any], unsupported: set[str]) -> int | None:
    value = optional_int(options, "num_predict", path="options.num_predict")
    if value is None or value == -1:  # -1: no limit, Ollama's default
        return None
    if value == -2:
        unsupported.add("'options.num_predict' -2 (fill the context)")
        return None
    require(value >= 1, "'options.num_predict' must be at least 1, or -1 for no limit", "options.num_predict")
    return value


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    require(ok, "'options.stop' must be a string or an array of strings", "options.stop")
    return tuple(value)


def parse_options(value: Any, unsupported: set[str]) -> dict[str, Any]:
    """The canonical sampling fields of an Ollama `options` object."""
    if value is None:
        return {}
    require(isinstance(value, dict), "'options' must be an object", "options")
    for name, setting in value.items():
        if setting is not None and name not in _CARRIED and name not in _RUNTIME:
            unsupported.add(f"'options.{name}'")
    return {
        "temperature": _number(value, "temperature", low=0),
        "top_p": optional_number(value, "top_p", 0, 1, "options.top_p"),
        "top_k": optional_int(value, "top_k", low=0, path="options.top_k"),
        "seed": optional_int(value, "seed", path="options.seed"),
        "presence_penalty": _number(value, "presence_penalty"),
        "frequency_penalty": _number(value, "frequency_penalty"),
        "max_tokens": _num_predict(value, unsupported),
        "stop": _stop(value.get("stop")),
    }


def parse_think(value: Any) -> ReasoningConfig | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ReasoningConfig(enabled=value, include_thoughts=value)
    if isinstance(value, str) and value in _LEVELS:
        return ReasoningConfig(effort=value, enabled=True, include_thoughts=True)
    raise BadRequest("'think' must be a boolean or one of 'low', 'medium', 'high'", param="think")


def parse_format(value: Any) -> ResponseFormat | None:
    if value is None or value == "":
        return None
    if value == "json":
        return ResponseFormat("json_object")
    if isinstance(value, dict):
        return ResponseFormat("json_schema", schema=value)
    raise BadRequest("'format' must be \"json\" or a JSON schema object", param="format")


def _tool(tool: Any, path: str) -> ToolSpec:
    require(isinstance(tool, dict), f"'{path}' must be an object", path)
    kind = tool.get("type", "function")
    require(kind == "function", f"'{path}.type' must be \"function\"", f"{path}.type")
    function = tool.get("function")
    require(isinstance(function, dict), f"'{path}.function' is required", f"{path}.function")
    name = function.get("name")
    require(isinstance(name, str) and bool(name), f"'{path}.function.name' is required", f"{path}.function.name")
    parameters = function.get("parameters")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    require(isinstance(parameters, dict), f"'{path}.function.parameters' must be an object", f"{path}.function")
    description = function.get("description")
    require(
        description is None or isinstance(description, str),
        f"'{path}.function.description' must be a string",
        f"{path}.function.description",
    )
    return ToolSpec(name=name, description=description or None, parameters=parameters)


def parse_tools(value: Any) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    require(isinstance(value, list), "'tools' must be an array", "tools")
    return tuple(_tool(tool, f"tools[{index}]") for index, tool in enumerate(value))


def think_value(reasoning: ReasoningConfig) -> bool | str | None:
    """`think` for a canonical reasoning request: a level when one was asked for, else on/off."""
    if reasoning.enabled is False or reasoning.effort == "none":
        return False
    if reasoning.effort:
        return _LEVEL_OF_EFFORT.get(reasoning.effort, "medium")
    if reasoning.budget_tokens is not None:
        if reasoning.budget_tokens <= 0:
            return False
        return "low" if reasoning.budget_tokens <= 2048 else "medium" if reasoning.budget_tokens <= 12288 else "high"
    if reasoning.enabled or reasoning.include_thoughts:
        return True
    return None


def _format_value(fmt: ResponseFormat | None) -> str | dict[str, Any] | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema" and fmt.schema is not None:
        return fmt.schema
    return "json"


def tools_body(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        function["parameters"] = tool.parameters
        out.append({"type": "function", "function": function})
    return out


def options_body(request: ChatRequest) -> dict[str, Any]:
    """`options`, `format` and `think` of an upstream request (only what was asked for)."""
    options: dict[str, Any] = {}
    for name in ("temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(request, name)
        if value is not None:
            options[name] = value
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.stop:
        options["stop"] = list(request.stop)
    out: dict[str, Any] = {}
    fmt = _format_value(request.response_format)
    if fmt is not None:
        out["format"] = fmt
    if options:
        out["options"] = options
    think = think_value(request.reasoning) if request.reasoning is not None else None
    if think is not None:
        out["think"] = think
    return out
