"""structlog configuration: JSON lines in production, readable console lines in development."""

from __future__ import annotations

import logging
import sys

import structlog

# Keys whose values never reach a log line, whoever passes them.
_SECRET_KEYS = frozenset(
    {"password", "token", "access_token", "refresh_token", "authorization", "secret", "card"}
)


def _drop_secrets(
    _: object, __: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    for key in _SECRET_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    # sys.stderr is looked up when a line is logged, not when logging is configured, so lines
    # follow a redirected stderr (the CLI under test, pytest's capture) instead of writing to a
    # stream that has since been closed.
    return structlog.PrintLogger(sys.stderr)


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
