"""Every domain's models, imported so that ``Base.metadata`` describes the whole schema
(Alembic autogenerate, the start-up check and the test databases read it)."""

from admitone.accounts import models as accounts_models
from admitone.core.orm import Base

metadata = Base.metadata

__all__ = ["accounts_models", "metadata"]
