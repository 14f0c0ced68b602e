"""Workers: ``drain`` runs due jobs in the caller (tests, CLI); ``Worker`` is the long-running
process loop of ``admitone worker`` and of the in-process worker of ``admitone serve``."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta

from admitone.jobs import claims, listener, registry, service, telemetry, wakeups
from admitone.jobs.cron import CronScheduler
from admitone.jobs.runner import run_claim
from admitone.jobs.runtime import JobRuntime

_ALL_QUEUES = "*"
_PRUNE_EVERY_SECONDS = 600.0
_DEFAULT_SHUTDOWN_GRACE = 10.0
_DoneCallback = Callable[["asyncio.Task[str]"], None]


def load_job_modules(modules: Iterable[str]) -> None:
    """Import extra handler modules named in settings (``ADMITONE_JOB_MODULES``): plug-ins and
    the test suite's handlers, which the wiring module does not know about."""
    for name in modules:
        importlib.import_module(name)


async def drain(
    runtime: JobRuntime, *, queues: Sequence[str] | None = None, max_jobs: int = 1000
) -> int:
    """Run every job due now by ``runtime.clock``, one at a time; returns how many ran."""
    worker_id = claims.worker_identity("drain")
    ran = 0
    while ran < max_jobs:
        batch = await claims.claim(
            runtime, queues=queues, kinds=registry.handlers(), worker_id=worker_id, limit=1
        )
        if not batch:
            break
        await run_claim(runtime, batch[0])
        ran += 1
    return ran


async def prune(runtime: JobRuntime) -> int:
    """Delete completed and cancelled jobs older than ``job_retention_hours``."""
    cutoff = runtime.clock.now() - timedelta(hours=runtime.settings.job_retention_hours)
    total = 0
    while True:
        async with runtime.unit_of_work() as uow:
            deleted = await service.prune(uow, finished_before=cutoff)
        total += deleted
        if deleted == 0:
            return total


class Worker:
    """Claims and runs jobs of the given queues, each up to its concurrency, until stopped.

    Waits are wall-clock (``job_poll_interval_seconds``), woken early by NOTIFY on PostgreSQL
    and by in-process enqueues; which jobs are due is always decided by the injected clock.
    """

    def __init__(
        self,
        runtime: JobRuntime,
        queues: Mapping[str, int] | None = None,
        *,
        run_cron: bool = True,
        shutdown_grace: float = _DEFAULT_SHUTDOWN_GRACE,
    ) -> None:
        self.runtime = runtime
        self.queues = dict(queues if queues is not None else runtime.settings.worker_queues)
        if any(concurrency < 1 for concurrency in self.queues.values()):
            raise ValueError("every queue needs a concurrency of at least 1")
        self.worker_id = claims.worker_identity()
        self.run_cron = run_cron
        self.shutdown_grace = shutdown_grace
        self.listening = asyncio.Event()
        self._wake = {queue: asyncio.Event() for queue in self.queues}
        self._running: dict[str, set[asyncio.Task[str]]] = {queue: set() for queue in self.queues}
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        load_job_modules(self.runtime.settings.job_modules)
        self._warn_unserved_kinds()
        wakeups.subscribe_local(self._on_wake)
        for queue in self.queues:
            self._loops.append(asyncio.create_task(self._queue_loop(queue), name=f"jobs:{queue}"))
        if not self.runtime.database.is_sqlite:
            self._loops.append(
                asyncio.create_task(
                    listener.listen(
                        self.runtime.settings.database_url, self._on_wake, ready=self.listening
                    ),
                    name="jobs:listen",
                )
            )
        if self.run_cron:
            self._loops.append(asyncio.create_task(self._cron_loop(), name="jobs:cron"))
        self._loops.append(asyncio.create_task(self._prune_loop(), name="jobs:prune"))
        telemetry.log.info("worker_started", worker_id=self.worker_id, queues=self.queues)

    async def stop(self) -> None:
        """Stop claiming, let running jobs finish within the grace period, hand back the rest."""
        self._stopping = True
        wakeups.unsubscribe_local(self._on_wake)
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
        running = {task for tasks in self._running.values() for task in tasks}
        if running:
            _, pending = await asyncio.wait(running, timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        telemetry.log.info("worker_stopped", worker_id=self.worker_id)

    def _on_wake(self, queue: str) -> None:
        if queue == _ALL_QUEUES:
            for event in self._wake.values():
                event.set()
        elif queue in self._wake:
            self._wake[queue].set()

    def _warn_unserved_kinds(self) -> None:
        for spec in registry.handlers().values():
            if spec.queue not in self.queues:
                telemetry.log.warning(
                    "job_queue_not_served", kind=spec.kind, queue=spec.queue, worker=self.worker_id
                )

    async def _queue_loop(self, queue: str) -> None:
        wake, running = self._wake[queue], self._running[queue]
        concurrency = self.queues[queue]
        poll = self.runtime.settings.job_poll_interval_seconds
        while not self._stopping:
            wake.clear()
            free = concurrency - len(running)
            if free > 0:
                try:
                    batch = await claims.claim(
                        self.runtime,
                        queues=[queue],
                        kinds=registry.handlers(),
                        worker_id=self.worker_id,
                        limit=free,
                    )
                except Exception as exc:
                    telemetry.log.error(
                        "job_claim_failed", queue=queue, error=telemetry.describe_error(exc)
                    )
                    batch = []
                for claim in batch:
                    task = asyncio.create_task(run_claim(self.runtime, claim))
                    running.add(task)
                    task.add_done_callback(self._finished(queue))
                if len(batch) == free:
                    continue  # there may be more due: look again at once (or when a slot frees)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=poll)

    def _finished(self, queue: str) -> _DoneCallback:
        def done(task: asyncio.Task[str]) -> None:
            self._running[queue].discard(task)
            if not task.cancelled() and task.exception() is not None:
                telemetry.log.error(
                    "job_runner_crashed",
                    queue=queue,
                    error=telemetry.describe_error(task.exception() or Exception()),
                )
            self._wake[queue].set()

        return done

    async def _cron_loop(self) -> None:
        scheduler = CronScheduler(self.runtime)
        while True:
            try:
                await scheduler.tick()
            except Exception as exc:
                telemetry.log.error("cron_tick_failed", error=telemetry.describe_error(exc))
            await asyncio.sleep(self.runtime.settings.job_poll_interval_seconds)

    async def _prune_loop(self) -> None:
        while True:
            try:
                pruned = await prune(self.runtime)
                if pruned:
                    telemetry.log.info("jobs_pruned", count=pruned)
            except Exception as exc:
                telemetry.log.error("jobs_prune_failed", error=telemetry.describe_error(exc))
            await asyncio.sleep(_PRUNE_EVERY_SECONDS)
