"""Idempotency lease contract: the same scenarios against the twin and real Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from shared.kv.batch import RedisBatch
from shared.kv.idempotency import Idempotency, StoredResponse, active_count, record_key
from tests.contract.kv.conftest import KvEnv

S = "apikey-1\x00idem-abc"
RESPONSE = StoredResponse(
    status=200,
    headers=[("content-type", "application/json"), ("x-request-id", "r1")],
    body=b'{"ok": true}\xff',
    media_type="application/json",
    stream=False,
)


async def test_first_claims_duplicates_are_in_flight_other_payloads_mismatch(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    first = await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    assert (first.outcome, first.response) == ("claimed", None)
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 5_000))).outcome == "in_flight"
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-2", "edge-b", 5_000))).outcome == "mismatch"
    assert (await kv.run(lambda b: idem.read(b, S))).outcome == "in_flight"


async def test_only_the_owner_completes_and_the_response_is_replayed(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    assert not await kv.run(lambda b: idem.complete(b, S, "edge-b", RESPONSE, 1_000))
    assert await kv.run(lambda b: idem.complete(b, S, "edge-a", RESPONSE, 1_000))
    assert not await kv.run(lambda b: idem.complete(b, S, "edge-a", RESPONSE, 1_000))  # once
    replay = await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-c", 5_000))
    assert replay.outcome == "done" and replay.response == RESPONSE
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-2", "edge-c", 5_000))).outcome == "mismatch"
    read = await kv.run(lambda b: idem.read(b, S))
    assert read is not None and (read.outcome, read.response) == ("done", RESPONSE)
    assert kv.near(await kv.ttl_ms(record_key(S)), 1_000)


async def test_a_stream_response_round_trips(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    streamed = StoredResponse(
        status=200, headers=[], body=b"data: x\n\ndata: [DONE]\n\n", media_type="text/event-stream", stream=True
    )
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    await kv.run(lambda b: idem.complete(b, S, "edge-a", streamed, 1_000))
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 5_000))).response == streamed


async def test_only_the_owner_releases_and_then_anyone_claims(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    assert not await kv.run(lambda b: idem.release(b, S, "edge-b"))
    assert await kv.run(lambda b: idem.release(b, S, "edge-a"))
    assert await kv.run(lambda b: idem.read(b, S)) is None
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-2", "edge-b", 5_000))).outcome == "claimed"


async def test_a_stored_response_is_not_released(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    await kv.run(lambda b: idem.complete(b, S, "edge-a", RESPONSE, 1_000))
    assert not await kv.run(lambda b: idem.release(b, S, "edge-a"))
    assert not await kv.run(lambda b: idem.renew(b, S, "edge-a", 5_000))
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 5_000))).outcome == "done"


async def test_renewal_keeps_the_claim_and_a_lapsed_lease_passes_to_the_next(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 200))
    await kv.advance(150)
    assert await kv.run(lambda b: idem.renew(b, S, "edge-a", 200))
    assert not await kv.run(lambda b: idem.renew(b, S, "edge-b", 200))
    await kv.advance(150)  # past the first lease, within the renewed one
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 200))).outcome == "in_flight"
    await kv.advance(100)  # the owner died: nothing renews
    assert await kv.run(lambda b: idem.read(b, S)) is None
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 200))).outcome == "claimed"
    assert not await kv.run(lambda b: idem.renew(b, S, "edge-a", 200))  # the zombie is fenced off
    assert not await kv.run(lambda b: idem.complete(b, S, "edge-a", RESPONSE, 1_000))
    assert not await kv.run(lambda b: idem.release(b, S, "edge-a"))
    assert await kv.run(lambda b: idem.complete(b, S, "edge-b", RESPONSE, 1_000))


async def test_a_stored_response_expires_after_keep_ms(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-a", 5_000))
    await kv.run(lambda b: idem.complete(b, S, "edge-a", RESPONSE, 150))
    await kv.advance(170)
    assert await kv.run(lambda b: idem.read(b, S)) is None
    assert (await kv.run(lambda b: idem.claim(b, S, "fp-1", "edge-b", 5_000))).outcome == "claimed"


async def test_scopes_are_independent(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    await kv.run(lambda b: idem.claim(b, "key-1\x00same", "fp-1", "edge-a", 5_000))
    assert (await kv.run(lambda b: idem.claim(b, "key-2\x00same", "fp-1", "edge-b", 5_000))).outcome == "claimed"


async def test_exactly_one_of_50_concurrent_duplicates_claims(kv: KvEnv) -> None:
    idem = Idempotency(kv.redis)
    claims = await asyncio.gather(
        *(kv.run(lambda b, i=i: idem.claim(b, S, "fp-1", f"edge-{i}", 5_000)) for i in range(50))
    )
    outcomes = [claim.outcome for claim in claims]
    assert outcomes.count("claimed") == 1 and outcomes.count("in_flight") == 49


async def test_active_count_counts_claims_in_progress(real_redis: Redis) -> None:
    idem = Idempotency(real_redis)
    batch = RedisBatch(real_redis)
    for i in range(3):
        idem.claim(batch, f"scope-{i}", "fp", "edge-a", 5_000)
    await batch.run()
    batch = RedisBatch(real_redis)
    idem.complete(batch, "scope-0", "edge-a", RESPONSE, 5_000)
    await batch.run()
    assert await active_count(real_redis) == 2
    assert not [key async for key in real_redis.scan_iter(match="*idem-abc*")]  # scope keys are hashed
