"""Proxy entries: validated from the API, stored with the password encrypted, answered masked.

Shapes (camelCase). API in: `{"type", "host", "port", "username"?, "password"?}`, or
`{"type": "none"}`. Stored in the `proxy` settings row: the same with `passwordEnc` (base64
AES-GCM, bound to its scope) in place of `password`. API out: the same with `password` masked
and `hasPassword`. A `password` left out, or sent back masked, keeps the stored one; `null` or
`""` removes it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from services.control.errors import InvalidField
from services.control.resources.names import provider_id
from shared.crypto import DecryptionError, FieldCipher
from shared.netguard import UnsafeURL, check_url
from shared.outbound_proxy import DIRECT, PROXY_TYPES, OutboundProxy, proxy_aad

__all__ = [
    "MASK",
    "ProxyInput",
    "masked_settings",
    "reveal_passwords",
    "stored_proxy",
    "stored_settings",
    "validate_entry",
]

log = logging.getLogger(__name__)

MASK = "********"  # fixed length: the mask says a password is set, not how long it is
_ENTRY_FIELDS = ("type", "host", "port", "username", "password", "hasPassword")  # hasPassword: read-only, ignored
_MAX_CREDENTIAL_BYTES = 255  # SOCKS5 username/password authentication (RFC 1929) carries at most 255 bytes
_MAX_HOST = 253

ProxyInput = dict[str, Any]


def _invalid(field: str, message: str) -> InvalidField:
    return InvalidField(field, message, status=422)


def _credential(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    if len(value.encode()) > _MAX_CREDENTIAL_BYTES:
        raise _invalid(field, f"must be at most {_MAX_CREDENTIAL_BYTES} bytes")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise _invalid(field, "must not contain control characters")
    return value


def _host(field: str, value: Any, port: int, allow_private: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, "is required: a host name or IP address")
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if len(host) > _MAX_HOST or any(ch in host for ch in "/@?#\\ ") or any(ord(ch) < 0x21 for ch in host):
        raise _invalid(field, "must be a bare host name or IP address (no scheme, path, port or credentials)")
    literal = f"[{host}]" if ":" in host else host
    try:
        check_url(f"http://{literal}:{port}", allow_private=allow_private)
    except UnsafeURL as exc:
        raise _invalid(field, str(exc)) from None
    return host.lower()


def _port(field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise _invalid(field, "must be an integer from 1 to 65535")
    return value


def validate_entry(
    prefix: str, raw: Any, *, allow_private: bool, previous: OutboundProxy | None = None
) -> OutboundProxy | None:
    """One entry as a proxy (None for `none`); raises a 422 naming the field (`<prefix>.<field>`).

    `previous` is the stored entry (password decrypted): a password left out or sent back masked
    is kept only while type, host, port and username stay the same, so repointing a proxy can
    never carry its stored password to another host.
    """
    if not isinstance(raw, Mapping):
        raise _invalid(prefix, 'must be an object with type, host and port, or {"type": "none"}')
    for key in raw:
        if key not in _ENTRY_FIELDS:
            raise _invalid(f"{prefix}.{str(key)[:64]}", f"unknown field; known: {', '.join(_ENTRY_FIELDS)}")
    kind = raw.get("type")
    if kind == DIRECT:
        extra = [key for key in raw if key not in ("type", "hasPassword") and raw[key] is not None]
        if extra:
            raise _invalid(f"{prefix}.{extra[0]}", "must be left out when type is none")
        return None
    if kind not in PROXY_TYPES:
        raise _invalid(f"{prefix}.type", f"must be one of {', '.join((*PROXY_TYPES, DIRECT))}")
    port = _port(f"{prefix}.port", raw.get("port"))
    host = _host(f"{prefix}.host", raw.get("host"), port, allow_private)
    username = _credential(f"{prefix}.username", raw.get("username"))
    if username is not None and kind in ("http", "https") and ":" in username:
        raise _invalid(f"{prefix}.username", "must not contain ':' (HTTP basic authentication)")
    proxy = OutboundProxy(type=str(kind), host=host, port=port, username=username)
    if "password" in raw and raw["password"] != MASK:
        password = _credential(f"{prefix}.password", raw["password"])
        if password is not None and username is None:
            raise _invalid(f"{prefix}.password", "needs a username")
        return replace(proxy, password=password)
    if previous is None or previous.password is None or username is None:
        return proxy
    if replace(previous, password=None) != proxy:
        raise _invalid(f"{prefix}.password", "must be given again when the type, host, port or username changes")
    return replace(proxy, password=previous.password)


def _stored_entry(proxy: OutboundProxy | None, scope: str, cipher: FieldCipher) -> dict[str, Any]:
    if proxy is None:
        return {"type": DIRECT}
    entry: dict[str, Any] = {"type": proxy.type, "host": proxy.host, "port": proxy.port}
    if proxy.username is not None:
        entry["username"] = proxy.username
    if proxy.password is not None:
        blob = cipher.encrypt_text(proxy.password, proxy_aad(scope))
        entry["passwordEnc"] = base64.b64encode(blob).decode()
    return entry


def _stored_password(entry: Any, scope: str, cipher: FieldCipher) -> str | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("passwordEnc"), str):
        return None
    try:
        return cipher.decrypt_text(base64.b64decode(entry["passwordEnc"]), proxy_aad(scope))
    except (DecryptionError, ValueError):
        log.warning("a stored proxy password does not decrypt; treating it as unset", extra={"scope": scope})
        return None


def _providers(row: Mapping[str, Any]) -> Mapping[str, Any]:
    found = row.get("providers")
    return found if isinstance(found, Mapping) else {}


def provider_scope(provider: str) -> str:
    return f"provider:{provider}"


def stored_settings(
    body: Any, stored: Any, cipher: FieldCipher, *, allow_private: bool, nodes: Collection[str]
) -> dict[str, Any]:
    """Validate a PUT body against what is stored; return the row to store (passwords encrypted)."""
    if not isinstance(body, Mapping):
        raise _invalid("body", "must be an object with `global` and `providers`")
    for key in body:
        if key not in ("global", "providers"):
            raise _invalid(str(key)[:64], "unknown field; known: global, providers")
    previous = stored if isinstance(stored, Mapping) else {}
    raw_global = body.get("global")
    row: dict[str, Any] = {"global": None, "providers": {}}
    if raw_global is not None:
        kept = _revealed(previous.get("global"), "global", cipher)
        proxy = validate_entry("global", raw_global, allow_private=allow_private, previous=kept)
        row["global"] = _stored_entry(proxy, "global", cipher) if proxy is not None else None
    raw_providers = body.get("providers") or {}
    if not isinstance(raw_providers, Mapping):
        raise _invalid("providers", "must be an object keyed by provider id")
    old_providers = _providers(previous)
    for key, raw in raw_providers.items():
        provider = provider_id(str(key), nodes)
        if provider is None:
            raise _invalid(
                f"providers.{str(key)[:64]}", "unknown provider (not a catalog id or a provider-node prefix)"
            )
        if provider in row["providers"]:
            raise _invalid(f"providers.{str(key)[:64]}", f"names provider {provider!r} twice")
        scope = provider_scope(provider)
        kept = _revealed(old_providers.get(provider), scope, cipher)
        proxy = validate_entry(f"providers.{key}", raw, allow_private=allow_private, previous=kept)
        row["providers"][provider] = _stored_entry(proxy, scope, cipher)
    return row


def _masked_entry(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping):
        return None
    if entry.get("type") == DIRECT:
        return {"type": DIRECT}
    shown = {key: entry[key] for key in ("type", "host", "port", "username") if key in entry}
    has_password = isinstance(entry.get("passwordEnc"), str)
    shown["password"] = MASK if has_password else None
    shown["hasPassword"] = has_password
    return shown


def masked_settings(stored: Any) -> dict[str, Any]:
    """The stored row as answered (and audited): no password, not even encrypted."""
    row = stored if isinstance(stored, Mapping) else {}
    providers = _providers(row)
    return {
        "global": _masked_entry(row.get("global")),
        "providers": {str(key): _masked_entry(entry) for key, entry in sorted(providers.items())},
    }


def _revealed(entry: Any, scope: str, cipher: FieldCipher) -> OutboundProxy | None:
    if not isinstance(entry, Mapping) or entry.get("type") == DIRECT:
        return None
    revealed = dict(entry)
    revealed["password"] = _stored_password(entry, scope, cipher)
    return OutboundProxy.from_entry(revealed)


def stored_proxy(stored: Any, provider: str | None, cipher: FieldCipher) -> OutboundProxy | None:
    """The proxy a provider's calls use (its own entry, else the global one), password decrypted."""
    row = stored if isinstance(stored, Mapping) else {}
    providers = _providers(row)
    if provider is not None and provider in providers:
        return _revealed(providers[provider], provider_scope(provider), cipher)
    return _revealed(row.get("global"), "global", cipher)


def reveal_passwords(stored: Any, cipher: FieldCipher) -> Any:
    """The row as shipped in the (encrypted) snapshot: `password` decrypted in place of `passwordEnc`."""
    if not isinstance(stored, Mapping):
        return stored

    def reveal(entry: Any, scope: str) -> Any:
        if not isinstance(entry, Mapping) or "passwordEnc" not in entry:
            return entry
        shown = {key: value for key, value in entry.items() if key != "passwordEnc"}
        shown["password"] = _stored_password(entry, scope, cipher)
        return shown

    providers = _providers(stored)
    return {
        "global": reveal(stored.get("global"), "global"),
        "providers": {key: reveal(entry, provider_scope(str(key))) for key, entry in providers.items()},
    }
