"""The error answers in /api/openapi.json: our `{"error": {...}}` shape, not Litestar's default.

Litestar documents a 400 "validation error" on every operation with its own body shape
(`status_code`, `detail`, `extra`); the control plane's exception handlers answer the house shape
instead (services/control/errors.py). This rewrites those response schemas so the document says
what the API does, and clients and schema-driven tests can rely on it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_BODY_SCHEMA", "document_error_bodies"]

ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "code"],
            "properties": {
                "message": {"type": "string"},
                "code": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}
_REF = {"$ref": "#/components/schemas/ApiError"}


def _is_litestar_error(schema: Any) -> bool:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(properties, dict) and {"status_code", "detail"} <= set(properties)


def document_error_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Point every error response (4xx/5xx) at the ApiError schema; returns the same document."""
    document.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ERROR_BODY_SCHEMA
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] not in ("4", "5") or not isinstance(response, dict):
                    continue
                content = response.setdefault("content", {})
                json_body = content.get("application/json")
                if json_body is None or _is_litestar_error(json_body.get("schema")) or not json_body.get("schema"):
                    content["application/json"] = {"schema": dict(_REF)}
    return document
