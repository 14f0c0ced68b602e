"""A taxed order's payment and any series of partial refunds: the books balance after each,
tax owed and product revenue never go below zero, and refunding all of it leaves each account
exactly where it started."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admitone.ledger import service as ledger
from admitone.ledger.chart import AccountCode
from admitone.runtime import Runtime
from admitone.ticketing import books
from admitone.ticketing.models import Order, OrderLine
from tests.ledger.conftest import Sale
from tests.shop.test_checkout import revenue


def _order(tickets: int, products: int, tax: int) -> Order:
    order = Order(total_amount=tickets + products + tax, refunded_amount=0, tax_total=tax)
    order.lines = [
        OrderLine(tier_id=uuid.uuid4(), quantity=1, unit_price=tickets, net=tickets),
        OrderLine(product_id=uuid.uuid4(), quantity=1, unit_price=products, net=products),
    ]
    return order


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tickets=st.integers(0, 50_000),
    products=st.integers(0, 50_000),
    tax=st.integers(0, 20_000),
    cuts=st.lists(st.floats(0.01, 0.99), max_size=4),
)
async def test_partial_refunds_of_a_taxed_payment_never_overshoot_and_a_full_one_clears_it(
    runtime: Runtime, tickets: int, products: int, tax: int, cuts: list[float]
) -> None:
    order = _order(tickets, products, tax)
    total = order.total_amount
    if total == 0:
        return
    sale = Sale()
    payment = books._payment_shares(order, total)
    async with runtime.unit_of_work() as uow:
        await ledger.post(
            uow,
            ledger.Movement.PAYMENT_CAPTURED,
            [
                replace(
                    sale.transfer(total, f"pi_{uuid.uuid4().hex}"),
                    products=payment["products"],
                    tax=payment["tax"],
                )
            ],
        )
    refunds = sorted({max(1, int(total * cut)) for cut in cuts} | {total})
    for n, upto in enumerate(refunds):
        amount = upto - order.refunded_amount
        if amount <= 0:
            continue
        shares = books._refund_shares(order, amount)
        async with runtime.unit_of_work() as uow:
            await ledger.post(
                uow,
                ledger.Movement.REFUND,
                [
                    replace(
                        sale.transfer(amount, f"re_{n}_{uuid.uuid4().hex}"),
                        products=shares["products"],
                        tax=shares["tax"],
                    )
                ],
            )
            trial = await ledger.trial_balance(uow, organizer_id=sale.organizer_id)
        assert trial.balanced, trial.unbalanced_books
        order.refunded_amount += amount
        accounts = await revenue(runtime, sale.event_id)
        assert accounts.get(AccountCode.TAX_PAYABLE, 0) <= 0  # credit-normal: never owed back
        assert accounts.get(AccountCode.PRODUCT_REVENUE, 0) <= 0

    accounts = await revenue(runtime, sale.event_id)
    assert accounts.get(AccountCode.TAX_PAYABLE, 0) == 0
    assert accounts.get(AccountCode.PRODUCT_REVENUE, 0) == 0
    assert accounts.get(AccountCode.REFUNDS, 0) == -accounts.get(AccountCode.TICKET_REVENUE, 0)
    assert accounts.get(AccountCode.REFUNDS, 0) == tickets
