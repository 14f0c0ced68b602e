"""A deleted account's support requests stay for the desk's records, naming no one: the link to
the account goes, the person's name and address are cut from the text, and the internal notes
the desk wrote about them are deleted. Their replies stay as ``author_deleted``."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register
from admitone.support.models import SupportComment, SupportRequest

REDACTED = "[deleted]"


def _scrubbed(column: InstrumentedAttribute[str], subject: Subject) -> ColumnElement[str]:
    scrubbed: ColumnElement[str] = column.expression
    for value in (subject.email, subject.name):
        if value.strip():
            scrubbed = func.replace(scrubbed, value, REDACTED)
    return scrubbed


async def erase_requests(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    theirs = select(SupportRequest.id).where(SupportRequest.requester_id == subject.user_id)
    notes = await uow.session.execute(
        delete(SupportComment)
        .where(SupportComment.request_id.in_(theirs.scalar_subquery()))
        .where(SupportComment.internal)
        .execution_options(synchronize_session=False)
    )
    # Replies to their requests may quote them, whoever wrote them.
    await uow.session.execute(
        update(SupportComment)
        .where(SupportComment.request_id.in_(theirs.scalar_subquery()))
        .values(body=_scrubbed(SupportComment.body, subject))
        .execution_options(synchronize_session=False)
    )
    comments = await uow.session.execute(
        update(SupportComment)
        .where(SupportComment.author_id == subject.user_id)
        .values(author_id=None, author_deleted=True, body=_scrubbed(SupportComment.body, subject))
        .execution_options(synchronize_session=False)
    )
    requests = await uow.session.execute(
        update(SupportRequest)
        .where(SupportRequest.requester_id == subject.user_id)
        .values(
            requester_id=None,
            subject=_scrubbed(SupportRequest.subject, subject),
            body=_scrubbed(SupportRequest.body, subject),
            updated_at=uow.clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.deleted, "support_internal_notes", notes.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.anonymised, "support_comments", comments.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.anonymised, "support_requests", requests.rowcount)  # type: ignore[attr-defined]


register("support", {"support_requests", "support_comments"}, erase_requests)
