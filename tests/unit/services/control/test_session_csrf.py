"""The session token carries its CSRF token signed; the comparison is exact and constant-time."""

from __future__ import annotations

from services.control.auth.session import csrf_matches, issue_session, session_csrf, session_is_valid
from shared.crypto import sign_token

SECRET = "unit-test-session-secret-0123456789abcdef"


def test_each_session_has_its_own_csrf_token_bound_into_the_signed_token() -> None:
    first, second = issue_session(SECRET, 60), issue_session(SECRET, 60)
    assert first.csrf_token != second.csrf_token and len(first.csrf_token) >= 32
    assert session_csrf(first.token, SECRET) == first.csrf_token
    assert session_csrf(first.token, "another-secret-0123456789abcdef0123") is None
    assert session_is_valid(second.token, SECRET)


def test_tokens_without_a_csrf_claim_or_for_another_subject_are_not_sessions() -> None:
    assert session_csrf(sign_token({"sub": "admin"}, SECRET, 60), SECRET) is None
    assert session_csrf(sign_token({"sub": "bot", "csrf": "x"}, SECRET, 60), SECRET) is None
    assert session_csrf(sign_token({"sub": "admin", "csrf": "x"}, SECRET, -1), SECRET) is None
    assert session_csrf("garbage", SECRET) is None


def test_csrf_matches_only_the_exact_token() -> None:
    token = issue_session(SECRET, 60).csrf_token
    assert csrf_matches(token, token)
    for offered in (None, "", token[:-1], token + "x", token.upper(), " " + token):
        assert not csrf_matches(token, offered)
    assert not csrf_matches(token, "é" * 10)  # non-ASCII does not raise
