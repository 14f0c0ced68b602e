"""Imports every domain module that registers something at import time (job handlers, cron
entries, pub/sub topics), so that a process sees them all. The composition root imports it."""

from admitone.accounts import topics as accounts_topics  # noqa: F401
from admitone.billing import registrations as billing_registrations  # noqa: F401
from admitone.events import jobs as events_jobs  # noqa: F401
from admitone.events import topics as events_topics  # noqa: F401
from admitone.notifications import jobs as notifications_jobs  # noqa: F401
from admitone.payment_settlement import jobs as payment_settlement_jobs  # noqa: F401
from admitone.posts import registrations as posts_registrations  # noqa: F401
from admitone.shop import registrations as shop_registrations  # noqa: F401
from admitone.support import topics as support_topics  # noqa: F401
from admitone.ticketing import registrations as ticketing_registrations  # noqa: F401
