"""Gemini's OpenAPI-subset `Schema` as JSON Schema.

Gemini takes two schema fields: `parameters` / `responseSchema` (a `Schema` object: an OpenAPI 3.0
subset with upper-case type names such as `OBJECT`, `nullable`, `propertyOrdering`) and
`parametersJsonSchema` / `responseJsonSchema` (full JSON Schema). The gateway keeps JSON Schema in
the canonical request and always writes the `*JsonSchema` fields, so a schema from another dialect
needs no sanitising; a `Schema` object a Gemini client sent is converted here: type names in lower
case, proto (snake_case) keyword spellings in camelCase, `nullable: true` as a `"null"` type. Other
keywords (`format`, `enum`, `propertyOrdering`, ...) are kept as they are.
"""

from __future__ import annotations

from typing import Any

from shared.formats.gemini.wire import camel_key

__all__ = ["json_schema"]

_NESTED_ONE = ("items", "additionalProperties", "not")
_NESTED_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")


def _value(key: str, value: Any) -> Any:
    if key == "type":
        if isinstance(value, str):
            return value.lower()
        if isinstance(value, list):
            return [v.lower() if isinstance(v, str) else v for v in value]
        return value
    if key == "properties" and isinstance(value, dict):
        return {name: json_schema(schema) for name, schema in value.items()}
    if key in _NESTED_ONE and isinstance(value, dict):
        return json_schema(value)
    if key in _NESTED_MANY and isinstance(value, list):
        return [json_schema(item) for item in value]
    return value


def json_schema(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = {camel_key(key): _value(camel_key(key), value) for key, value in schema.items()}
    nullable = out.pop("nullable", None)
    kind = out.get("type")
    if nullable is True:
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        else:
            out["nullable"] = True  # no single type to widen: keep the keyword
    return out
