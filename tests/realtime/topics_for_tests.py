"""Topics only the realtime tests publish on, declared the way a domain's ``topics.py`` does."""

from __future__ import annotations

from admitone.realtime.topics import owner_or_staff, public, staff, topic

NEWS = topic("testing:news", public(), "Anyone may read.")
USER = topic("testing:user:{user_id}", owner_or_staff(), "One user, and staff.")
STAFF = topic("testing:staff", staff(), "Owners and admins.")
