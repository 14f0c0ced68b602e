"""``admitone worker`` and ``admitone jobs list|retry|cancel|drain``."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

import admitone.wiring  # noqa: F401 - registers every domain's job handlers and cron entries
from admitone import schema
from admitone.config import ConfigurationError, Settings, load_settings
from admitone.core.errors import DomainError
from admitone.core.logs import configure_logging
from admitone.jobs import service
from admitone.jobs.models import Job, JobState
from admitone.jobs.worker import Worker, drain, load_job_modules
from admitone.runtime import Runtime

T = TypeVar("T")
jobs_app = typer.Typer(help="Inspect, re-run and cancel background jobs.", no_args_is_help=True)

QueueOption = Annotated[
    list[str] | None,
    typer.Option(
        "--queue",
        "-q",
        help="NAME or NAME=CONCURRENCY; repeat for several. Default: ADMITONE_WORKER_QUEUES.",
    ),
]


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    configure_logging(json=settings.json_logs, level=settings.log_level)
    return settings


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def run() -> T:
        runtime = Runtime.build(settings)
        try:
            await schema.ensure_current(runtime.database, auto_migrate=settings.should_auto_migrate)
            await runtime.start()
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


def parse_queues(options: list[str] | None, configured: dict[str, int]) -> dict[str, int]:
    if not options:
        return dict(configured)
    queues: dict[str, int] = {}
    for option in options:
        name, _, concurrency = option.partition("=")
        try:
            queues[name] = int(concurrency) if concurrency else configured.get(name, 1)
        except ValueError as exc:
            raise typer.BadParameter(f"{option!r} is not NAME or NAME=CONCURRENCY") from exc
        if queues[name] < 1:
            raise typer.BadParameter(f"the concurrency of {name!r} must be at least 1")
    return queues


def worker(queue: QueueOption = None) -> None:
    """Run jobs until SIGTERM or Ctrl-C; running jobs get a grace period to finish."""
    settings = _settings()
    queues = parse_queues(queue, settings.worker_queues)

    async def work(runtime: Runtime) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        running = Worker(runtime, queues)
        await running.start()
        try:
            await stop.wait()
        finally:
            await running.stop()

    _run(settings, work)


@jobs_app.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option()] = None,
    queue: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """List jobs, newest first (e.g. --state dead)."""
    settings = _settings()

    async def work(runtime: Runtime) -> list[Job]:
        async with runtime.unit_of_work(readonly=True) as uow:
            page = await service.list_jobs(uow, state=state, queue=queue, kind=kind, limit=limit)
        return page.items

    for job in _run(settings, work):
        typer.echo(_describe(job))


@jobs_app.command()
def retry(job_id: uuid.UUID) -> None:
    """Run a dead, cancelled or waiting job now."""
    settings = _settings()

    async def work(runtime: Runtime) -> Job:
        async with runtime.unit_of_work() as uow:
            return await service.retry_job(uow, job_id)

    typer.echo(_describe(_run(settings, work)))


@jobs_app.command()
def cancel(job_id: uuid.UUID) -> None:
    """Cancel a waiting, running or dead job."""
    settings = _settings()

    async def work(runtime: Runtime) -> Job:
        async with runtime.unit_of_work() as uow:
            return await service.cancel_job(uow, job_id)

    typer.echo(_describe(_run(settings, work)))


@jobs_app.command("drain")
def drain_command(queue: QueueOption = None) -> None:
    """Run every job due now in this process, then exit."""
    settings = _settings()
    queues = list(parse_queues(queue, settings.worker_queues)) if queue else None

    async def work(runtime: Runtime) -> int:
        load_job_modules(settings.job_modules)
        return await drain(runtime, queues=queues)

    typer.echo(f"ran {_run(settings, work)} job(s)")


def _describe(job: Job) -> str:
    line = (
        f"{job.id}  {job.state:<9}  {job.queue:<10}  {job.kind}  "
        f"attempt {job.attempt}/{job.max_attempts}  run_at {job.run_at.isoformat()}"
    )
    return f"{line}\n    last error: {job.last_error}" if job.last_error else line
