"""Whatever happens, in whatever order, replays included: every organizer's books balance, and
the gateway balance is what the money movements say it should be, computed independently."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admitone.ledger import service as ledger
from admitone.runtime import Runtime
from tests.ledger.conftest import Sale, record

MOVEMENTS = {
    "capture": ledger.Movement.PAYMENT_CAPTURED,
    "fee": ledger.Movement.PROCESSING_FEE,
    "refund": ledger.Movement.REFUND,
    "late_payment": ledger.Movement.LATE_PAYMENT,
    "late_refund": ledger.Movement.LATE_PAYMENT_REFUNDED,
}
# How each movement changes what the gateway holds for the organizer.
GATEWAY_SIGN = {"capture": 1, "fee": -1, "refund": -1, "late_payment": 1, "late_refund": -1}
CURRENCIES = ("USD", "EUR", "JPY")


@dataclass(frozen=True)
class Step:
    movement: str
    organizer: int
    currency: str
    amount: int
    replay_of: int | None  # index of an earlier step whose webhook arrives again


steps = st.lists(
    st.builds(
        Step,
        movement=st.sampled_from(sorted(MOVEMENTS)),
        organizer=st.integers(0, 2),
        currency=st.sampled_from(CURRENCIES),
        amount=st.integers(1, 500_000),
        replay_of=st.none() | st.integers(0, 40),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_every_organizers_books_balance_and_match_the_gateway(
    runtime: Runtime, steps: list[Step]
) -> None:
    # Fresh organizers per example: examples share the test's database but never its books.
    organizers = [uuid.uuid4() for _ in range(3)]
    events = [uuid.uuid4() for _ in range(3)]
    done: list[tuple[str, Sale, int, str]] = []
    expected_gateway: Counter[tuple[uuid.UUID, str]] = Counter()
    expected_by_movement: Counter[tuple[uuid.UUID, str, str]] = Counter()

    for step in steps:
        if step.replay_of is not None and step.replay_of < len(done):
            movement, sale, amount, gateway_ref = done[step.replay_of]
            await record(runtime, MOVEMENTS[movement], sale, amount, gateway_ref)
            continue
        sale = Sale(organizers[step.organizer], events[step.organizer], uuid.uuid4(), step.currency)
        gateway_ref = f"ref_{uuid.uuid4().hex}"
        await record(runtime, MOVEMENTS[step.movement], sale, step.amount, gateway_ref)
        done.append((step.movement, sale, step.amount, gateway_ref))
        books = (sale.organizer_id, sale.currency)
        expected_gateway[books] += GATEWAY_SIGN[step.movement] * step.amount
        expected_by_movement[(*books, step.movement)] += step.amount

    async with runtime.unit_of_work(readonly=True) as uow:
        for index, organizer_id in enumerate(organizers):
            trial = await ledger.trial_balance(uow, organizer_id=organizer_id)
            assert trial.balanced, trial.unbalanced_books
            assert sum(t.debits for t in trial.totals) == sum(
                amount
                for (org, _, _), amount in expected_by_movement.items()
                if org == organizer_id
            )
            summary = await ledger.event_summary(uow, events[index])
            for line in summary.currencies:
                moved = {
                    movement: expected_by_movement[(organizer_id, line.currency, movement)]
                    for movement in MOVEMENTS
                }
                assert line.revenue == moved["capture"]
                assert line.fees == moved["fee"]
                assert line.refunds == moved["refund"]
                assert line.refund_liability == moved["late_payment"] - moved["late_refund"]
                assert line.net == moved["capture"] - moved["refund"] - moved["fee"]
            for currency in CURRENCIES:
                held = await ledger.gateway_balance(uow, organizer_id, currency)
                # captured - fees - refunds + late payments - late refunds
                assert held == expected_gateway[(organizer_id, currency)]
