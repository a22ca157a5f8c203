"""Where each dialect's upstream lists its models, and how to read the answer.

OpenAI and the OpenAI-compatible vendors: `GET {base}/models` (`{"data": [{"id"}]}`); Anthropic:
`GET {base}/v1/models` (`{"data": [{"id", "display_name"}]}`); Gemini: `GET {base}/v1beta/models`
(`{"models": [{"name": "models/x", "displayName"}]}`); Ollama: `GET {base}/api/tags`
(`{"models": [{"name"}]}`). Azure OpenAI lists deployments elsewhere, so it has none here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import jsonx
from shared.formats.anthropic.outbound import DEFAULT_VERSION as ANTHROPIC_VERSION
from shared.providers.spec import UrlStyle
from shared.routing.config import Upstream

__all__ = ["ListCall", "ListedModel", "list_call", "parse_model_list"]

_MAX_MODELS = 5000


@dataclass(frozen=True, slots=True)
class ListCall:
    url: str
    headers: tuple[tuple[str, str], ...]  # auth included: never log or answer these


@dataclass(frozen=True, slots=True)
class ListedModel:
    model: str
    name: str | None = None


_PATHS = {
    "openai_chat": "/models",
    "openai_responses": "/models",
    "anthropic": "/v1/models?limit=1000",
    "gemini": "/v1beta/models?pageSize=1000",
    "ollama": "/api/tags",
}


def list_call(upstream: Upstream) -> ListCall | None:
    """The upstream's model-list request, or None when the provider has no list endpoint."""
    path = _PATHS.get(upstream.dialect)
    if path is None or upstream.spec.url_style is not UrlStyle.STANDARD:
        return None
    headers = tuple(h for h in upstream.auth_headers if h[0] != "content-type")
    if upstream.dialect == "anthropic":
        headers += (("anthropic-version", ANTHROPIC_VERSION),)
    return ListCall(upstream.base_url + path, headers)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value.isprintable() and len(value) <= 256 else None


def _entry(dialect: str, item: Any) -> ListedModel | None:
    if not isinstance(item, dict):
        return None
    if dialect == "gemini":
        name = _text(item.get("name"))
        return ListedModel(name.removeprefix("models/"), _text(item.get("displayName"))) if name else None
    if dialect == "ollama":
        name = _text(item.get("name")) or _text(item.get("model"))
        return ListedModel(name) if name else None
    ident = _text(item.get("id"))
    return ListedModel(ident, _text(item.get("display_name")) or _text(item.get("name"))) if ident else None


def parse_model_list(dialect: str, body: bytes) -> list[ListedModel]:
    """The models in an upstream's list answer, in its order, each once; raises ValueError on a foreign shape."""
    try:
        decoded = jsonx.loads(body)
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    field = "models" if dialect in ("gemini", "ollama") else "data"
    items = decoded.get(field) if isinstance(decoded, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"the answer has no {field!r} list")
    found: dict[str, ListedModel] = {}
    for item in items[:_MAX_MODELS]:
        entry = _entry(dialect, item)
        if entry is not None:
            found.setdefault(entry.model, entry)
    return list(found.values())
