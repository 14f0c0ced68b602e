"""The admin API of the job table (owner/admin): look at jobs, re-run dead ones, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from admitone.http.deps import StaffUser, Uow
from admitone.http.params import Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.jobs import service
from admitone.jobs.models import JobState
from admitone.jobs.schemas import JobOut, JobPage

router = api_router(tags=["jobs"])


@router.get("/admin/jobs", responses=errors(401, 403, 422))
async def list_jobs(
    _: StaffUser,
    uow: Uow,
    *,
    state: JobState | None = None,
    queue: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")] = None,
    kind: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_.:-]{1,200}$", description="e.g. ticketing.expire_order"),
    ] = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> JobPage:
    page = await service.list_jobs(
        uow, state=state, queue=queue, kind=kind, limit=limit, cursor=cursor
    )
    return JobPage(
        data=[JobOut.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )


@router.get("/admin/jobs/{job_id}", responses=errors(401, 403, 404, 422))
async def get_job(job_id: uuid.UUID, _: StaffUser, uow: Uow) -> JobOut:
    return JobOut.model_validate(await service.get_job(uow, job_id))


@router.post("/admin/jobs/{job_id}/retry", responses=errors(401, 403, 404, 409, 422))
async def retry_job(job_id: uuid.UUID, _: StaffUser, uow: Uow) -> JobOut:
    return JobOut.model_validate(await service.retry_job(uow, job_id))


@router.post("/admin/jobs/{job_id}/cancel", responses=errors(401, 403, 404, 409, 422))
async def cancel_job(job_id: uuid.UUID, _: StaffUser, uow: Uow) -> JobOut:
    return JobOut.model_validate(await service.cancel_job(uow, job_id))
