"""The dispatcher: the candidates of one request tried in order, under one deadline.

For each candidate: take the fleet's single half-open probe if its provider's breaker asks for
one, pass the connection's own limits, build the upstream request (translation happens per
target), then send it, retrying the same target after a jittered pause when the server answered
5xx/408. A failed attempt's effect on shared state (breaker failure, cooldown) is written at once,
so every edge avoids the failing target from the next request on. The request moves to the next
candidate on connect errors, timeouts before the first byte, 429, 5xx, 401/403 of our credential
and 404 model; the caller's own 400/413/422 end it. Nothing has reached the client while this
runs: a stream is committed only once its first chunk has arrived, a JSON answer once it is
whole, so a stall before the first byte still falls back. Each attempt has its own first-byte
timeout (measured from its own start), all of them within the request's one deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from services.edge.dispatch.admission import cost_of
from services.edge.dispatch.attempts import Attempt, effect_of, exhausted, retry_hint_ms, same_target_retry
from services.edge.dispatch.fleet import Fleet, Trips
from services.edge.dispatch.limits import Decided, refusal
from services.edge.upstream import UpstreamClients, iter_chunks, open_attempt, read_body
from shared import metrics
from shared.canonical.chat import ChatRequest
from shared.canonical.errors import GatewayError, UpstreamError, UpstreamTimeout
from shared.config.limits import NamedLimit, connection_limits, scaled
from shared.config.resilience import ResilienceSettings
from shared.formats.base import Dialect, UpstreamCall
from shared.kv.batch import Batch, Slot
from shared.kv.breaker import BreakerPolicy, BreakerView
from shared.kv.cooldown import CooldownPolicy
from shared.kv.ratelimit import LimitDecision
from shared.routing.candidates import Candidate, Skipped
from shared.routing.config import EdgeConfig, Upstream
from shared.settings import Timeouts

__all__ = ["Builder", "Dispatcher", "Opened", "Prepared", "attempt_timeouts", "breaker_policy", "cooldown_policy"]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One candidate's upstream request, in its provider's dialect."""

    provider: Dialect
    chat: ChatRequest
    call: UpstreamCall


Builder = Callable[[Candidate], Awaitable[Prepared]]


@dataclass(slots=True)
class Opened:
    """The attempt that answered: for a stream the open response and its first chunk, for JSON the whole body."""

    candidate: Candidate
    prepared: Prepared
    response: aiohttp.ClientResponse | None
    head: bytes
    attempts: list[Attempt]
    first_byte_ms: float
    probe: bool
    seat: str | None = None  # the connection's concurrency semaphore key, held until settlement
    token_limits: list[NamedLimit] = field(default_factory=list)  # connection token limits charged by estimate

    @property
    def fallbacks(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.tried)


def breaker_policy(resilience: ResilienceSettings) -> BreakerPolicy:
    return BreakerPolicy(
        failure_threshold=max(1, resilience.breaker_failure_threshold),
        reset_ms=max(1, resilience.breaker_reset_ms),
        max_reset_ms=max(resilience.breaker_reset_ms, resilience.breaker_max_reset_ms),
        # the probe lease covers the probe until its first byte, when its success is reported
        probe_ms=max(1000, resilience.connect_timeout_ms + resilience.first_byte_timeout_ms),
    )


def cooldown_policy(resilience: ResilienceSettings) -> CooldownPolicy:
    return CooldownPolicy(base_ms=max(1, resilience.cooldown_base_ms), max_ms=max(1, resilience.cooldown_max_ms))


def _connection_name(upstream: Upstream) -> str:
    return upstream.connection.name or upstream.connection.id


class Dispatcher:
    def __init__(
        self,
        fleet: Fleet,
        http: UpstreamClients,
        config: EdgeConfig,
        timeouts: Timeouts,
        trips: Trips,
        *,
        stream: bool,
        holder: str,
        estimated_tokens: int,
    ) -> None:
        self.fleet, self.http, self.config, self.timeouts, self.trips = fleet, http, config, timeouts, trips
        self.stream = stream
        self.holder = holder  # the request id: this request's name in semaphores
        self.estimated_tokens = estimated_tokens
        self.resilience = config.resilience
        self.deadline = time.monotonic() + timeouts.total
        self.attempts: list[Attempt] = []
        self._open_providers: set[str] = set()  # breakers this request saw open
        self._cooled: set[str] = set()  # connections this request cooled down

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _names(self, provider: str) -> dict[str, str]:
        return {u.connection.id: _connection_name(u) for u in self.config.upstreams_of(provider)}

    def skipped(self, skipped: list[Skipped]) -> None:
        for skip in skipped:
            name = self._names(skip.provider).get(skip.connection_id or "", None)
            self.attempts.append(
                Attempt(skip.provider, skip.model, name, skip.reason, retry_in_ms=skip.retry_in_ms, tried=False)
            )

    async def open(self, found: list[Candidate], skipped: list[Skipped], build: Builder) -> Opened:
        """The first candidate that answers, or the one error listing every attempt."""
        self.skipped(skipped)
        first_error: GatewayError | None = None
        for candidate in found:
            if self._left() <= 0:
                raise exhausted(self.attempts, deadline_hit=True)
            try:
                opened = await self._candidate(candidate, build)
            except _Stop as stop:
                raise stop.error from None
            except _Unsupported as unsupported:
                first_error = first_error or unsupported.error
                self.attempts.append(self._skip(candidate, "unsupported"))
                continue
            if opened is not None:
                return opened
        if first_error is not None and all(attempt.reason == "unsupported" for attempt in self.attempts):
            raise first_error  # no candidate can take this request: the capability error itself
        raise exhausted(self.attempts)

    async def _candidate(self, candidate: Candidate, build: Builder) -> Opened | None:
        upstream, provider = candidate.target.upstream, candidate.step.provider
        connection_id = upstream.connection.id
        skip = self._unavailable(candidate)
        if skip is not None:
            self.attempts.append(skip)
            return None
        probe = False
        if candidate.probe:
            view = await self._acquire_probe(provider)
            if not view.allowed:
                self.attempts.append(self._skip(candidate, "breaker_open", view.retry_in_ms))
                return None
            probe = view.probe
        gate = await self._pass_connection_limits(candidate)
        if isinstance(gate, Attempt):
            self.attempts.append(gate)
            return None
        seat, token_limits = gate
        try:
            prepared = await build(candidate)
        except GatewayError as exc:
            await self._give_back(seat)
            raise _Unsupported(exc) from None
        for retry in range(self.resilience.max_retries + 1):
            started = time.monotonic()
            try:
                response, head = await self._attempt(prepared, candidate)
            except GatewayError as exc:
                await self._failed(candidate, exc, probe, time.monotonic() - started)
                if not exc.fallback_allowed:
                    await self._give_back(seat)
                    earlier = sum(1 for attempt in self.attempts[:-1] if attempt.tried)
                    if earlier:
                        exc.headers = {**exc.headers, "X-OmniRoute-Fallback-Attempts": str(earlier)}
                    raise _Stop(exc) from None
                probe = False  # a probe's outcome is reported once
                if (
                    retry < self.resilience.max_retries
                    and same_target_retry(exc)
                    and provider not in self._open_providers  # never retry into a breaker that just opened
                    and await self._pause(retry)
                ):
                    continue
                metrics.FALLBACKS.labels(exc.code).inc()
                await self._give_back(seat)
                return None
            first_byte_ms = (time.monotonic() - started) * 1000
            if probe:
                await self._report_probe_success(provider)
            self._forget_cooling(connection_id)
            return Opened(candidate, prepared, response, head, self.attempts, first_byte_ms, probe, seat, token_limits)
        return None  # pragma: no cover - the loop always returns

    def _skip(self, candidate: Candidate, reason: str, retry_in_ms: int = 0) -> Attempt:
        upstream = candidate.target.upstream
        return Attempt(
            candidate.step.provider,
            candidate.target.model,
            _connection_name(upstream),
            reason,
            retry_in_ms=retry_in_ms,
            tried=False,
        )

    def _unavailable(self, candidate: Candidate) -> Attempt | None:
        """Targets this request itself just saw fail: the breaker opened, or the connection was cooled."""
        if candidate.step.provider in self._open_providers:
            return self._skip(candidate, "breaker_open")
        if candidate.target.upstream.connection.id in self._cooled:
            return self._skip(candidate, "cooldown")
        return None

    def _forget_cooling(self, connection_id: str) -> None:
        self._cooled.discard(connection_id)

    async def _acquire_probe(self, provider: str) -> BreakerView:
        policy = breaker_policy(self.resilience)
        slot = await self.fleet.run(lambda b, _: self.fleet.breaker.acquire(b, provider, policy), self.trips, "breaker")
        view = slot.value
        if view.probe:
            metrics.BREAKER_TRANSITIONS.labels(provider, "probe").inc()
        return view

    async def _report_probe_success(self, provider: str) -> None:
        await self.fleet.run(lambda b, _: self.fleet.breaker.succeed(b, provider, True), self.trips, "breaker")
        metrics.BREAKER_TRANSITIONS.labels(provider, "closed").inc()

    async def _pass_connection_limits(self, candidate: Candidate) -> tuple[str | None, list[NamedLimit]] | Attempt:
        """The connection's RPM/RPD/TPM and max concurrent; an extra round trip only when it has any."""
        connection = candidate.target.upstream.connection
        named = connection_limits(connection)
        concurrent = connection.max_concurrent
        if not named and not concurrent:
            return None, []
        divisor = self.config.rate_limits.fallback_divisor
        seat_key = "c:{" + connection.id + "}:concurrent"
        lease = max(1000, self.resilience.request_deadline_ms)

        def queue(batch: Batch, local: bool) -> tuple[list[NamedLimit], Slot[list[LimitDecision]], Slot[bool] | None]:
            limits = [scaled(limit, divisor) if local else limit for limit in named]
            items = [(limit.name, limit.rate, cost_of(limit, self.estimated_tokens)) for limit in limits]
            decisions = self.fleet.limiter.consume(batch, items)
            seats = max(1, concurrent // divisor) if local and concurrent else concurrent
            seat = self.fleet.semaphore.acquire(batch, seat_key, seats, self.holder, lease) if seats else None
            return limits, decisions, seat

        limits, decisions, seat = await self.fleet.run(queue, self.trips, "connection_limits")
        decided = [Decided(limit, d) for limit, d in zip(limits, decisions.value, strict=True)]
        refused = refusal(decided, "connection")
        seated = seat is None or seat.value
        if refused is None and seated:
            return (seat_key if seat is not None else None), [limit for limit in limits if limit.unit == "tokens"]
        await self._undo_gate(limits, admitted=refused is None, seat_key=seat_key if seated and seat else None)
        waits = [d.decision.retry_after_ms for d in decided if not d.decision.allowed]
        metrics.RATE_LIMITED.labels("connection").inc()
        return self._skip(candidate, "connection_limited", max([w for w in waits if w > 0], default=0))

    async def _undo_gate(self, limits: list[NamedLimit], *, admitted: bool, seat_key: str | None) -> None:
        """Half of the gate passed: give back what was taken (the consumed limits, or the seat)."""
        if not admitted and seat_key is None:
            return

        def queue(batch: Batch, _: bool) -> None:
            if admitted:
                for limit in limits:
                    self.fleet.limiter.charge(batch, limit.name, limit.rate, -cost_of(limit, self.estimated_tokens))
            if seat_key is not None:
                self.fleet.semaphore.release(batch, seat_key, self.holder)

        await self.fleet.run(queue, self.trips, "connection_limits")

    async def _give_back(self, seat: str | None) -> None:
        if seat is not None:
            await self.fleet.run(
                lambda b, _: self.fleet.semaphore.release(b, seat, self.holder), self.trips, "connection_limits"
            )

    def _attempt_timeouts(self) -> Timeouts:
        left = max(0.001, self._left())
        first_byte = min(self.timeouts.first_byte, left)
        return Timeouts(
            connect=min(self.timeouts.connect, left), first_byte=first_byte, idle=self.timeouts.idle, total=left
        )

    async def _attempt(self, prepared: Prepared, candidate: Candidate) -> tuple[aiohttp.ClientResponse | None, bytes]:
        target = candidate.target
        timeouts = self._attempt_timeouts()
        started = time.monotonic()
        response = await open_attempt(
            self.http.via(target.upstream.proxy),
            target.upstream.url(prepared.call, target.model),
            target.upstream.auth_headers + prepared.call.headers,
            prepared.call.body,
            timeouts,
            prepared.provider.classify_error,
        )
        if not self.stream:
            try:
                return None, await read_body(response, timeouts)
            finally:
                response.release()
        left = timeouts.first_byte - (time.monotonic() - started)
        try:
            head = await _first_chunk(response, max(0.001, left))
        except BaseException:
            response.close()
            raise
        return response, head

    async def _pause(self, retry: int) -> bool:
        """Sleep before retrying the same target; False when the deadline leaves no room."""
        base = self.resilience.retry_backoff_ms / 1000 * (2**retry)
        pause = base * random.uniform(0.5, 1.5)
        if pause >= self._left():
            return False
        await asyncio.sleep(pause)
        return True

    async def _failed(self, candidate: Candidate, error: GatewayError, probe: bool, elapsed: float) -> None:
        upstream, provider = candidate.target.upstream, candidate.step.provider
        effect = effect_of(error)
        metrics.ATTEMPT_FAILURES.labels(provider, error.code).inc()
        self.attempts.append(
            Attempt(
                provider,
                candidate.target.model,
                _connection_name(upstream),
                error.code,
                status=error.status,
                message=error.message,
                retry_in_ms=retry_hint_ms(error) or 0,
                error=error,
            )
        )
        if effect == "none" and not probe:
            return
        resilience = self.resilience
        connection_id = upstream.connection.id

        def queue(batch: Batch, _: bool) -> tuple[Slot[BreakerView] | None, Slot[int] | None]:
            opened: Slot[BreakerView] | None = None
            cooled: Slot[int] | None = None
            if effect == "breaker":
                opened = self.fleet.breaker.fail(batch, provider, breaker_policy(resilience), probe)
            elif probe:
                self.fleet.breaker.succeed(batch, provider, True)  # it answered: the provider is up
            if effect == "cooldown":
                hint = retry_hint_ms(error)
                cooled = self.fleet.cooldown.cool(batch, connection_id, cooldown_policy(resilience), hint)
            elif effect == "auth":
                cooled = self.fleet.cooldown.cool(
                    batch, connection_id, cooldown_policy(resilience), max(1, resilience.auth_cooldown_ms)
                )
            return opened, cooled

        opened, cooled = await self.fleet.run(queue, self.trips, "failure")
        if opened is not None:
            metrics.BREAKER_TRANSITIONS.labels(provider, "failure").inc()
            if opened.value.state == "open":
                self._open_providers.add(provider)
                metrics.BREAKER_TRANSITIONS.labels(provider, "open").inc()
        if cooled is not None and cooled.value > 0:
            self._cooled.add(connection_id)
            last = self.attempts[-1]
            if last.retry_in_ms <= 0:
                self.attempts[-1] = Attempt(
                    last.provider,
                    last.model,
                    last.connection,
                    last.reason,
                    last.status,
                    last.message,
                    cooled.value,
                    last.tried,
                    last.error,
                )


async def _first_chunk(response: aiohttp.ClientResponse, within: float) -> bytes:
    """Wait for the stream's first bytes; until they come, the request may still fall back."""
    try:
        async with asyncio.timeout(within):
            async for chunk in iter_chunks(response, within):
                return chunk
    except TimeoutError:
        pass
    except UpstreamTimeout:
        pass
    else:
        raise UpstreamError(
            "The upstream provider ended the stream without sending anything.", code="upstream_connection_error"
        )
    raise UpstreamTimeout("The upstream provider sent no data in time.", code="upstream_first_byte_timeout")


class _Stop(Exception):
    """The caller's own error: no other target would take the request."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


class _Unsupported(Exception):
    """This target cannot take the request (e.g. images to a text-only model); others may."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


def attempt_timeouts(env: Timeouts, config: EdgeConfig) -> Timeouts:
    """Per-attempt timeouts and the deadline: values set through /api/resilience win over the
    process's environment defaults (OMNIROUTE_*_TIMEOUT)."""
    raw = config.settings.get("resilience")
    explicit = raw if isinstance(raw, dict) else {}
    resilience = config.resilience

    def pick(name: str, default: float, milliseconds: int) -> float:
        return max(0.001, milliseconds / 1000) if name in explicit else default

    return Timeouts(
        connect=pick("connectTimeoutMs", env.connect, resilience.connect_timeout_ms),
        first_byte=pick("firstByteTimeoutMs", env.first_byte, resilience.first_byte_timeout_ms),
        idle=pick("streamIdleTimeoutMs", env.idle, resilience.stream_idle_timeout_ms),
        total=pick("requestDeadlineMs", env.total, resilience.request_deadline_ms),
    )
