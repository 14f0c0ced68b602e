"""What the books say: an event's result per currency, and the trial balance."""

from __future__ import annotations

from admitone.ledger import service as ledger
from admitone.ledger.service import Movement
from admitone.runtime import Runtime
from tests.ledger.conftest import Sale, record


async def _sell_one_event(runtime: Runtime) -> Sale:
    sale = Sale()
    second = sale.another_order()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")
    await record(runtime, Movement.PAYMENT_CAPTURED, second, 5000, "pi_2")
    await record(runtime, Movement.PROCESSING_FEE, second, 175, "txn_2")
    await record(runtime, Movement.REFUND, second, 5000, "re_2")
    await record(runtime, Movement.LATE_PAYMENT, sale.another_order(), 3000, "pi_3")
    euros = Sale(sale.organizer_id, sale.event_id, sale.order_id, "EUR")
    await record(runtime, Movement.PAYMENT_CAPTURED, euros, 2000, "pi_4")
    return sale


async def test_an_events_summary_shows_revenue_fees_refunds_and_net_per_currency(
    runtime: Runtime,
) -> None:
    sale = await _sell_one_event(runtime)
    async with runtime.unit_of_work(readonly=True) as uow:
        summary = await ledger.event_summary(uow, sale.event_id)

    eur, usd = summary.currencies
    assert (usd.currency, usd.revenue, usd.fees, usd.refunds, usd.net) == (
        "USD",
        10000,
        350,
        5000,
        4650,
    )
    assert usd.refund_liability == 3000
    assert (eur.currency, eur.revenue, eur.fees, eur.refunds, eur.net) == ("EUR", 2000, 0, 0, 2000)


async def test_an_event_summary_is_scoped_to_its_organizers_books(runtime: Runtime) -> None:
    sale = await _sell_one_event(runtime)
    async with runtime.unit_of_work(readonly=True) as uow:
        foreign = await ledger.event_summary(uow, sale.event_id, organizer_id=Sale().organizer_id)
        unknown = await ledger.event_summary(uow, Sale().event_id)
    assert foreign.currencies == []
    assert unknown.currencies == []


async def test_the_trial_balance_lists_every_account_and_its_debits_equal_its_credits(
    runtime: Runtime,
) -> None:
    sale = await _sell_one_event(runtime)
    other = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, other, 1200, "pi_other")
    await record(runtime, Movement.LATE_PAYMENT, other.another_order(), 800, "pi_other_late")
    await record(
        runtime, Movement.LATE_PAYMENT_REFUNDED, other.another_order(), 800, "re_other_late"
    )

    async with runtime.unit_of_work(readonly=True) as uow:
        trial = await ledger.trial_balance(uow)
        mine = await ledger.trial_balance(uow, organizer_id=sale.organizer_id, currency="usd")

    assert trial.balanced
    assert trial.unbalanced_books == []
    assert [(t.currency, t.debits, t.credits) for t in trial.totals] == [
        ("EUR", 2000, 2000),
        ("USD", 18350 + 2800, 18350 + 2800),  # each entry counts once per side
    ]
    balances = {(r.code, r.debits, r.credits, r.balance) for r in mine.rows}
    assert balances == {
        ("gateway_balance", 13000, 5350, 7650),
        ("ticket_revenue", 0, 10000, 10000),
        ("processing_fees", 350, 0, 350),
        ("refunds", 5000, 0, 5000),
        ("refund_liability", 0, 3000, 3000),
    }
    assert {r.account_type for r in mine.rows} == {
        "asset",
        "revenue",
        "expense",
        "contra_revenue",
        "liability",
    }
    assert all(r.event_id == sale.event_id for r in mine.rows if r.code != "gateway_balance")


async def test_the_gateway_balance_is_what_the_gateway_should_hold_for_the_organizer(
    runtime: Runtime,
) -> None:
    sale = await _sell_one_event(runtime)
    async with runtime.unit_of_work(readonly=True) as uow:
        usd = await ledger.gateway_balance(uow, sale.organizer_id, "USD")
        eur = await ledger.gateway_balance(uow, sale.organizer_id, "EUR")
        nothing = await ledger.gateway_balance(uow, sale.organizer_id, "JPY")
    # 10000 captured - 350 fees - 5000 refunded + 3000 paid late and not yet given back
    assert (usd, eur, nothing) == (7650, 2000, 0)
