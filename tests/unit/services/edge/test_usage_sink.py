"""UsageSink with an in-memory twin of the stream: batching, retry while Redis is down, overflow."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError

from services.edge.usage_sink import UsageSink
from shared.kv.usage_stream import UsageEvent


class MemoryStream:
    """Stands in for UsageStream: records batches, or fails while `down` is set."""

    def __init__(self) -> None:
        self.batches: list[list[UsageEvent]] = []
        self.down = False
        self.markers: set[str] = set()

    async def append(self, events: Sequence[UsageEvent], marker: str | None = None) -> bool:
        if self.down:
            raise RedisConnectionError("down")
        if events:
            self.batches.append(list(events))
        kept = marker is None or marker in self.markers
        if marker is not None:
            self.markers.add(marker)
        return kept

    def restart_empty(self) -> None:
        """What a Redis restart without persistence does: the stream and every key are gone."""
        self.batches.clear()
        self.markers.clear()


def event(i: int) -> UsageEvent:
    return UsageEvent(request_id=f"r{i}", ts=0.0, endpoint="chat.completions", status=200)


async def test_flush_sends_batches_in_order() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=3)  # type: ignore[arg-type]
    for i in range(7):
        sink.emit(event(i))
    assert await sink.flush()
    assert [len(b) for b in stream.batches] == [3, 3, 1]
    assert [e.request_id for b in stream.batches for e in b] == [f"r{i}" for i in range(7)]
    assert sink.buffered == 0


async def test_events_wait_while_redis_is_down_and_nothing_is_lost() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=2)  # type: ignore[arg-type]
    stream.down = True
    for i in range(5):
        sink.emit(event(i))
    assert not await sink.flush()
    assert sink.buffered == 5
    stream.down = False
    assert await sink.flush()
    assert [e.request_id for b in stream.batches for e in b] == [f"r{i}" for i in range(5)]


async def test_overflow_drops_the_oldest_and_says_so() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=100, max_buffered=3)  # type: ignore[arg-type]
    for i in range(5):
        sink.emit(event(i))
    assert sink.buffered == 3
    await sink.flush()
    assert [e.request_id for e in stream.batches[0]] == ["r2", "r3", "r4"]


async def test_close_gives_up_after_its_grace_period() -> None:
    stream = MemoryStream()
    stream.down = True
    sink = UsageSink(stream, flush_ms=10, batch_size=10)  # type: ignore[arg-type]
    sink.emit(event(1))
    await sink.close(grace_seconds=0.2)
    assert sink.buffered == 1


def sent_ids(stream: MemoryStream) -> list[str]:
    return [e.request_id for b in stream.batches for e in b]


async def test_events_redis_lost_in_a_restart_are_appended_again() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=2)  # type: ignore[arg-type]
    for i in range(3):
        sink.emit(event(i))
    assert await sink.flush()
    stream.restart_empty()  # r0..r2 were appended, maybe not yet stored by a worker
    sink.emit(event(3))
    assert await sink.flush()
    assert sorted(sent_ids(stream)) == ["r0", "r1", "r2", "r3"]
    assert await sink.flush(probe=True)  # no restart since: nothing is appended again
    assert sorted(sent_ids(stream)) == ["r0", "r1", "r2", "r3"]


async def test_an_idle_sink_notices_the_restart_by_probing() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=10)  # type: ignore[arg-type]
    sink.emit(event(1))
    assert await sink.flush()
    stream.restart_empty()
    assert await sink.flush()  # nothing buffered and no probe: no round trip
    assert sent_ids(stream) == []
    assert await sink.flush(probe=True)
    assert sent_ids(stream) == ["r1"]


async def test_replay_is_bounded_by_age_and_count() -> None:
    stream = MemoryStream()
    sink = UsageSink(stream, flush_ms=10, batch_size=10, replay_seconds=0.0, max_replay=5)  # type: ignore[arg-type]
    sink.emit(event(1))
    assert await sink.flush()
    stream.restart_empty()
    sink.emit(event(2))
    assert await sink.flush()
    assert sent_ids(stream) == ["r2"]  # r1 was older than the replay window
