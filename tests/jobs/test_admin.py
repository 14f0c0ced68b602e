from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from typer.testing import CliRunner

from admitone.accounts.models import Role
from admitone.cli import app as cli_app
from admitone.core.clock import FrozenClock
from admitone.jobs.models import Job, JobState
from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.jobs import handlers
from tests.jobs.support import enqueue, load


async def _dead_job(runtime: Runtime, clock: FrozenClock, token: str) -> Job:
    handlers.FAILING.add(token)
    job = await enqueue(runtime, "test_jobs.breakable", {"token": token})
    for _ in range(3):
        await drain(runtime)
        clock.advance(seconds=1)
    assert (await load(runtime, job.id)).state == JobState.DEAD
    return job


async def test_staff_retry_a_dead_job_through_the_api_and_it_runs_again(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    token = handlers.token()
    job = await _dead_job(runtime, clock, token)

    listed = await client.get("/api/admin/jobs", params={"state": "dead"}, headers=headers)
    assert listed.status_code == 200
    [row] = listed.json()["data"]
    assert (row["id"], row["attempt"]) == (str(job.id), 3)
    assert row["last_error"].startswith("ConnectionError")

    handlers.FAILING.discard(token)  # the operator fixed the mail server
    retried = await client.post(f"/api/admin/jobs/{job.id}/retry", headers=headers)
    assert retried.status_code == 200
    assert retried.json()["state"] == "available"
    assert retried.json()["max_attempts"] == 4

    assert await drain(runtime) == 1
    done = await load(runtime, job.id)
    assert (done.state, done.attempt) == (JobState.COMPLETED, 4)
    again = await client.post(f"/api/admin/jobs/{job.id}/retry", headers=headers)
    assert again.status_code == 409
    assert again.json()["error"] == "job_not_retryable"


async def test_cancelling_a_waiting_job_means_it_never_runs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.record", {"token": token})

    cancelled = await client.post(f"/api/admin/jobs/{job.id}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert await drain(runtime) == 0
    assert handlers.RUNS[token] == []

    twice = await client.post(f"/api/admin/jobs/{job.id}/cancel", headers=headers)
    assert twice.status_code == 409
    assert twice.json()["error"] == "job_not_cancellable"


async def test_unknown_jobs_are_404_and_customers_are_403(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, staff = await auth_headers(client, runtime, Role.ADMIN)
    missing = await client.post(f"/api/admin/jobs/{uuid.uuid4()}/retry", headers=staff)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert (await client.get(f"/api/admin/jobs/{uuid.uuid4()}", headers=staff)).status_code == 404

    _, customer = await auth_headers(client, runtime, Role.CUSTOMER)
    assert (await client.get("/api/admin/jobs", headers=customer)).status_code == 403
    assert (await client.get("/api/admin/jobs")).status_code == 401


async def test_the_job_list_filters_and_pages_newest_first(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    ids = []
    for n in range(3):
        ids.append((await enqueue(runtime, "test_jobs.record", {"n": n})).id)
        clock.advance(seconds=1)
    await enqueue(runtime, "test_jobs.cron_daily", {})

    first = await client.get(
        "/api/admin/jobs", params={"kind": "test_jobs.record", "limit": 2}, headers=headers
    )
    body = first.json()
    assert [row["id"] for row in body["data"]] == [str(ids[2]), str(ids[1])]
    second = await client.get(
        "/api/admin/jobs",
        params={"kind": "test_jobs.record", "limit": 2, "cursor": body["next_cursor"]},
        headers=headers,
    )
    assert [row["id"] for row in second.json()["data"]] == [str(ids[0])]
    assert second.json()["next_cursor"] is None

    by_queue = await client.get("/api/admin/jobs", params={"queue": "default"}, headers=headers)
    assert [row["kind"] for row in by_queue.json()["data"]] == ["test_jobs.cron_daily"]
    bad = await client.get("/api/admin/jobs", params={"state": "asleep"}, headers=headers)
    assert bad.status_code == 422


async def test_an_operator_lists_retries_and_cancels_from_the_command_line(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    dead = await _dead_job(runtime, clock, token)
    waiting = await enqueue(runtime, "test_jobs.record", {})
    env = {
        "ADMITONE_DATABASE_URL": runtime.settings.database_url,
        "ADMITONE_SECRET_KEY": runtime.settings.secret_key,
        "ADMITONE_ENV": "test",
        "ADMITONE_LOG_LEVEL": "WARNING",
        "ADMITONE_WORKER_QUEUES": json.dumps({"default": 1}),
    }

    def cli(*args: str) -> str:
        result = CliRunner().invoke(cli_app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    listed = await asyncio.to_thread(cli, "jobs", "list", "--state", "dead")
    assert str(dead.id) in listed
    assert "ConnectionError" in listed
    assert str(waiting.id) not in listed

    handlers.FAILING.discard(token)
    assert "available" in await asyncio.to_thread(cli, "jobs", "retry", str(dead.id))
    assert "cancelled" in await asyncio.to_thread(cli, "jobs", "cancel", str(waiting.id))

    retried = await load(runtime, dead.id)
    assert (retried.state, retried.max_attempts) == (JobState.AVAILABLE, 4)
    # The CLI used the system clock; run the job when that moment has come for the test clock.
    clock.set(max(clock.now(), retried.run_at))
    assert await drain(runtime) == 1
    assert (await load(runtime, dead.id)).state == JobState.COMPLETED
    assert (await load(runtime, waiting.id)).state == JobState.CANCELLED

    missing = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["jobs", "retry", str(uuid.uuid4())], env=env
    )
    assert missing.exit_code == 2
