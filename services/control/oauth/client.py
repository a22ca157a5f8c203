"""The OAuth endpoint client lives in shared/oauth/client.py (the workers refresh tokens too)."""

from shared.oauth.client import OAuthEndpointError, OAuthGrantError, TokenSet, endpoint, post_form, token_set

__all__ = ["OAuthEndpointError", "OAuthGrantError", "TokenSet", "endpoint", "post_form", "token_set"]
