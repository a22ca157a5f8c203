"""SigV4 against AWS's published test vector (get-vanilla of the signature test suite)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.sync.sigv4 import Credentials, canonical_request, object_path, sign_headers, signature

VANILLA = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", service="service")
EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_get_vanilla_signature_matches_the_published_one() -> None:
    canonical, signed = canonical_request(
        "GET", "/", "", {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}, EMPTY_HASH
    )
    assert signed == "host;x-amz-date"
    assert canonical == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + EMPTY_HASH
    )
    assert signature(VANILLA, "20150830T123600Z", canonical) == (
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_signed_headers_carry_payload_hash_date_and_credential_scope() -> None:
    creds = Credentials("AKID", "secret", "eu-west-1")
    sent = sign_headers(
        creds,
        "PUT",
        "http://127.0.0.1:9000/bucket/a/b.bundle",
        b"body",
        {},
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert sent["x-amz-date"] == "20260102T030405Z"
    assert sent["host"] == "127.0.0.1:9000"
    assert sent["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKID/20260102/eu-west-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
    )


def test_object_paths_are_encoded_and_prefixed() -> None:
    assert object_path("", "x.bundle") == "x.bundle"
    assert object_path("/team one/", "x.bundle") == "team%20one/x.bundle"
