"""What billing registers with the rest of the process at import time (``admitone.wiring``):
its job handlers, its pub/sub topics, its reaction to orders' changes, which ticketing runs
in the transaction of each change, the membership lookup of the purchase, the check of a
billing profile named at checkout, and the check of the plans a tier requires (ticketing and
events cannot import billing: that would be a cycle)."""

from __future__ import annotations

from admitone.billing import erasure, jobs, order_topics, subscription_events, topics
from admitone.billing.invoices import on_order_change, owns_profile
from admitone.billing.memberships import check_required_plans, member_plans
from admitone.events import service as events_service
from admitone.payments.subscriptions import register_subscription_handler
from admitone.ticketing import service as ticketing_service

ticketing_service.register_order_hook(on_order_change)
ticketing_service.register_order_hook(order_topics.on_order_change)
ticketing_service.register_membership_lookup(member_plans)
ticketing_service.register_billing_profile_check(owns_profile)
events_service.register_plan_check(check_required_plans)
register_subscription_handler(subscription_events.apply)

__all__ = ["erasure", "jobs", "order_topics", "subscription_events", "topics"]
