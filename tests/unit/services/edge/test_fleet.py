"""The fleet's fallback when Redis does not answer: the same operations served from this process.

A real redis-py client pointed at a closed loopback port: every round trip fails the way it does
in an outage (connection refused), with nothing mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from services.edge.dispatch.admission import admit
from services.edge.dispatch.fleet import Fleet, Trips
from shared.config.limits import MINUTE_MS, NamedLimit
from shared.config.snapshot import Snapshot
from shared.kv.batch import Batch, Slot
from shared.kv.ratelimit import Rate
from shared.routing.candidates import Needs
from shared.routing.config import EdgeConfig


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    yield client
    await client.aclose()


def sample(name: str, operation: str) -> float:
    return REGISTRY.get_sample_value(name, {"operation": operation}) or 0.0


def fallbacks(operation: str) -> float:
    return sample("omniroute_redis_fallback_total", operation)


def errors(operation: str) -> float:
    return sample("omniroute_redis_errors_total", operation)


class Bumps:
    """A queue function that bumps one routing counter, remembering how it was asked to run."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.runs: list[bool] = []

    def __call__(self, batch: Batch, local: bool) -> Slot[int]:
        self.runs.append(local)
        return self.fleet.stats.bump(batch, "unit-test-counter")


async def test_an_unreachable_redis_falls_back_to_the_local_store(dead_redis: Redis) -> None:
    fleet = Fleet(dead_redis, retry_interval=30)
    operation = "unit-fallback-first"
    trips = Trips()
    queue = Bumps(fleet)
    slot = await fleet.run(queue, trips, operation)
    assert slot.value == 1  # served, by the local twin
    assert queue.runs == [False, True]  # queued for Redis, then again for the fallback
    assert trips.count == 1  # the one round trip that failed
    assert fleet.degraded
    assert fallbacks(operation) == 1
    assert errors(operation) == 1


async def test_it_stays_local_for_the_retry_interval(dead_redis: Redis) -> None:
    fleet = Fleet(dead_redis, retry_interval=30)
    operation = "unit-fallback-stays"
    trips = Trips()
    queue = Bumps(fleet)
    await fleet.run(queue, trips, operation)
    second = await fleet.run(queue, trips, operation)
    third = await fleet.run(queue, trips, operation)
    assert (second.value, third.value) == (2, 3)  # local state carries over between requests
    assert queue.runs == [False, True, True, True]  # Redis is not tried again meanwhile
    assert trips.count == 1
    assert fallbacks(operation) == 3  # every operation served locally is counted
    assert errors(operation) == 1  # but only the failed round trip is an error


async def test_after_the_interval_redis_is_tried_again(dead_redis: Redis) -> None:
    fleet = Fleet(dead_redis, retry_interval=0.05)
    operation = "unit-fallback-retry"
    trips = Trips()
    queue = Bumps(fleet)
    await fleet.run(queue, trips, operation)
    await asyncio.sleep(0.08)
    assert not fleet.degraded
    slot = await fleet.run(queue, trips, operation)
    assert slot.value == 2
    assert queue.runs == [False, True, False, True]
    assert trips.count == 2
    assert errors(operation) == 2
    assert fleet.degraded  # failed again: local for another interval


async def test_a_healthy_fleet_is_not_degraded(dead_redis: Redis) -> None:
    assert not Fleet(dead_redis).degraded


async def test_admission_without_redis_admits_the_local_share_of_a_keys_limit(dead_redis: Redis) -> None:
    """While Redis is unreachable each edge admits limit / fallback_divisor on its own."""
    fleet = Fleet(dead_redis, retry_interval=30)
    config = EdgeConfig(Snapshot(version=1, published_at=0, settings={"rateLimit": {"fallbackDivisor": 2}}))
    rpm = NamedLimit("k:{unit-key}:rpm", "requests", "minute", Rate(4, MINUTE_MS))
    outcomes = []
    for _ in range(3):
        admission = await admit(
            fleet, config, Trips(), needs=Needs(), key_limits=[rpm], estimated_tokens=10, session_key=None
        )
        assert admission.local
        outcomes.append(admission.refusal() is None)
    assert outcomes == [True, True, False]  # 4 per minute fleet-wide: 2 for this edge alone
    refused = admission.refusal()
    assert refused is not None and refused.status == 429
    assert admission.headers["x-ratelimit-limit-requests"] == "2"
    assert 29 <= int(refused.headers["Retry-After"]) <= 30


async def test_admission_without_redis_reads_no_shared_state(dead_redis: Redis) -> None:
    fleet = Fleet(dead_redis, retry_interval=30)
    config = EdgeConfig(Snapshot(version=1, published_at=0))
    needs = Needs(providers=["openai"], connections=["c1", "c2"], rotations=["conn:openai"])
    admission = await admit(
        fleet, config, Trips(), needs=needs, key_limits=[], estimated_tokens=1, session_key="key:session"
    )
    assert admission.local
    assert admission.availability.breakers == {"openai": ("closed", 0)}
    assert admission.availability.cooldowns == {}
    assert admission.availability.session_connection is None
    assert admission.signals.rotation == {"conn:openai": 1}


# --- shutdown of the edge's Redis loops ----------------------------------------------------------
