"""OAuth-backed providers as data: where each one authorises, which client id it uses, what it grants.

The defaults are the public (PKCE / device) clients the providers' own CLIs use. Every field can be
overridden from the environment, `OMNIROUTE_OAUTH_<PROVIDER>_<FIELD>` (provider id upper-cased, `-`
as `_`; fields CLIENT_ID, CLIENT_SECRET, AUTHORIZE_URL, TOKEN_URL, DEVICE_CODE_URL, REVOKE_URL,
REDIRECT_URI, SCOPES), so tests and private deployments can point a flow at another server. An
overridden URL is user-set and goes through the SSRF guard like a provider base URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["OAUTH_PROVIDERS", "OAuthProvider", "find_oauth_provider", "resolve"]

AUTHORIZATION_CODE = "authorization_code"
DEVICE_CODE = "device_code"

_URL_FIELDS = ("authorize_url", "token_url", "device_code_url", "revoke_url")
_OVERRIDABLE = ("client_id", "client_secret", *_URL_FIELDS, "redirect_uri", "scopes")


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    id: str
    name: str
    connection_provider: str  # the catalog provider the connection routes through
    client_id: str
    token_url: str
    flows: frozenset[str]
    scopes: str = ""
    authorize_url: str | None = None
    device_code_url: str | None = None
    revoke_url: str | None = None
    redirect_uri: str | None = None
    client_secret: str | None = None  # installed-app clients only; never a real secret of ours
    device_pkce: bool = False  # the device request carries a PKCE challenge (Qwen)
    authorize_params: tuple[tuple[str, str], ...] = ()
    connection_base_url: str | None = None  # where the OAuth token is accepted, if not the catalog's
    upstream_headers: tuple[tuple[str, str], ...] = ()  # sent with the access token on every call
    overridden: frozenset[str] = field(default_factory=frozenset)  # fields taken from the environment

    def supports(self, flow: str) -> bool:
        return flow in self.flows


_REGISTRY: tuple[OAuthProvider, ...] = (
    OAuthProvider(
        id="claude",
        name="Claude Code (Anthropic subscription)",
        connection_provider="anthropic",
        client_id="9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        authorize_url="https://claude.ai/oauth/authorize",
        token_url="https://console.anthropic.com/v1/oauth/token",
        redirect_uri="https://console.anthropic.com/oauth/code/callback",
        scopes="org:create_api_key user:profile user:inference",
        flows=frozenset({AUTHORIZATION_CODE}),
        authorize_params=(("code", "true"),),
        upstream_headers=(("anthropic-beta", "oauth-2025-04-20"),),
    ),
    OAuthProvider(
        id="codex",
        name="OpenAI Codex (ChatGPT subscription)",
        connection_provider="openai-responses",
        client_id="app_EMoamEEZ73f0CkXaXp7hrann",
        authorize_url="https://auth.openai.com/oauth/authorize",
        token_url="https://auth.openai.com/oauth/token",
        redirect_uri="http://localhost:1455/auth/callback",
        scopes="openid profile email offline_access",
        flows=frozenset({AUTHORIZATION_CODE}),
        authorize_params=(("id_token_add_organizations", "true"), ("codex_cli_simplified_flow", "true")),
        connection_base_url="https://chatgpt.com/backend-api/codex",
    ),
    OAuthProvider(
        id="gemini-cli",
        name="Gemini CLI (Google account)",
        connection_provider="gemini",
        client_id="681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        revoke_url="https://oauth2.googleapis.com/revoke",
        redirect_uri="http://localhost:8085/oauth2callback",
        scopes="https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email",
        flows=frozenset({AUTHORIZATION_CODE}),
        authorize_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
    OAuthProvider(
        id="github",
        name="GitHub (device login)",
        connection_provider="github",
        client_id="Iv1.b507a08c87ecfe98",
        device_code_url="https://github.com/login/device/code",
        token_url="https://github.com/login/oauth/access_token",
        scopes="read:user",
        flows=frozenset({DEVICE_CODE}),
    ),
    OAuthProvider(
        id="qwen",
        name="Qwen Code (device login)",
        connection_provider="openai-compatible",
        client_id="f0304373b74a44d2b584a3fb70ca9e56",
        device_code_url="https://chat.qwen.ai/api/v1/oauth2/device/code",
        token_url="https://chat.qwen.ai/api/v1/oauth2/token",
        scopes="openid profile email model.completion",
        flows=frozenset({DEVICE_CODE}),
        device_pkce=True,
        connection_base_url="https://portal.qwen.ai/v1",
    ),
)

OAUTH_PROVIDERS: Mapping[str, OAuthProvider] = MappingProxyType({spec.id: spec for spec in _REGISTRY})


def find_oauth_provider(provider_id: str) -> OAuthProvider | None:
    return OAUTH_PROVIDERS.get(provider_id.lower())


def _env_name(provider_id: str, field_name: str) -> str:
    return f"OMNIROUTE_OAUTH_{provider_id.upper().replace('-', '_')}_{field_name.upper()}"


def resolve(spec: OAuthProvider, env: Mapping[str, str]) -> OAuthProvider:
    """The provider with the environment's overrides applied (empty values are ignored)."""
    changes: dict[str, str] = {}
    for field_name in _OVERRIDABLE:
        value = env.get(_env_name(spec.id, field_name), "").strip()
        if value:
            changes[field_name] = value
    if not changes:
        return spec
    overridden = frozenset(name for name in changes if name in _URL_FIELDS)
    return dataclasses.replace(spec, **changes, overridden=overridden)  # type: ignore[arg-type]
