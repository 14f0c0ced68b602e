from __future__ import annotations

from admitone.app import create_app
from admitone.jobs.models import JobState
from admitone.runtime import Runtime
from tests.jobs import handlers
from tests.jobs.support import enqueue, eventually, load


async def test_the_app_runs_jobs_in_process_in_embedded_mode(runtime: Runtime) -> None:
    runtime.settings.run_worker_in_process = True
    runtime.settings.worker_queues = {"test_local": 1}
    runtime.settings.job_poll_interval_seconds = 60.0
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        token = handlers.token()
        job = await enqueue(runtime, "test_jobs.record", {"token": token})

        async def completed() -> bool:
            return (await load(runtime, job.id)).state == JobState.COMPLETED

        await eventually(completed, within=20, what="the in-process worker to run the job")
    assert len(handlers.RUNS[token]) == 1
