"""Imports every domain module that registers something at import time (job handlers, cron
entries, pub/sub topics, personal data claims), so that a process sees them all. The
composition root imports it."""

from admitone.accounts import erasure as accounts_erasure  # noqa: F401
from admitone.accounts import topics as accounts_topics  # noqa: F401
from admitone.activity import erasure as activity_erasure  # noqa: F401
from admitone.billing import registrations as billing_registrations  # noqa: F401
from admitone.events import erasure as events_erasure  # noqa: F401
from admitone.events import jobs as events_jobs  # noqa: F401
from admitone.events import topics as events_topics  # noqa: F401
from admitone.jobs import erasure as jobs_erasure  # noqa: F401
from admitone.ledger import erasure as ledger_erasure  # noqa: F401
from admitone.notifications import erasure as notifications_erasure  # noqa: F401
from admitone.notifications import jobs as notifications_jobs  # noqa: F401
from admitone.payment_settlement import jobs as payment_settlement_jobs  # noqa: F401
from admitone.payments import erasure as payments_erasure  # noqa: F401
from admitone.posts import registrations as posts_registrations  # noqa: F401
from admitone.shop import registrations as shop_registrations  # noqa: F401
from admitone.support import erasure as support_erasure  # noqa: F401
from admitone.support import topics as support_topics  # noqa: F401
from admitone.ticketing import registrations as ticketing_registrations  # noqa: F401
