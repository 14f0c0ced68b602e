"""Errors of the stream endpoint and the topic registry."""

from __future__ import annotations

from admitone.core.errors import InvalidInput, PermissionDenied


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
