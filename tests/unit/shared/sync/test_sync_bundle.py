"""The sealed bundle opens only with its passphrase and only unchanged."""

from __future__ import annotations

import base64

import pytest

from shared import jsonx
from shared.sync.bundle import BundleError, open_bundle, peek_version, seal_bundle

PASSPHRASE = "correct horse battery staple"
RECORDS = [{"table": "settings", "key": "k", "v": 1, "deleted": False, "row": {"key": "k"}, "secrets": {}}]


def test_round_trip_keeps_records_and_version() -> None:
    blob = seal_bundle(RECORDS, 7, PASSPHRASE)
    opened = open_bundle(blob, PASSPHRASE)
    assert opened.version == 7 and opened.records == RECORDS
    assert peek_version(blob) == 7
    assert b"settings" not in blob  # the records are encrypted


def test_wrong_passphrase_is_refused() -> None:
    with pytest.raises(BundleError, match="does not authenticate"):
        open_bundle(seal_bundle(RECORDS, 1, PASSPHRASE), "another passphrase entirely")


@pytest.mark.parametrize("field", ["version", "nonce", "ciphertext", "salt"])
def test_any_tampering_is_refused(field: str) -> None:
    document = jsonx.loads(seal_bundle(RECORDS, 3, PASSPHRASE))
    if field == "version":
        document["version"] = 4
    elif field == "salt":
        document["kdf"]["salt"] = base64.b64encode(b"\x00" * 16).decode()
    else:
        raw = bytearray(base64.b64decode(document[field]))
        raw[-1] ^= 1
        document[field] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(BundleError):
        open_bundle(jsonx.dumps(document), PASSPHRASE)


@pytest.mark.parametrize(
    "blob",
    [b"", b"not json", b"[]", b'{"format": "other"}', jsonx.dumps({"format": "omniroute-sync/1", "version": -1})],
)
def test_malformed_bundles_are_refused(blob: bytes) -> None:
    with pytest.raises(BundleError):
        open_bundle(blob, PASSPHRASE)


def test_costly_kdf_parameters_are_refused_before_any_work() -> None:
    document = jsonx.loads(seal_bundle(RECORDS, 1, PASSPHRASE))
    document["kdf"]["n"] = 2**24
    with pytest.raises(BundleError, match="key derivation"):
        open_bundle(jsonx.dumps(document), PASSPHRASE)
