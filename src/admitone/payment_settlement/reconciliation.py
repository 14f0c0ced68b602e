"""Reconciliation: ask the gateway about the orders whose payment we may have missed, and settle
them through the webhook's own path (``service.apply_charge``), so a lost webhook never leaves a
paid buyer without tickets, nor money kept for an order that expired.

One short read, then per order: the gateway call with no transaction open (rule 4), and one
short transaction to apply the answer. Bounded per run; the next run picks up the rest.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import structlog

from admitone.jobs.runtime import JobRuntime
from admitone.payment_settlement import service
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import Charge, PaymentGateway
from admitone.ticketing import service as ticketing_service

log = structlog.get_logger(__name__)

RECONCILE_JOB = "payments.reconcile"
# Younger than this, a payment may simply still be on its way (a buyer on a 3-D Secure page,
# a webhook in Stripe's queue): leave it to them.
GRACE = timedelta(minutes=10)
# Stripe retries a webhook for days, but a run an hour apart only needs to see each recently
# closed order a couple of times.
CLOSED_LOOKBACK = timedelta(hours=3)
BATCH = 200


async def reconcile(runtime: JobRuntime, *, limit: int = BATCH) -> Counter[str]:
    """One run; answers how many orders each effect had (paid, late_payment, failed, ...)."""
    now = runtime.clock.now()
    async with runtime.unit_of_work(readonly=True) as uow:
        candidates = await ticketing_service.to_reconcile(
            uow, settled_before=now - GRACE, closed_since=now - CLOSED_LOOKBACK, limit=limit
        )
    effects: Counter[str] = Counter()
    for candidate in candidates:
        charge = await _ask(runtime.gateway, candidate)
        if charge is None:
            effects["unknown"] += 1
            continue
        async with runtime.unit_of_work() as uow:
            effects[
                await service.apply_charge(uow, runtime.settings, candidate.order_id, charge)
            ] += 1
    if candidates:
        log.info("payments_reconciled", checked=len(candidates), **effects)
    return effects


async def _ask(gateway: PaymentGateway, candidate: ticketing_service.OrderPayment) -> Charge | None:
    try:
        if candidate.payment_reference is not None:
            return await gateway.retrieve_charge(candidate.payment_reference)
        return await gateway.find_charge(ticketing_service.charge_key(candidate.order_id))
    except GatewayError as exc:
        log.warning("reconcile_lookup_failed", order_id=str(candidate.order_id), reason=exc.code)
        return None
