"""Errors of the stream endpoint and the topic registry."""

from __future__ import annotations

from typing import Literal

from admitone.core.errors import InvalidInput, PermissionDenied, RateLimited


class TopicForbidden(PermissionDenied):
    code = "topic_forbidden"
    default_message = "You are not allowed to read this topic."

    def __init__(self, topic: str) -> None:
        super().__init__(
            f"You are not allowed to read the topic '{topic}'.", details={"topic": topic}
        )


class UnknownTopic(InvalidInput):
    code = "unknown_topic"
    default_message = "No such topic."

    def __init__(self, topic: str) -> None:
        super().__init__(f"No such topic: '{topic}'.", details={"topic": topic}, field="topics")


class TooManyTopics(InvalidInput):
    code = "too_many_topics"
    default_message = "Too many topics in one stream."

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A stream may follow at most {limit} topics.", details={"max": limit}, field="topics"
        )


class DuplicateTopic(ValueError):
    """Two domains declared the same topic shape: a programming error caught at import."""


class TooManyStreams(RateLimited):
    code = "too_many_streams"
    default_message = "Too many open streams."

    def __init__(self, cap: Literal["client", "process"], limit: int, retry_after: int) -> None:
        who = "this client" if cap == "client" else "this server"
        super().__init__(retry_after, f"{who.capitalize()} has {limit} streams open already.")
        self.details = {**self.details, "cap": cap, "limit": limit}
