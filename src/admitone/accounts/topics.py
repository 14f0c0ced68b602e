"""Pub/sub topics of accounts, and the messages sent on them."""

from __future__ import annotations

from admitone.realtime.topics import staff, topic

USERS = topic(
    "accounts:users", staff(), "Changes to user accounts (roles, deletions), for the admin UI."
)

# payload: {"user_id", "old_role", "role", "changed_by"}
USER_ROLE_CHANGED = "user_role_changed"

# payload: {"user_id", "deleted_by"}
USER_DELETED = "user_deleted"
