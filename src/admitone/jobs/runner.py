"""Running one claimed job: the handler in its own task, its lease renewed while it runs, and
the outcome recorded afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import time

from admitone.core.actor import SYSTEM, acting_as
from admitone.jobs import claims, registry, telemetry
from admitone.jobs.claims import Claim
from admitone.jobs.errors import PermanentJobFailure, UnknownJobKind
from admitone.jobs.registry import HandlerSpec, JobContext
from admitone.jobs.runtime import JobRuntime

_LOST = "lost"


async def run_claim(
    runtime: JobRuntime, claim: Claim, *, heartbeat_every: float | None = None
) -> str:
    """Run ``claim`` to an outcome: "completed", "retried", "dead", "lost" (cancelled or taken
    over meanwhile). Cancelling the caller hands the job back ("released") and re-raises."""
    interval = heartbeat_every or runtime.settings.job_lease_seconds / 3
    telemetry.job_started(claim.job_id, claim.kind, claim.queue, claim.attempt)
    started = time.perf_counter()
    spec = registry.get_handler(claim.kind)
    handler = asyncio.create_task(_call(runtime, claim, spec))
    keeper = asyncio.create_task(_keep_lease(runtime, claim, interval, handler))
    error: str | None = None
    try:
        try:
            await handler
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            handler.cancel()
            await asyncio.gather(handler, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.shield(claims.release(runtime, claim))
            _finished(claim, "released", started)
            raise
        outcome = _LOST  # the lease keeper stopped the handler: the job is no longer ours
    except Exception as exc:
        error = telemetry.describe_error(exc)
        retry_in = spec.backoff_seconds(claim.attempt) if spec is not None else 60.0
        outcome = await claims.fail(
            runtime,
            claim,
            error,
            permanent=isinstance(exc, PermanentJobFailure),
            retry_in=retry_in,
        )
    else:
        outcome = "completed" if await claims.complete(runtime, claim) else _LOST
    _finished(claim, outcome, started, error)
    return outcome


def _finished(claim: Claim, outcome: str, started: float, error: str | None = None) -> None:
    telemetry.job_finished(
        claim.job_id,
        claim.kind,
        attempt=claim.attempt,
        outcome=outcome,
        duration=time.perf_counter() - started,
        error=error,
    )


async def _call(runtime: JobRuntime, claim: Claim, spec: HandlerSpec | None) -> None:
    if spec is None:
        raise UnknownJobKind(f"no handler is registered for job kind {claim.kind!r}")
    context = JobContext(
        job_id=claim.job_id,
        kind=claim.kind,
        attempt=claim.attempt,
        max_attempts=claim.max_attempts,
        args=dict(claim.args),
        runtime=runtime,
    )
    with acting_as(SYSTEM):
        await spec.handler(context)


async def _keep_lease(
    runtime: JobRuntime,
    claim: Claim,
    interval: float,
    handler: asyncio.Task[None],
) -> None:
    while not handler.done():
        await asyncio.sleep(interval)
        try:
            still_ours = await claims.extend_lease(runtime, claim)
        except Exception:
            # A database blip: keep the handler going and try again; the lease has slack.
            telemetry.log.warning("job_lease_renewal_failed", job_id=str(claim.job_id))
            continue
        if not still_ours:
            telemetry.log.warning("job_lease_lost", job_id=str(claim.job_id), kind=claim.kind)
            handler.cancel()
            return
