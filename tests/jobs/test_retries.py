from __future__ import annotations

from datetime import timedelta

from admitone.core.clock import FrozenClock
from admitone.jobs.models import JobState
from admitone.jobs.registry import HandlerSpec
from admitone.jobs.telemetry import MAX_ERROR_LENGTH, describe_error
from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.jobs import handlers
from tests.jobs.support import enqueue, load


async def test_a_failing_job_is_retried_with_growing_backoff_until_it_succeeds(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.flaky", {"token": token, "fail_times": 3})

    # backoff_base 10 s: attempt n waits between half and all of 10 * 2**(n-1) seconds.
    for attempt, ceiling in ((1, 10), (2, 20), (3, 40)):
        failed_at = clock.now()
        assert await drain(runtime) == 1
        waiting = await load(runtime, job.id)
        assert waiting.state == JobState.RETRYABLE
        assert waiting.attempt == attempt
        assert waiting.last_error == f"RuntimeError: flaky failure {attempt}"
        delay = (waiting.run_at - failed_at).total_seconds()
        assert ceiling / 2 <= delay <= ceiling
        clock.set(waiting.run_at - timedelta(microseconds=1))
        assert await drain(runtime) == 0, "ran before its backoff passed"
        clock.set(waiting.run_at)

    assert await drain(runtime) == 1
    done = await load(runtime, job.id)
    assert (done.state, done.attempt) == (JobState.COMPLETED, 4)
    assert [ctx.attempt for ctx in handlers.RUNS[token]] == [1, 2, 3, 4]


def test_backoff_is_capped_and_jittered() -> None:
    spec = HandlerSpec("k", handlers.record, "q", 30, backoff_base=1.0, backoff_cap=60.0)
    delays = [spec.backoff_seconds(attempt) for attempt in range(1, 31) for _ in range(20)]
    assert all(0.5 <= d <= 60.0 for d in delays)
    late = [spec.backoff_seconds(25) for _ in range(200)]
    assert all(30.0 <= d <= 60.0 for d in late)
    assert len(set(late)) > 100, "no jitter: a burst of failures would retry in lockstep"


async def test_an_exhausted_job_is_dead_with_its_last_error_and_no_secret(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    handlers.FAILING.add(token)
    job = await enqueue(runtime, "test_jobs.breakable", {"token": token})

    for _ in range(3):
        assert await drain(runtime) == 1
        clock.advance(seconds=1)
    assert await drain(runtime) == 0

    dead = await load(runtime, job.id)
    assert (dead.state, dead.attempt, dead.max_attempts) == (JobState.DEAD, 3, 3)
    assert dead.last_error == "ConnectionError: smtp://***@mail.example.com refused us"
    assert dead.finished_at is not None
    assert len(handlers.RUNS[token]) == 3


async def test_a_permanent_failure_goes_straight_to_dead(runtime: Runtime) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.permanent", {"token": token})

    assert await drain(runtime) == 1
    dead = await load(runtime, job.id)
    assert (dead.state, dead.attempt, dead.max_attempts) == (JobState.DEAD, 1, 20)
    assert dead.last_error is not None
    assert "no longer exists" in dead.last_error


def test_a_stored_error_is_truncated_and_masks_credentials() -> None:
    assert len(describe_error(RuntimeError("x" * 10_000))) == MAX_ERROR_LENGTH
    masked = describe_error(ValueError("login failed: password=hunter2 token: abc.def"))
    assert "hunter2" not in masked
    assert "abc.def" not in masked
