"""Every domain's models, imported so that ``Base.metadata`` describes the whole schema
(Alembic autogenerate, the start-up check and the test databases read it)."""

from admitone.accounts import models as accounts_models
from admitone.activity import models as activity_models
from admitone.billing import models as billing_models
from admitone.core.orm import Base
from admitone.events import models as events_models
from admitone.jobs import models as jobs_models
from admitone.ledger import models as ledger_models
from admitone.notifications import models as notifications_models
from admitone.payments import models as payments_models
from admitone.posts import models as posts_models
from admitone.shop import models as shop_models
from admitone.support import models as support_models
from admitone.ticketing import models as ticketing_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "activity_models",
    "billing_models",
    "events_models",
    "jobs_models",
    "ledger_models",
    "metadata",
    "notifications_models",
    "payments_models",
    "posts_models",
    "shop_models",
    "support_models",
    "ticketing_models",
]
