"""The OAuth names the control plane uses: the answers are read by shared/oauth/client.py, the form
POST goes through the guarded outbound session (services/outbound/fetch.py)."""

from __future__ import annotations

from services.outbound.fetch import post_form
from shared.oauth.client import OAuthEndpointError, OAuthGrantError, TokenSet, endpoint, token_set

__all__ = ["OAuthEndpointError", "OAuthGrantError", "TokenSet", "endpoint", "post_form", "token_set"]
