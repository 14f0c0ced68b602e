"""One log line per job start and end, and Prometheus metrics per kind and outcome."""

from __future__ import annotations

import re
import uuid

import structlog
from prometheus_client import Counter, Histogram

log = structlog.get_logger("admitone.jobs")

JOBS_TOTAL = Counter(
    "admitone_jobs_total",
    "Job runs by kind and outcome (completed, retried, dead, lost, released).",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "admitone_job_duration_seconds",
    "Wall time of job handlers by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)

MAX_ERROR_LENGTH = 2000
# Credentials that drivers and HTTP clients like to echo in their messages.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s:]+:[^/@\s]+@")
_SECRET_PAIRS = re.compile(
    r"(?P<key>password|passwd|secret|token|api[_-]?key|authorization)(?P<sep>\s*[=:]\s*)\S+",
    re.IGNORECASE,
)


def describe_error(exc: BaseException) -> str:
    """The type and message of ``exc``, credentials masked and length capped: it is stored and
    shown to staff, so it must never carry a secret or grow without bound."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    text = _SECRET_PAIRS.sub(r"\g<key>\g<sep>***", text)
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def job_started(job_id: uuid.UUID, kind: str, queue: str, attempt: int) -> None:
    log.info("job_started", job_id=str(job_id), kind=kind, queue=queue, attempt=attempt)


def job_finished(
    job_id: uuid.UUID,
    kind: str,
    *,
    attempt: int,
    outcome: str,
    duration: float,
    error: str | None = None,
) -> None:
    JOBS_TOTAL.labels(kind=kind, outcome=outcome).inc()
    JOB_DURATION.labels(kind=kind).observe(duration)
    fields = {
        "job_id": str(job_id),
        "kind": kind,
        "attempt": attempt,
        "outcome": outcome,
        "duration_ms": round(duration * 1000, 1),
    }
    if outcome == "completed":
        log.info("job_finished", **fields)
    elif outcome == "released":
        log.info("job_released", **fields)
    elif outcome == "retried":
        log.warning("job_failed", error=error, **fields)
    else:
        log.error("job_failed", error=error, **fields)


def job_buried(job_id: uuid.UUID, kind: str, attempt: int) -> None:
    JOBS_TOTAL.labels(kind=kind, outcome="dead").inc()
    log.error("job_lease_expired_without_attempts", job_id=str(job_id), kind=kind, attempt=attempt)
