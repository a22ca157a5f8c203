"""/api/compliance/audit-log: filters (action, actor, target, time), pagination, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from shared import jsonx
from tests.support.auth import CSRF_HEADER_NAME

AUDIT = "/api/compliance/audit-log"
PROVIDER_KEY = "sk-audit-provider-key-0123456789abcdef"


async def _seed(admin: AsyncTestClient) -> dict[str, str]:
    keys = [(await admin.post("/api/keys", json={"name": n, "scopes": ["admin"]})).json() for n in ("a", "b")]
    provider = await admin.post(
        "/api/providers",
        json={"provider": "openai", "name": "main", "apiKey": PROVIDER_KEY, "baseUrl": "http://127.0.0.1:9/v1"},
    )
    assert provider.status_code == 201
    updated = await admin.put(f"/api/providers/{provider.json()['id']}", json={"priority": 7})
    assert updated.status_code == 200
    # one change made by an admin key (a second actor)
    bot_headers = {"authorization": f"Bearer {keys[0]['key']}", CSRF_HEADER_NAME: ""}
    assert (await admin.delete(f"/api/keys/{keys[1]['id']}", headers=bot_headers)).status_code == 200
    return {
        "key_a": keys[0]["id"],
        "key_b": keys[1]["id"],
        "provider": provider.json()["id"],
        "request_id": updated.headers["x-omniroute-request-id"],
    }


async def _actions(admin: AsyncTestClient, query: str) -> list[str]:
    response = await admin.get(f"{AUDIT}?{query}")
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()]


async def test_filters_by_action_actor_and_target(admin: AsyncTestClient) -> None:
    ids = await _seed(admin)
    assert await _actions(admin, "action=key.created") == ["key.created", "key.created"]
    assert await _actions(admin, "action=provider") == ["provider.updated", "provider.created"]
    assert await _actions(admin, "action=prov*") == ["provider.updated", "provider.created"]
    assert await _actions(admin, "action=prov") == []  # a bare prefix only matches at a dot
    assert await _actions(admin, "action=%25") == []  # LIKE wildcards mean nothing
    assert await _actions(admin, "action=_ey.created") == []
    assert await _actions(admin, f"actor=key:{ids['key_a']}") == ["key.revoked"]
    assert "key.revoked" not in await _actions(admin, "actor=admin")
    assert await _actions(admin, "target=provider") == ["provider.updated", "provider.created"]
    assert await _actions(admin, f"target={ids['key_b']}") == ["key.revoked", "key.created"]
    assert await _actions(admin, f"target=api_key:{ids['key_b']}") == ["key.revoked", "key.created"]
    assert await _actions(admin, f"target=provider:{ids['key_b']}") == []
    assert await _actions(admin, f"targetType=api_key&targetId={ids['key_a']}") == ["key.created"]
    assert await _actions(admin, "targetType=provider&action=provider.updated") == ["provider.updated"]


async def test_rows_carry_who_what_where_with_secrets_redacted(admin: AsyncTestClient, pool: asyncpg.Pool) -> None:
    ids = await _seed(admin)
    (entry,) = (await admin.get(f"{AUDIT}?action=provider.updated")).json()
    assert entry["actor"] == "admin"
    assert entry["targetType"] == "provider" and entry["targetId"] == ids["provider"]
    assert entry["before"]["priority"] != 7 and entry["after"]["priority"] == 7
    assert entry["requestId"] == ids["request_id"]
    assert entry["clientIp"] == "testclient"
    assert datetime.fromisoformat(entry["timestamp"]) <= datetime.now(UTC)
    # A row written with a raw secret (by some older code path) is still redacted on the way out.
    await pool.execute(
        "INSERT INTO audit_log (actor, action, target_type, before, after) VALUES ('admin', 'legacy.x', 'x', $1::text::jsonb, $2::text::jsonb)",
        jsonx.dumps_str({"apiKey": PROVIDER_KEY}),
        jsonx.dumps_str({"note": f"key was {PROVIDER_KEY}", "nested": [{"password": "hunter2"}]}),
    )
    everything = (await admin.get(f"{AUDIT}?limit=500")).text
    assert PROVIDER_KEY not in everything
    assert "hunter2" not in everything


async def test_time_range_is_validated_iso_8601(admin: AsyncTestClient) -> None:
    await _seed(admin)
    now = datetime.now(UTC)
    past, future = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    assert len(await _actions(admin, f"from={past.replace('+00:00', 'Z')}")) == 6
    assert await _actions(admin, f"to={past.replace('+00:00', 'Z')}") == []
    assert await _actions(admin, f"from={future.replace('+00:00', 'Z')}") == []
    assert len(await _actions(admin, "from=2020-01-01&to=2999-12-31T00:00:00")) == 6
    assert len(await _actions(admin, f"since={past.replace('+00:00', 'Z')}")) == 6  # the older name
    for query, field in (
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-01-01T25:00", "from"),
        ("since=nope", "since"),
        ("from=2026-02-01&to=2026-01-01", "from"),
    ):
        response = await admin.get(f"{AUDIT}?{query}")
        assert response.status_code == 422, query
        assert response.json()["error"]["details"][0]["field"] == field


async def test_pagination_with_totals(admin: AsyncTestClient) -> None:
    await _seed(admin)
    first = await admin.get(f"{AUDIT}?limit=4")
    second = await admin.get(f"{AUDIT}?limit=4&offset=4")
    assert first.headers["x-total-count"] == second.headers["x-total-count"] == "6"
    assert second.headers["x-page-offset"] == "4"
    ids = [e["id"] for e in first.json()] + [e["id"] for e in second.json()]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True)
    for bad in ("limit=0", "limit=501", "offset=-1", "limit=x"):
        assert (await admin.get(f"{AUDIT}?{bad}")).status_code == 400, bad
