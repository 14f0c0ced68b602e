"""Activity metadata is PII-safe by construction: refused in tests, dropped at run time."""

from __future__ import annotations

import uuid

import pytest
from structlog.testing import capture_logs

from admitone.activity import service as activity
from admitone.activity.errors import UnsafeActivityMetadata
from admitone.activity.metadata import clean_metadata
from admitone.runtime import Runtime
from tests.activity.conftest import entries, metadata_dropped

EMAIL = "ada.lovelace@example.com"

UNSAFE = [
    pytest.param({"email": EMAIL}, id="email-key"),
    pytest.param({"phone": "+44 20 7946 0958"}, id="phone-key"),
    pytest.param({"name": "Ada Lovelace"}, id="name-key"),
    pytest.param({"card_number": "4242424242424242"}, id="card-key"),
    pytest.param({"token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}, id="token-key"),
    pytest.param({"note": "called back, she was upset"}, id="free-text-key"),
    pytest.param({EMAIL: 1}, id="email-as-key"),
    pytest.param({"status": EMAIL}, id="email-under-status"),
    pytest.param({"reason": "Ada Lovelace complained"}, id="free-text-under-reason"),
    pytest.param({"role": "Ada"}, id="name-under-role"),
    pytest.param({"reference": "4242424242424242"}, id="card-under-reference"),
    pytest.param({"order_number": "+447946095800"}, id="phone-under-order-number"),
    pytest.param({"invoice_number": "LOVELACE"}, id="name-under-invoice-number"),
    pytest.param({"user_uuid": EMAIL}, id="email-under-uuid"),
    pytest.param({"currency": "euro"}, id="bad-currency"),
    pytest.param({"amount": "50.00"}, id="amount-as-text"),
    pytest.param({"amount": 50.5}, id="amount-as-float"),
    pytest.param({"count": True}, id="bool-as-count"),
    pytest.param({"quantity": -1}, id="negative-quantity"),
    pytest.param({"status": {"email": EMAIL}}, id="nested-value"),
    pytest.param({"forced": "yes"}, id="text-as-boolean"),
]


def test_safe_metadata_is_kept_and_uuids_become_strings() -> None:
    order = uuid.uuid4()
    metadata = {
        "order_uuid": order,
        "status": "paid",
        "amount": 5000,
        "refund_amount": -1250,
        "currency": "EUR",
        "quantity": 2,
        "order_number": "ORD-7F3K2",
        "invoice_number": "INV-2026-0001",
        "forced": False,
        "old_role": "customer",
    }
    cleaned = clean_metadata(metadata, strict=True)
    assert cleaned.values == {**metadata, "order_uuid": str(order)}
    assert cleaned.dropped == []


@pytest.mark.parametrize("metadata", UNSAFE)
def test_unsafe_metadata_is_refused_in_strict_mode_without_repeating_the_value(
    metadata: dict[str, object],
) -> None:
    with pytest.raises(UnsafeActivityMetadata) as refused:
        clean_metadata(metadata, strict=True)
    assert EMAIL not in str(refused.value)
    assert "Ada" not in str(refused.value)
    assert "4242" not in str(refused.value)


@pytest.mark.parametrize("metadata", UNSAFE)
def test_unsafe_metadata_is_dropped_at_run_time(metadata: dict[str, object]) -> None:
    cleaned = clean_metadata({"status": "paid", **metadata}, strict=False)
    assert set(cleaned.values) <= {"status"}
    assert len(cleaned.dropped) == 1


async def test_recording_unsafe_metadata_fails_loudly_in_tests_and_writes_nothing(
    runtime: Runtime,
) -> None:
    async with runtime.unit_of_work() as uow:
        with pytest.raises(UnsafeActivityMetadata):
            await activity.record(
                uow, "billing.order_created", metadata={"status": "paid", "email": EMAIL}
            )
    assert await entries(runtime) == []


@pytest.mark.usefixtures("run_time_mode")
async def test_at_run_time_unsafe_metadata_is_dropped_with_a_warning_and_the_rest_is_kept(
    runtime: Runtime,
) -> None:
    dropped = metadata_dropped()
    with capture_logs() as logs:
        async with runtime.unit_of_work() as uow:
            await activity.record(
                uow,
                "billing.order_created",
                resource_type="order",
                metadata={"status": "paid", "email": EMAIL, "reference": "4242424242424242"},
            )

    [entry] = await entries(runtime)
    assert entry.meta == {"status": "paid"}
    assert metadata_dropped() == dropped + 2
    warnings = [log for log in logs if log["event"] == "activity_metadata_dropped"]
    assert sorted(w["key"] for w in warnings) == ["email", "reference"]
    assert EMAIL not in repr(logs)
    assert "4242424242424242" not in repr(logs)
