"""Actions are named `<module>.<resource>_<verb>`; a bad one never fails a caller at run time."""

from __future__ import annotations

import pytest

from admitone.activity import service as activity
from admitone.activity.errors import InvalidActivityAction
from admitone.runtime import Runtime
from tests.activity.conftest import entries, record_failures

BAD_NAMES = [
    "",
    "billing",
    "billing.order",
    "billing.created",
    "Billing.order_created",
    "billing.order-created",
    "billing.order_created.now",
    "billing.order_created ",
    "billing..order_created",
    "billing.order_2_created",
]


@pytest.mark.parametrize(
    "action", ["billing.order_created", "accounts.user_role_changed", "shop.cart_item_added"]
)
async def test_well_formed_actions_are_recorded(runtime: Runtime, action: str) -> None:
    async with runtime.unit_of_work() as uow:
        await activity.record(uow, action)
    assert [e.action for e in await entries(runtime)] == [action]


@pytest.mark.parametrize("action", BAD_NAMES)
async def test_malformed_actions_are_refused_in_tests(runtime: Runtime, action: str) -> None:
    async with runtime.unit_of_work() as uow:
        with pytest.raises(InvalidActivityAction):
            await activity.record(uow, action)


@pytest.mark.parametrize("resource_type", ["Order", "order items", "", "order-item"])
async def test_malformed_resource_types_are_refused_in_tests(
    runtime: Runtime, resource_type: str
) -> None:
    async with runtime.unit_of_work() as uow:
        with pytest.raises(InvalidActivityAction):
            await activity.record(uow, "billing.order_created", resource_type=resource_type)


@pytest.mark.usefixtures("run_time_mode")
async def test_at_run_time_a_malformed_action_is_skipped_and_counted_not_raised(
    runtime: Runtime,
) -> None:
    refused = record_failures("refused")
    async with runtime.unit_of_work() as uow:
        await activity.record(uow, "Billing.Order Created")
        await activity.record(uow, "billing.order_created")
    assert [e.action for e in await entries(runtime)] == ["billing.order_created"]
    assert record_failures("refused") == refused + 1
