from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from admitone.jobs.models import JobState


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    queue: str
    kind: str
    args: dict[str, Any]
    state: JobState
    attempt: int
    max_attempts: int
    run_at: datetime
    locked_by: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    unique_key: str | None
    created_at: datetime
    finished_at: datetime | None


class JobPage(BaseModel):
    data: list[JobOut]
    next_cursor: str | None
