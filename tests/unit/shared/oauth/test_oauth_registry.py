"""The OAuth provider registry, env overrides, PKCE, and how the edge presents an OAuth token."""

from __future__ import annotations

import base64
import hashlib

from shared.config.snapshot import ConnectionConfig
from shared.oauth.pkce import challenge_of, new_state, new_verifier
from shared.oauth.registry import AUTHORIZATION_CODE, DEVICE_CODE, OAUTH_PROVIDERS, find_oauth_provider, resolve
from shared.providers.catalog import PROVIDERS


def test_every_oauth_provider_routes_through_a_catalog_provider_and_offers_a_flow() -> None:
    assert {"claude", "codex", "gemini-cli", "github", "qwen"} <= set(OAUTH_PROVIDERS)
    for spec in OAUTH_PROVIDERS.values():
        assert spec.connection_provider in PROVIDERS
        assert spec.flows and spec.flows <= {AUTHORIZATION_CODE, DEVICE_CODE}
        if spec.supports(AUTHORIZATION_CODE):
            assert spec.authorize_url and spec.redirect_uri
        if spec.supports(DEVICE_CODE):
            assert spec.device_code_url
        assert spec.token_url.startswith("https://")
        assert spec.overridden == frozenset()


def test_environment_overrides_every_endpoint_and_marks_urls_as_user_set() -> None:
    spec = find_oauth_provider("Gemini-CLI")
    assert spec is not None
    env = {
        "OMNIROUTE_OAUTH_GEMINI_CLI_TOKEN_URL": "http://127.0.0.1:9/token",
        "OMNIROUTE_OAUTH_GEMINI_CLI_CLIENT_ID": "mine",
        "OMNIROUTE_OAUTH_GEMINI_CLI_CLIENT_SECRET": "installed-app-secret",
        "OMNIROUTE_OAUTH_GEMINI_CLI_SCOPES": "  ",  # blank: ignored
        "OMNIROUTE_OAUTH_CLAUDE_TOKEN_URL": "http://elsewhere/token",
    }
    resolved = resolve(spec, env)
    assert resolved.token_url == "http://127.0.0.1:9/token" and resolved.client_id == "mine"
    assert resolved.client_secret == "installed-app-secret" and resolved.scopes == spec.scopes
    assert resolved.overridden == frozenset({"token_url"})
    assert resolve(spec, {}) is spec


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    assert challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge_of(verifier) == expected
    assert new_state() != new_state()


def test_an_oauth_token_is_a_bearer_token_with_the_providers_extra_headers() -> None:
    from shared.routing.config import _auth_headers

    spec = PROVIDERS["anthropic"]
    oauth = ConnectionConfig(
        id="c", provider="anthropic", name="n", api_key="at-123", auth_type="oauth", extra={"oauthProvider": "claude"}
    )
    headers = dict(_auth_headers(oauth, spec))
    assert headers["authorization"] == "Bearer at-123"
    assert headers["anthropic-beta"] == "oauth-2025-04-20"
    assert "x-api-key" not in headers
    keyed = ConnectionConfig(id="c", provider="anthropic", name="n", api_key="sk-ant")
    assert dict(_auth_headers(keyed, spec))["x-api-key"] == "sk-ant"
    revoked = ConnectionConfig(id="c", provider="anthropic", name="n", auth_type="oauth")
    assert "authorization" not in dict(_auth_headers(revoked, spec))
