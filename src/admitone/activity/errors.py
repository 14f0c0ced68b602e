"""Refusals of the activity log. They are programming errors, not answers to a client: strict
mode (the tests) raises them, run time logs them and carries on (see ``service.record``)."""

from __future__ import annotations


class ActivityRefused(ValueError):
    pass


class InvalidActivityAction(ActivityRefused):
    """The action is not named ``<module>.<resource>_<verb>`` (or the resource type is bad)."""


class UnsafeActivityMetadata(ActivityRefused):
    """A metadata key is not on the allow-list or its value is not of the key's kind."""

    def __init__(self, key: str, reason: str) -> None:
        # The value itself is never repeated here: it may be the very PII being refused.
        super().__init__(f"activity metadata {key!r} refused: {reason}")
        self.key = key
        self.reason = reason
