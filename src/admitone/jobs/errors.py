"""Errors of the job system: what handlers raise, and what the admin API answers."""

from __future__ import annotations

from admitone.core.errors import Conflict, NotFound


class PermanentJobFailure(Exception):
    """Raised by a handler when no retry can succeed: the job goes straight to dead."""


class UnknownJobKind(LookupError):
    """A job of a kind no handler is registered for: a typo or a module missing from wiring."""


class JobNotFound(NotFound):
    default_message = "No such job."


class JobNotRetryable(Conflict):
    code = "job_not_retryable"
    default_message = "Only a dead, cancelled or waiting job can be retried."


class JobNotCancellable(Conflict):
    code = "job_not_cancellable"
    default_message = "Only a waiting, running or dead job can be cancelled."


class DuplicateLiveJob(Conflict):
    code = "duplicate_live_job"
    default_message = "A live job with the same unique key exists."
