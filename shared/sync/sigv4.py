"""AWS Signature Version 4 for S3-compatible object stores (header signing, signed payload hash).

Written against the published algorithm: canonical request -> string to sign -> HMAC chain of
date, region, service and "aws4_request". `canonical_request` is public so a test server can
verify a signature by recomputing it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

__all__ = ["Credentials", "authorization", "canonical_request", "payload_hash", "sign_headers", "signature"]

ALGORITHM = "AWS4-HMAC-SHA256"


class Credentials:
    __slots__ = ("access_key_id", "region", "secret_access_key", "service")

    def __init__(self, access_key_id: str, secret_access_key: str, region: str, service: str = "s3") -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.region = region
        self.service = service


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body_hash: str
) -> tuple[str, str]:
    """(canonical request, signed header list); `path` is already URI-encoded as sent."""
    lowered = {name.lower().strip(): " ".join(value.strip().split()) for name, value in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join([method.upper(), path or "/", _canonical_query(query), canonical_headers, signed, body_hash])
    return text, signed


def _key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(creds: Credentials, amz_date: str, canonical: str) -> str:
    day = amz_date[:8]
    scope = f"{day}/{creds.region}/{creds.service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _key(creds.secret_access_key, day, creds.region, creds.service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(creds: Credentials, amz_date: str, signed_headers: str, sig: str) -> str:
    scope = f"{amz_date[:8]}/{creds.region}/{creds.service}/aws4_request"
    return f"{ALGORITHM} Credential={creds.access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={sig}"


def sign_headers(
    creds: Credentials, method: str, url: str, body: bytes, headers: Mapping[str, str], now: datetime | None = None
) -> dict[str, str]:
    """The headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256, Authorization."""
    parts = urlsplit(url)
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    body_hash = payload_hash(body)
    signed = {**headers, "host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": body_hash}
    canonical, signed_names = canonical_request(method, parts.path, parts.query, signed, body_hash)
    sent = dict(signed)
    sent["Authorization"] = authorization(creds, amz_date, signed_names, signature(creds, amz_date, canonical))
    return sent


def object_path(prefix: str, name: str) -> str:
    """The URI-encoded path of an object (path-style addressing keeps one endpoint per store)."""
    key = f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name
    return quote(key, safe="/-_.~")
