"""Field encryption, API keys, password hashes, signed tokens, masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string

import pytest

from shared import jsonx
from shared.crypto import (
    API_KEY_PREFIX,
    DecryptionError,
    FieldCipher,
    TokenError,
    _derive,
    generate_api_key,
    hash_api_key,
    hash_password,
    mask_secret,
    sign_token,
    verify_password,
    verify_token,
)

MASTER = "unit-test-master-key-not-a-real-secret-0001"
OTHER_MASTER = "unit-test-master-key-not-a-real-secret-0002"
TOKEN_SECRET = "unit-test-jwt-secret-not-real-00000000"


# --- FieldCipher ---------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", b"fake-provider-key-123", bytes(range(256)) * 4])
@pytest.mark.parametrize("aad", [b"", b"connection:42"])
def test_cipher_round_trip(plaintext: bytes, aad: bytes) -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blob = cipher.encrypt(plaintext, aad)
    assert blob.startswith(b"v1")
    assert len(blob) == 2 + 12 + len(plaintext) + 16
    assert cipher.decrypt(blob, aad) == plaintext


def test_cipher_text_round_trip_unicode() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blob = cipher.encrypt_text("clé-secrète-€", "row:7")
    assert cipher.decrypt_text(blob, "row:7") == "clé-secrète-€"


def test_same_plaintext_encrypts_differently_each_time() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blobs = {cipher.encrypt(b"same", b"row") for _ in range(20)}
    assert len(blobs) == 20


def test_ciphertext_does_not_contain_plaintext() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    assert b"fake-provider-key" not in cipher.encrypt(b"fake-provider-key-0123456789")


def test_a_new_cipher_with_the_same_key_and_purpose_decrypts() -> None:
    blob = FieldCipher(MASTER, "provider-keys").encrypt(b"payload", b"row:1")
    assert FieldCipher(MASTER, "provider-keys").decrypt(blob, b"row:1") == b"payload"


def test_wrong_aad_raises() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blob = cipher.encrypt(b"payload", b"row:1")
    for aad in (b"row:2", b"", b"row:1 "):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob, aad)


def test_wrong_aad_text_raises() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    with pytest.raises(DecryptionError):
        cipher.decrypt_text(cipher.encrypt_text("payload", "row:1"), "row:2")


def test_wrong_master_key_raises() -> None:
    blob = FieldCipher(MASTER, "provider-keys").encrypt(b"payload", b"row:1")
    with pytest.raises(DecryptionError):
        FieldCipher(OTHER_MASTER, "provider-keys").decrypt(blob, b"row:1")


def test_different_purposes_use_different_keys() -> None:
    assert _derive(MASTER, "provider-keys") != _derive(MASTER, "config-snapshot")
    assert _derive(MASTER, "provider-keys") == _derive(MASTER, "provider-keys")
    assert _derive(MASTER, "provider-keys") != _derive(OTHER_MASTER, "provider-keys")
    assert len(_derive(MASTER, "provider-keys")) == 32
    blob = FieldCipher(MASTER, "provider-keys").encrypt(b"payload")
    with pytest.raises(DecryptionError):
        FieldCipher(MASTER, "config-snapshot").decrypt(blob)


def test_every_tampered_byte_is_detected() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blob = cipher.encrypt(b"fake-provider-key", b"row:1")
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(tampered), b"row:1")


@pytest.mark.parametrize(
    "blob",
    [b"", b"v1", b"v1" + b"\x00" * 27, b"v2" + b"\x00" * 40, b"plain text that is long enough to pass the length"],
)
def test_garbage_blobs_raise(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        FieldCipher(MASTER, "provider-keys").decrypt(blob)


def test_truncated_and_extended_blobs_raise() -> None:
    cipher = FieldCipher(MASTER, "provider-keys")
    blob = cipher.encrypt(b"payload")
    for broken in (blob[:-1], blob + b"\x00", blob[:30]):
        with pytest.raises(DecryptionError):
            cipher.decrypt(broken)


def test_decryption_error_is_a_value_error() -> None:
    assert issubclass(DecryptionError, ValueError)


# --- API keys ------------------------------------------------------------------------------


def test_generated_api_keys_have_prefix_and_entropy() -> None:
    keys = [generate_api_key() for _ in range(200)]
    assert len(set(keys)) == 200
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for key in keys:
        assert key.startswith(API_KEY_PREFIX)
        random_part = key[len(API_KEY_PREFIX) :]
        assert len(random_part) >= 43  # 32 random bytes, url-safe base64 without padding
        assert set(random_part) <= alphabet


def test_hash_api_key_is_stable_sha256_hex() -> None:
    key = "sk-omni-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK"
    digest = hash_api_key(key)
    assert digest == hash_api_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hashlib.sha256(key.encode()).hexdigest()
    assert hash_api_key(key + "x") != digest
    assert key not in digest


# --- passwords -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password("correct horse battery staple")


def test_password_hash_format(password_hash: str) -> None:
    scheme, n, r, p, salt, digest = password_hash.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert "correct horse" not in password_hash


def test_verify_right_password(password_hash: str) -> None:
    assert verify_password("correct horse battery staple", password_hash) is True


@pytest.mark.parametrize("wrong", ["", "correct horse battery stapl", "Correct horse battery staple", "x" * 100])
def test_verify_wrong_password(password_hash: str, wrong: str) -> None:
    assert verify_password(wrong, password_hash) is False


def test_same_password_gets_a_different_salt(password_hash: str) -> None:
    again = hash_password("correct horse battery staple")
    assert again != password_hash
    assert verify_password("correct horse battery staple", again) is True


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "not-a-hash",
        "scrypt$16384$8$1$AAAA",
        "scrypt$16384$8$1$AAAA$AAAA$AAAA",
        "bcrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$abc$8$1$AAAA$AAAA",
        "scrypt$16384$x$1$AAAA$AAAA",
        "scrypt$3$8$1$AAAA$AAAA",
        "scrypt$16384$8$-1$AAAA$AAAA",
        "scrypt$1099511627776$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$!!!!$AAAA",
        "scrypt$16384$8$1$AAAA$!!!!",
        "scrypt$16384$8$1$AAAA$",
        "scrypt$16384$8$1$é$AAAA",
    ],
)
def test_malformed_password_hash_returns_false(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


# --- session tokens ------------------------------------------------------------------------


def _forge(claims: object, secret: str = TOKEN_SECRET) -> str:
    """A correctly signed token around an arbitrary payload."""
    payload = base64.urlsafe_b64encode(jsonx.dumps(claims)).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_token_round_trip() -> None:
    token = sign_token({"sub": "user-1", "role": "admin"}, TOKEN_SECRET, 3600)
    claims = verify_token(token, TOKEN_SECRET)
    assert claims["sub"] == "user-1"
    assert claims["role"] == "admin"
    assert isinstance(claims["exp"], int)


def test_sign_token_does_not_mutate_claims() -> None:
    claims: dict[str, object] = {"sub": "user-1"}
    sign_token(claims, TOKEN_SECRET, 60)
    assert claims == {"sub": "user-1"}


def test_expired_token_raises() -> None:
    token = sign_token({"sub": "user-1"}, TOKEN_SECRET, -10)
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, TOKEN_SECRET)


@pytest.mark.parametrize("exp", [None, "9999999999", 1.5e10, [1]])
def test_token_without_an_integer_exp_is_rejected(exp: object) -> None:
    claims = {"sub": "user-1"} if exp is None else {"sub": "user-1", "exp": exp}
    with pytest.raises(TokenError):
        verify_token(_forge(claims), TOKEN_SECRET)


def test_forged_helper_matches_real_tokens() -> None:
    assert verify_token(_forge({"sub": "u", "exp": 4_000_000_000}), TOKEN_SECRET)["sub"] == "u"


def test_wrong_secret_raises() -> None:
    token = sign_token({"sub": "user-1"}, TOKEN_SECRET, 60)
    with pytest.raises(TokenError):
        verify_token(token, TOKEN_SECRET + "-other")


def test_tampered_signature_raises() -> None:
    token = sign_token({"sub": "user-1"}, TOKEN_SECRET, 60)
    payload, signature = token.split(".")
    for index in range(len(signature) - 1):  # the last character also carries padding bits
        replacement = "A" if signature[index] != "A" else "B"
        tampered = f"{payload}.{signature[:index]}{replacement}{signature[index + 1 :]}"
        with pytest.raises(TokenError):
            verify_token(tampered, TOKEN_SECRET)


def test_tampered_payload_raises() -> None:
    token = sign_token({"sub": "user-1", "role": "viewer"}, TOKEN_SECRET, 60)
    _, signature = token.split(".")
    evil = _forge({"sub": "user-1", "role": "admin", "exp": 4_000_000_000}, "attacker-secret")
    evil_payload = evil.split(".")[0]
    with pytest.raises(TokenError):
        verify_token(f"{evil_payload}.{signature}", TOKEN_SECRET)


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "a.b.c", "!!!.!!!", "éé.éé", "eyJhIjoxfQ", "eyJhIjoxfQ.", ".c2ln"],
)
def test_malformed_tokens_raise_token_error(token: str) -> None:
    with pytest.raises(TokenError):
        verify_token(token, TOKEN_SECRET)


@pytest.mark.parametrize("claims", [[1, 2], "string", 42, None])
def test_signed_non_object_payload_raises_token_error(claims: object) -> None:
    with pytest.raises(TokenError):
        verify_token(_forge(claims), TOKEN_SECRET)


def test_signed_non_json_payload_raises_token_error() -> None:
    payload = base64.urlsafe_b64encode(b"not json").rstrip(b"=").decode()
    signature = hmac.new(TOKEN_SECRET.encode(), payload.encode(), hashlib.sha256).digest()
    token = f"{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(TokenError):
        verify_token(token, TOKEN_SECRET)


def test_token_error_is_a_value_error() -> None:
    assert issubclass(TokenError, ValueError)


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_mask_empty_values_pass_through(value: str | None) -> None:
    assert mask_secret(value) == value


@pytest.mark.parametrize("length", range(1, 13))
def test_short_secrets_are_fully_masked(length: int) -> None:
    secret = "abcdefghijkl"[:length]
    assert mask_secret(secret) == "*" * length


def test_long_secret_shows_prefix_and_suffix_only() -> None:
    assert mask_secret("sk-abcdefghijklmnopqrstuvwxyz123456") == "sk-abc…3456"


@pytest.mark.parametrize("length", range(13, 80))
def test_mask_never_reveals_more_than_ten_characters(length: int) -> None:
    secret = "".join(chr(ord("a") + i % 26) + str(i % 10) for i in range(length))[:length]
    masked = mask_secret(secret)
    assert masked is not None
    assert masked == secret[:6] + "…" + secret[-4:]
    assert len(masked.replace("…", "")) <= 10
    assert secret not in masked
