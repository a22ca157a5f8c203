"""Edge authentication from the in-memory snapshot."""

from __future__ import annotations

import time

import pytest

from services.edge.pipeline.authn import authenticate, check_model_allowed, presented_key
from shared.canonical.errors import AuthenticationError, PermissionDenied
from shared.config.snapshot import KeyConfig, Snapshot
from shared.crypto import hash_api_key
from shared.routing.config import EdgeConfig

GOOD = "sk-omni-good"
OLD = "sk-omni-old"


@pytest.fixture
def config() -> EdgeConfig:
    return EdgeConfig(
        Snapshot(
            version=1,
            published_at=0,
            keys=(
                KeyConfig(id="k1", name="good", key_hash=hash_api_key(GOOD), allowed_models=("openai/*", "fast")),
                KeyConfig(id="k2", name="old", key_hash=hash_api_key(OLD), expires_at=time.time() - 1),
            ),
        )
    )


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer abc"}, b"", "abc"),
        ({"authorization": "bearer   abc  "}, b"", "abc"),
        ({"authorization": "Basic abc"}, b"", None),
        ({"x-api-key": "abc"}, b"", "abc"),
        ({"x-goog-api-key": "abc"}, b"", "abc"),
        ({}, b"alt=sse&key=abc", "abc"),
        ({}, b"monkey=1", None),
        ({}, b"", None),
    ],
)
def test_presented_key(headers: dict[str, str], query: bytes, expected: str | None) -> None:
    assert presented_key(headers, query) == expected


def test_authenticate(config: EdgeConfig) -> None:
    key = authenticate({"authorization": f"Bearer {GOOD}"}, b"", config, require_key=True)
    assert key is not None
    assert key.id == "k1"
    with pytest.raises(AuthenticationError) as missing:
        authenticate({}, b"", config, require_key=True)
    assert missing.value.code == "missing_api_key"
    with pytest.raises(AuthenticationError) as wrong:
        authenticate({"x-api-key": "sk-nope"}, b"", config, require_key=True)
    assert wrong.value.code == "invalid_api_key"
    with pytest.raises(AuthenticationError) as expired:
        authenticate({"x-api-key": OLD}, b"", config, require_key=True)
    assert expired.value.code == "expired_api_key"


def test_anonymous_use_when_keys_are_not_required(config: EdgeConfig) -> None:
    assert authenticate({}, b"", config, require_key=False) is None
    assert authenticate({"x-api-key": "anything"}, b"", config, require_key=False) is None
    key = authenticate({"x-api-key": GOOD}, b"", config, require_key=False)
    assert key is not None


def test_model_allow_lists(config: EdgeConfig) -> None:
    key = config.keys_by_hash[hash_api_key(GOOD)]
    check_model_allowed(key, "openai/gpt-4o")
    check_model_allowed(key, "fast")
    check_model_allowed(None, "anything")
    with pytest.raises(PermissionDenied):
        check_model_allowed(key, "anthropic/claude")
    with pytest.raises(PermissionDenied):
        check_model_allowed(key, "fast2")
