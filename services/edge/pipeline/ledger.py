"""What a finished request writes back to the fleet: queued on its settlement, sent in one round trip.

On success: the provider's breaker is cleared if it had counted failures, the session is pinned to
the connection that answered, token limits are corrected to the real usage, use counts and
latencies are recorded for the strategies that read them, and the concurrency seat is returned.
A stream that failed after its first byte counts against the provider's breaker instead.
"""

from __future__ import annotations

from functools import partial

from services.edge.dispatch.admission import Admission, use_counter
from services.edge.dispatch.attempts import effect_of
from services.edge.dispatch.dispatcher import Opened, breaker_policy
from services.edge.dispatch.fleet import Fleet
from services.edge.dispatch.settlement import Settlement
from services.edge.pipeline.plan import Plan
from shared.canonical.errors import GatewayError
from shared.canonical.usage import Usage
from shared.kv.batch import Batch
from shared.routing.config import EdgeConfig

__all__ = ["settle_answer"]


def settle_answer(
    settlement: Settlement,
    fleet: Fleet,
    config: EdgeConfig,
    plan: Plan,
    admission: Admission,
    opened: Opened,
    usage: Usage,
    *,
    holder: str,
    failure: GatewayError | None,
) -> None:
    candidate = opened.candidate
    provider, connection_id = candidate.step.provider, candidate.target.upstream.connection.id
    seat = opened.seat
    if seat is not None:
        settlement.add(lambda batch, _: fleet.semaphore.release(batch, seat, holder))
    if usage.reported:
        actual = usage.input_tokens + usage.output_tokens
        settlement.charge_tokens(admission.limits_named, plan.estimated_tokens, actual)
        settlement.charge_tokens(opened.token_limits, plan.estimated_tokens, actual)
    if failure is not None:
        if effect_of(failure) == "breaker":
            policy = breaker_policy(config.resilience)
            settlement.add(lambda batch, _: fleet.breaker.fail(batch, provider, policy, False))
        return
    if _counted_failures(provider, admission, opened) and not opened.probe:
        settlement.add(lambda batch, _: fleet.breaker.succeed(batch, provider, False))
    session_key = plan.session_key
    if session_key is not None and admission.availability.session_connection != connection_id:
        ttl = config.resilience.session_ttl_ms
        settlement.add(lambda batch, _: fleet.sessions.pin(batch, session_key, connection_id, ttl))
    _record_signals(settlement, fleet, plan, opened, (candidate.step.key, f"conn:{connection_id}"))


def _counted_failures(provider: str, admission: Admission, opened: Opened) -> bool:
    """Whether the provider's breaker may hold failures: seen at admission, or counted by this very
    request before another of the provider's connections answered."""
    if provider in admission.availability.failing:
        return True
    return any(
        attempt.provider == provider and attempt.error is not None and effect_of(attempt.error) == "breaker"
        for attempt in opened.attempts
    )


def _record_signals(settlement: Settlement, fleet: Fleet, plan: Plan, opened: Opened, names: tuple[str, ...]) -> None:
    elapsed = opened.first_byte_ms
    for name in names:
        if name in plan.needs.uses:
            settlement.add(partial(_bump, fleet, use_counter(name)))
        if name in plan.needs.latencies:
            settlement.add(partial(_record_latency, fleet, name, elapsed))


def _bump(fleet: Fleet, counter: str, batch: Batch, _: bool) -> object:
    return fleet.stats.bump(batch, counter)


def _record_latency(fleet: Fleet, target: str, elapsed_ms: float, batch: Batch, _: bool) -> object:
    return fleet.stats.record_latency(batch, target, elapsed_ms)
