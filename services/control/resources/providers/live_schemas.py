"""Wire shapes of the live provider endpoints: test, models, validate."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from services.control.resources.providers.schemas import ProviderCreate

__all__ = ["ModelListing", "ProviderTest", "ProviderValidate", "TestResult", "UpstreamFailure", "Validated"]


class ProviderTest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: Annotated[str, Meta(min_length=1, max_length=256)] | None = None


class UpstreamFailure(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """Why the upstream call failed, classified the way the edge classifies it (never the credential)."""

    code: str  # e.g. upstream_auth_error, rate_limit_exceeded, model_not_found, upstream_error, unsafe_url
    message: str
    type: str  # the error family: authentication_error, rate_limit_error, invalid_request_error, api_error
    retryable: bool
    retry_after_seconds: int | None = None


class TestResult(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    ok: bool
    status: int | None  # the upstream's HTTP status; null when it never answered
    latency_ms: float
    model: str | None
    error: UpstreamFailure | None = None


class ListedModelView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str  # provider/model, as clients address it
    model: str
    name: str | None = None


class ModelListing(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    connection_id: str
    provider: str
    source: Literal["upstream", "catalog"]  # catalog: catalog, configured and custom models (no list or it failed)
    cached: bool
    fetched_at: float | None  # epoch seconds of the upstream answer
    models: list[ListedModelView]
    error: UpstreamFailure | None = None


class ProviderValidate(ProviderCreate, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    live: bool = False  # also send a test request with the given credential


class Validated(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    valid: bool
    provider: str
    name: str
    base_url: str | None
    default_model: str | None
    has_api_key: bool
    test: TestResult | None = None
