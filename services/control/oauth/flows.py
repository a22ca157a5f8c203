"""Pending OAuth flows in Redis: short-lived, single use, encrypted (they hold PKCE verifiers and
device codes), so any control replica can finish a flow another one started."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from redis.asyncio import Redis

from shared.crypto import DecryptionError, FieldCipher
from shared.kv import keys

__all__ = ["AUTHORIZE_TTL_SECONDS", "AuthorizeFlow", "DeviceFlow", "FlowStore"]

AUTHORIZE_TTL_SECONDS = 600


class AuthorizeFlow(msgspec.Struct, kw_only=True):
    provider: str
    verifier: str
    redirect_uri: str
    name: str | None
    connection_id: str | None
    base_url: str | None


class DeviceFlow(msgspec.Struct, kw_only=True):
    provider: str
    device_code: str
    verifier: str | None
    interval: int
    next_poll_at: float  # epoch seconds; earlier polls are answered without asking the provider
    expires_at: float
    name: str | None
    connection_id: str | None
    base_url: str | None


F = TypeVar("F", AuthorizeFlow, DeviceFlow)


class FlowStore:
    def __init__(self, redis: Redis, cipher: FieldCipher) -> None:
        self._redis = redis
        self._cipher = cipher

    async def put_authorize(self, state: str, flow: AuthorizeFlow) -> None:
        key = keys.oauth_flow(state)
        blob = self._cipher.encrypt(msgspec.json.encode(flow), key.encode())
        await self._redis.set(key, blob, ex=AUTHORIZE_TTL_SECONDS)

    async def take_authorize(self, state: str) -> AuthorizeFlow | None:
        """The flow for `state`, removed in the same step: a state is good for one callback."""
        key = keys.oauth_flow(state)
        blob = await self._redis.getdel(key)
        return None if blob is None else self._decode(blob, key, AuthorizeFlow)

    async def put_device(self, flow_id: str, flow: DeviceFlow, ttl_seconds: int) -> None:
        key = keys.oauth_device_flow(flow_id)
        blob = self._cipher.encrypt(msgspec.json.encode(flow), key.encode())
        await self._redis.set(key, blob, ex=max(ttl_seconds, 1))

    async def get_device(self, flow_id: str) -> DeviceFlow | None:
        key = keys.oauth_device_flow(flow_id)
        blob = await self._redis.get(key)
        return None if blob is None else self._decode(blob, key, DeviceFlow)

    async def drop_device(self, flow_id: str) -> bool:
        return bool(await self._redis.delete(keys.oauth_device_flow(flow_id)))

    def _decode(self, blob: bytes, key: str, kind: type[F]) -> F | None:
        try:
            return msgspec.json.decode(self._cipher.decrypt(blob, key.encode()), type=kind)
        except (DecryptionError, msgspec.DecodeError):
            return None  # written by another key or version: as good as expired
