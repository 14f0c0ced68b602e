"""What posts register with the rest of the process at import time (``admitone.wiring``): the
posts created from an event go with its deletion, in the deletion's transaction, and their
coupons with them (events cannot import posts: that would be a cycle)."""

from __future__ import annotations

from admitone.events import service as events_service
from admitone.posts import erasure  # noqa: F401  (its personal data claim)
from admitone.posts.posts import delete_posts_of_event

events_service.register_delete_step(delete_posts_of_event)
