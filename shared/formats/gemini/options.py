"""Gemini request options, both directions: `generationConfig`, `tools`, `toolConfig`.

Reading: every field is checked (a 400 names it); what the canonical request cannot carry goes to
`unsupported`. Writing: `parametersJsonSchema` and `responseJsonSchema` (full JSON Schema) are
used, so schemas pass unchanged; reasoning becomes `thinkingConfig` (a token budget stays a budget,
an effort level becomes `thinkingLevel`, or a budget for Gemini 1.x/2.x models, which have no levels).
"""

from __future__ import annotations

from typing import Any

from shared.canonical.chat import ChatRequest, ReasoningConfig, ResponseFormat, ToolChoice, ToolSpec
from shared.canonical.errors import BadRequest
from shared.formats.common import optional_bool, optional_int, optional_number, optional_str, require
from shared.formats.gemini.schema import json_schema
from shared.formats.gemini.wire import camel

__all__ = ["generation_config", "parse_options", "tool_body"]

_LEVELS = ("minimal", "low", "medium", "high")
_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_CONFIG_FIELDS = {
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "stopSequences",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "candidateCount",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "thinkingConfig",
    "responseModalities",
}


def _object(value: Any, path: str) -> dict[str, Any]:
    """An object with camelCase keys, or a 400 naming `path`."""
    require(isinstance(value, dict), f"'{path}' must be an object", path)
    return camel(value)


def _integer(config: dict[str, Any], name: str, path: str, low: int | None = None) -> int | None:
    """An integer field; Google's JSON mapping also takes an integral number such as 20.0 (the
    google-genai SDK types `topK` as a float and sends it that way)."""
    value = config.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return optional_int({name: value}, name, low=low, path=f"{path}.{name}")


def _schema(value: Any, path: str) -> dict[str, Any]:
    """A JSON Schema object, as it was sent (its keywords are not field names to normalise)."""
    require(isinstance(value, dict), f"'{path}' must be an object", path)
    return dict(value)


def _declaration(raw: Any, path: str, unsupported: set[str]) -> ToolSpec:
    declaration = _object(raw, path)
    name = declaration.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"'{path}.name' is required", param=f"{path}.name")
    description = optional_str(declaration, "description", f"{path}.description")
    schema, full = declaration.get("parameters"), declaration.get("parametersJsonSchema")
    require(schema is None or full is None, f"'{path}' may set parameters or parametersJsonSchema, not both", path)
    if full is not None:
        parameters = _schema(full, f"{path}.parametersJsonSchema")
    elif schema is not None:
        parameters = json_schema(_schema(schema, f"{path}.parameters"))
    else:
        parameters = {"type": "object", "properties": {}}
    for extra in ("response", "responseJsonSchema", "behavior"):
        if declaration.get(extra) is not None:
            unsupported.add(f"function declaration '{extra}'")
    return ToolSpec(name=name, description=description, parameters=parameters)


def _tools(value: Any, unsupported: set[str]) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    require(isinstance(value, list), "'tools' must be an array", "tools")
    specs: list[ToolSpec] = []
    for index, raw in enumerate(value):
        tool = _object(raw, f"tools[{index}]")
        declarations = tool.pop("functionDeclarations", None)
        if declarations is not None:
            path = f"tools[{index}].functionDeclarations"
            require(isinstance(declarations, list), f"'{path}' must be an array", path)
            specs += [_declaration(d, f"{path}[{i}]", unsupported) for i, d in enumerate(declarations)]
        unsupported.update(f"'{name}' tools" for name, item in tool.items() if item is not None)
    return tuple(specs)


def _tool_choice(value: Any, unsupported: set[str]) -> ToolChoice | None:
    if value is None:
        return None
    config = _object(value, "toolConfig")
    unsupported.update(f"'toolConfig.{name}'" for name, item in config.items() if name != "functionCallingConfig")
    if config.get("functionCallingConfig") is None:
        return None
    calling = _object(config["functionCallingConfig"], "toolConfig.functionCallingConfig")
    path = "toolConfig.functionCallingConfig"
    mode = calling.get("mode", "AUTO")
    modes = ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED")
    ok = isinstance(mode, str) and mode.upper() in modes
    require(ok, f"'{path}.mode' must be one of AUTO, ANY, NONE, VALIDATED", f"{path}.mode")
    mode = str(mode).upper()
    names = calling.get("allowedFunctionNames") or []
    ok = isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    require(ok, f"'{path}.allowedFunctionNames' must be an array of names", f"{path}.allowedFunctionNames")
    if mode == "VALIDATED":
        unsupported.add("functionCallingConfig mode VALIDATED")
    if names and (mode != "ANY" or len(names) > 1):
        unsupported.add("allowedFunctionNames other than one function with mode ANY")
    if mode == "ANY":
        return ToolChoice("tool", names[0]) if len(names) == 1 else ToolChoice("required")
    return ToolChoice("none") if mode == "NONE" else ToolChoice("auto")


def _reasoning(value: Any) -> ReasoningConfig | None:
    if value is None:
        return None
    path = "generationConfig.thinkingConfig"
    config = _object(value, path)
    budget = _integer(config, "thinkingBudget", path, low=-1)
    include = optional_bool(config, "includeThoughts", f"{path}.includeThoughts")
    level = optional_str(config, "thinkingLevel", f"{path}.thinkingLevel")
    level = None if level is None or level.upper() == "THINKING_LEVEL_UNSPECIFIED" else level.lower()
    require(level is None or level in _LEVELS, f"'{path}.thinkingLevel' must be one of {list(_LEVELS)}", path)
    require(level is None or budget is None, f"'{path}' may set thinkingBudget or thinkingLevel, not both", path)
    if budget is None and level is None and include is None:
        return None
    enabled = None if budget is None and level is None else budget != 0
    return ReasoningConfig(
        effort=level,
        budget_tokens=budget if budget is not None and budget > 0 else None,
        enabled=enabled,
        include_thoughts=include,
    )


def _response_format(config: dict[str, Any], unsupported: set[str]) -> ResponseFormat | None:
    mime = optional_str(config, "responseMimeType", "generationConfig.responseMimeType")
    schema, full = config.get("responseSchema"), config.get("responseJsonSchema")
    path = "generationConfig"
    require(schema is None or full is None, f"'{path}' may set responseSchema or responseJsonSchema, not both", path)
    if full is not None:
        return ResponseFormat("json_schema", schema=_schema(full, f"{path}.responseJsonSchema"))
    if schema is not None:
        return ResponseFormat("json_schema", schema=json_schema(_schema(schema, f"{path}.responseSchema")))
    if mime is None or mime == "text/plain":
        return None
    if mime == "application/json":
        return ResponseFormat("json_object")
    unsupported.add(f"responseMimeType '{mime[:100]}'")
    return None


def _stop(config: dict[str, Any]) -> tuple[str, ...]:
    value = config.get("stopSequences")
    if value is None:
        return ()
    path = "generationConfig.stopSequences"
    require(isinstance(value, list) and all(isinstance(v, str) for v in value), f"'{path}' must be strings", path)
    return tuple(value)


def _generation(value: Any, unsupported: set[str]) -> dict[str, Any]:
    config = {} if value is None else _object(value, "generationConfig")
    for name, item in config.items():
        if name not in _CONFIG_FIELDS and item not in (None, False):
            unsupported.add(f"'generationConfig.{name}'")

    def number(name: str, low: float, high: float) -> float | None:
        return optional_number(config, name, low, high, f"generationConfig.{name}")

    candidates = _integer(config, "candidateCount", "generationConfig", low=1)
    if candidates is not None and candidates > 1:
        unsupported.add("candidateCount > 1")
    modalities = config.get("responseModalities")
    if modalities is not None and modalities != ["TEXT"]:
        unsupported.add("responseModalities other than TEXT")
    return {
        "max_tokens": _integer(config, "maxOutputTokens", "generationConfig", low=1),
        "temperature": number("temperature", 0, 2),
        "top_p": number("topP", 0, 1),
        "top_k": _integer(config, "topK", "generationConfig", low=0),
        "stop": _stop(config),
        "seed": _integer(config, "seed", "generationConfig"),
        "presence_penalty": number("presencePenalty", -2, 2),
        "frequency_penalty": number("frequencyPenalty", -2, 2),
        "response_format": _response_format(config, unsupported),
        "reasoning": _reasoning(config.get("thinkingConfig")),
    }


def parse_options(body: dict[str, Any], unsupported: set[str]) -> dict[str, Any]:
    """ChatRequest fields from a (camelCase) Gemini request body."""
    return {
        "tools": _tools(body.get("tools"), unsupported),
        "tool_choice": _tool_choice(body.get("toolConfig"), unsupported),
        **_generation(body.get("generationConfig"), unsupported),
    }


# --- writing -------------------------------------------------------------------------------


def tool_body(request: ChatRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if request.tools:
        declarations = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.name}
            if tool.description:
                declaration["description"] = tool.description
            declaration["parametersJsonSchema"] = tool.parameters
            declarations.append(declaration)
        out["tools"] = [{"functionDeclarations": declarations}]
    choice = request.tool_choice
    if choice is not None:
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[choice.mode]
        calling: dict[str, Any] = {"mode": mode}
        if choice.mode == "tool" and choice.name:
            calling["allowedFunctionNames"] = [choice.name]
        out["toolConfig"] = {"functionCallingConfig": calling}
    return out


def _has_levels(model: str) -> bool:
    """Gemini 3 and later take `thinkingLevel`; 1.x and 2.x models only a `thinkingBudget`."""
    name = model.removeprefix("models/")
    return not name.startswith(("gemini-1", "gemini-2"))


def _thinking(reasoning: ReasoningConfig, model: str) -> dict[str, Any]:
    levels = _has_levels(model)
    effort = reasoning.effort
    off = reasoning.enabled is False or effort == "none" or reasoning.budget_tokens == 0
    config: dict[str, Any] = {}
    if reasoning.budget_tokens is not None:
        config["thinkingBudget"] = reasoning.budget_tokens
    elif off:
        config = {"thinkingLevel": "low"} if levels else {"thinkingBudget": 0}  # Gemini 3 cannot switch it off
    elif effort:
        level = effort if effort in _LEVELS else "high" if effort == "xhigh" else "medium"
        config = {"thinkingLevel": level} if levels else {"thinkingBudget": _BUDGETS.get(effort, 8192)}
    elif reasoning.enabled:
        config["thinkingBudget"] = -1  # dynamic
    include = reasoning.include_thoughts
    if include is None and config and not off:
        include = True  # a client that asked for reasoning expects to see it
    if include is not None:
        config["includeThoughts"] = include
    return config


def generation_config(request: ChatRequest, model: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    fields = (
        ("maxOutputTokens", request.max_tokens),
        ("temperature", request.temperature),
        ("topP", request.top_p),
        ("topK", request.top_k),
        ("seed", request.seed),
        ("presencePenalty", request.presence_penalty),
        ("frequencyPenalty", request.frequency_penalty),
    )
    config.update((name, value) for name, value in fields if value is not None)
    if request.stop:
        config["stopSequences"] = list(request.stop)
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema is not None:
            config["responseJsonSchema"] = fmt.schema
    if request.reasoning is not None:
        thinking = _thinking(request.reasoning, model)
        if thinking:
            config["thinkingConfig"] = thinking
    return config
