"""Jobs are kept: their arguments are ids (an order, an invoice, a subscription), never a name
or an address, and a handler whose row was anonymised or deleted finds nothing left to do."""

from __future__ import annotations

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register


async def keep_jobs(_uow: UnitOfWork, _subject: Subject, _erasure: Erasure) -> None:
    return None


register("jobs", {"jobs", "job_cron_slots"}, keep_jobs)
