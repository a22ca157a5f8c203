"""Rules a provider connection must satisfy before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.control.errors import InvalidField
from shared import jsonx
from shared.netguard import UnsafeURL, check_url
from shared.providers.catalog import PROVIDERS, find_provider
from shared.providers.spec import ProviderSpec

__all__ = ["ConnectionDraft", "validate_draft"]

_MAX_EXTRA_BYTES = 64 * 1024


@dataclass(slots=True)
class ConnectionDraft:
    """A connection as the caller wants it; `api_key` None with `keeps_key` means unchanged."""

    provider: str
    name: str
    api_key: str | None
    base_url: str | None
    priority: int
    is_active: bool
    default_model: str | None
    models: list[str]
    provider_specific_data: dict[str, Any] = field(default_factory=dict)
    max_requests_per_minute: int | None = None
    max_requests_per_day: int | None = None
    max_tokens_per_minute: int | None = None
    max_concurrent: int | None = None
    keeps_key: bool = False


def _printable(field_name: str, value: str) -> None:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidField(field_name, "must not contain control characters")


def _no_nul(field_name: str, value: Any) -> None:
    """Postgres text and jsonb cannot hold NUL; say so by field instead of failing on insert."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidField(field_name, "must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(field_name, key)
            _no_nul(field_name, item)
    elif isinstance(value, list):
        for item in value:
            _no_nul(field_name, item)


def _spec(provider: str) -> ProviderSpec:
    spec = find_provider(provider)
    if spec is None:
        known = ", ".join(sorted(PROVIDERS))
        raise InvalidField("provider", f"unknown provider {provider[:64]!r}; known providers: {known}")
    return spec


def _base_url(draft: ConnectionDraft, spec: ProviderSpec, allow_private: bool) -> str | None:
    extra_url = draft.provider_specific_data.pop("baseUrl", None)
    url = draft.base_url or extra_url
    if url is None:
        if spec.requires_base_url:
            raise InvalidField("baseUrl", f"is required for provider {spec.id!r}")
        return None
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidField("baseUrl", "must be a URL string")
    try:
        return check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise InvalidField("baseUrl", str(exc)) from None


def validate_draft(draft: ConnectionDraft, allow_private: bool) -> ConnectionDraft:
    """Check and normalise in place; raises InvalidField naming the first bad field."""
    spec = _spec(draft.provider)
    draft.provider = spec.id
    draft.name = draft.name.strip()
    if not draft.name:
        raise InvalidField("name", "must not be blank")
    _printable("name", draft.name)
    draft.base_url = _base_url(draft, spec, allow_private)
    if draft.api_key is not None:
        draft.api_key = draft.api_key.strip()
        _printable("apiKey", draft.api_key)
    if spec.requires_api_key and not draft.api_key and not draft.keeps_key:
        raise InvalidField("apiKey", f"is required for provider {spec.id!r}")
    for index, model in enumerate(draft.models):
        _printable(f"models[{index}]", model)
    if draft.default_model is not None:
        _printable("defaultModel", draft.default_model)
    _no_nul("providerSpecificData", draft.provider_specific_data)
    if len(jsonx.dumps(draft.provider_specific_data)) > _MAX_EXTRA_BYTES:
        raise InvalidField("providerSpecificData", "is larger than 64 KiB")
    return draft
