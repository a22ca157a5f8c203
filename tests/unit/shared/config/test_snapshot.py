"""SnapshotCodec: encrypted, compressed, version-bound configuration snapshots."""

from __future__ import annotations

import base64
import zlib

import msgspec
import pytest

from shared.config.snapshot import (
    ComboConfig,
    ComboStep,
    ConnectionConfig,
    KeyConfig,
    Snapshot,
    SnapshotCodec,
)
from shared.crypto import DecryptionError, FieldCipher

STORAGE_KEY = "fake-storage-key-FAKE-FAKE-FAKE-FAKE-0001"
OTHER_STORAGE_KEY = "fake-storage-key-FAKE-FAKE-FAKE-FAKE-0002"
PROVIDER_KEY = "sk-fakeproviderkey0123456789abcdefFAKE"


def make_snapshot(version: int = 7) -> Snapshot:
    return Snapshot(
        version=version,
        published_at=1_700_000_000.5,
        connections=(
            ConnectionConfig(
                id="conn-1",
                provider="openai",
                name="primary",
                api_key=PROVIDER_KEY,
                base_url="https://api.openai.com/v1",
                priority=2,
                default_model="gpt-4o-mini",
                models=("gpt-4o-mini", "gpt-4o"),
                extra={"organization": "org-fake", "nested": {"a": [1, 2]}},
                max_requests_per_minute=60,
                max_concurrent=4,
            ),
            ConnectionConfig(id="conn-2", provider="ollama", name="local", is_active=False),
        ),
        keys=(
            KeyConfig(
                id="key-1",
                name="ci",
                key_hash="0" * 64,
                allowed_models=("gpt-4o-mini",),
                expires_at=1_800_000_000.0,
                max_tokens_per_minute=10_000,
            ),
        ),
        combos=(
            ComboConfig(
                id="combo-1",
                name="cheap-first",
                strategy="weighted",
                steps=(ComboStep(model="gpt-4o-mini", weight=3), ComboStep(model="gpt-4o", connection_id="conn-1")),
            ),
        ),
        aliases={"fast": "gpt-4o-mini"},
        settings={"requireApiKey": True, "fallbackDepth": 3},
    )


def test_round_trip() -> None:
    codec = SnapshotCodec(STORAGE_KEY)
    snapshot = make_snapshot()
    assert codec.decode(codec.encode(snapshot), snapshot.version) == snapshot


def test_round_trip_with_another_codec_instance_and_same_key() -> None:
    snapshot = make_snapshot()
    blob = SnapshotCodec(STORAGE_KEY).encode(snapshot)
    assert SnapshotCodec(STORAGE_KEY).decode(blob, snapshot.version) == snapshot


def test_empty_snapshot_round_trip() -> None:
    codec = SnapshotCodec(STORAGE_KEY)
    empty = Snapshot(version=0, published_at=0.0)
    assert codec.decode(codec.encode(empty), 0) == empty


def test_each_encoding_is_different() -> None:
    codec = SnapshotCodec(STORAGE_KEY)
    snapshot = make_snapshot()
    assert codec.encode(snapshot) != codec.encode(snapshot)


@pytest.mark.parametrize("label", [6, 8, 0, -7, 70])
def test_wrong_version_label_fails(label: int) -> None:
    codec = SnapshotCodec(STORAGE_KEY)
    blob = codec.encode(make_snapshot(7))
    with pytest.raises(DecryptionError):
        codec.decode(blob, label)


def test_another_storage_key_fails() -> None:
    blob = SnapshotCodec(STORAGE_KEY).encode(make_snapshot())
    with pytest.raises(DecryptionError):
        SnapshotCodec(OTHER_STORAGE_KEY).decode(blob, 7)


def test_tampered_blob_fails() -> None:
    codec = SnapshotCodec(STORAGE_KEY)
    blob = bytearray(codec.encode(make_snapshot()))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(DecryptionError):
        codec.decode(bytes(blob), 7)


def test_field_cipher_with_another_purpose_cannot_read_it() -> None:
    blob = SnapshotCodec(STORAGE_KEY).encode(make_snapshot())
    with pytest.raises(DecryptionError):
        FieldCipher(STORAGE_KEY, "provider-keys").decrypt(blob, b"snapshot:7")


def test_version_inside_must_match_the_label() -> None:
    # A blob correctly encrypted under label 8 but carrying a version-7 body is still refused.
    cipher = FieldCipher(STORAGE_KEY, "config-snapshot")
    plain = zlib.compress(msgspec.json.encode(make_snapshot(7)))
    blob = cipher.encrypt(plain, b"snapshot:8")
    with pytest.raises(ValueError, match="version"):
        SnapshotCodec(STORAGE_KEY).decode(blob, 8)


def test_blob_does_not_contain_secrets_in_plaintext() -> None:
    blob = SnapshotCodec(STORAGE_KEY).encode(make_snapshot())
    for needle in (PROVIDER_KEY, "fakeproviderkey", "api.openai.com", "conn-1", "org-fake"):
        raw = needle.encode()
        assert raw not in blob
        assert base64.b64encode(raw)[:16] not in blob
    assert zlib.compress(PROVIDER_KEY.encode())[2:12] not in blob


def test_blob_is_smaller_than_its_json_thanks_to_compression() -> None:
    big = Snapshot(
        version=1,
        published_at=0.0,
        connections=tuple(
            ConnectionConfig(id=f"conn-{i}", provider="openai", name=f"account {i}", models=("gpt-4o-mini",) * 5)
            for i in range(200)
        ),
    )
    assert len(SnapshotCodec(STORAGE_KEY).encode(big)) < len(msgspec.json.encode(big)) // 3
