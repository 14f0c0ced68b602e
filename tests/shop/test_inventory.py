"""Stock: one conditional statement per counter, never below zero, every move on the record."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.core.actor import SYSTEM, acting_as
from admitone.runtime import Runtime
from admitone.shop import service
from admitone.shop.errors import ProductNotFound
from admitone.shop.models import StockAdjustment
from tests.shop.conftest import PRODUCTS, Shop, create_product, shirt

RED_M = {"colour": "red", "size": "M"}
BLUE_XL = {"colour": "blue", "size": "XL"}


async def stock_of(client: httpx.AsyncClient, shop: Shop, product_id: str) -> dict[str, Any]:
    response = await client.get(f"{PRODUCTS}/{product_id}", headers=shop.organizer.headers)
    body: dict[str, Any] = response.json()
    return body


def left(product: dict[str, Any], choice: dict[str, str]) -> int:
    return next((s["quantity"] for s in product["stock_by_options"] if s["options"] == choice), 0)


async def adjustments(runtime: Runtime, product_id: str) -> list[StockAdjustment]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(StockAdjustment)
            .where(StockAdjustment.product_id == uuid.UUID(product_id))
            .order_by(StockAdjustment.created_at)
        )
        return list(rows)


async def test_the_organizer_restocks_and_corrects_with_a_reason_on_the_record(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    path = f"{PRODUCTS}/{product['id']}/stock"
    restock = await client.post(
        path,
        json={"change": 10, "reason": "restock", "options": {"size": "S", "colour": "blue"}},
        headers=shop.organizer.headers,
    )
    assert restock.status_code == 200, restock.text
    assert restock.json()["quantity"] == 10
    correction = await client.post(
        path,
        json={"change": -3, "reason": "correction", "options": {"size": "M", "colour": "red"}},
        headers=shop.admin.headers,
    )
    assert correction.json()["quantity"] == 2

    now = await stock_of(client, shop, product["id"])
    assert left(now, RED_M) == 2
    assert left(now, {"colour": "blue", "size": "S"}) == 10
    rows = await adjustments(runtime, product["id"])
    assert [(r.change, r.reason) for r in rows][-2:] == [(10, "restock"), (-3, "correction")]
    assert rows[-1].actor_id == shop.admin.user.id
    assert rows[-2].actor_id == shop.organizer.user.id
    assert [r.quantity_after for r in rows][-2:] == [10, 2]


async def test_stock_never_goes_below_zero_and_a_refusal_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await create_product(client, shop.organizer, stock_tracking="product", stock=3)
    path = f"{PRODUCTS}/{product['id']}/stock"
    refused = await client.post(
        path, json={"change": -4, "reason": "correction"}, headers=shop.organizer.headers
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "insufficient_stock"
    assert refused.json()["details"]["available"] == 3
    assert (await stock_of(client, shop, product["id"]))["stock"] == 3
    assert len(await adjustments(runtime, product["id"])) == 1  # the initial restock only


async def test_bad_adjustments_are_refused(client: httpx.AsyncClient, shop: Shop) -> None:
    unlimited = await create_product(client, shop.organizer)
    counted = await create_product(client, shop.organizer, stock_tracking="product", stock=1)
    by_options = await shirt(client, shop.organizer)
    cases = [
        (unlimited, {"change": 1, "reason": "restock"}, 409, "shop_stock_not_tracked"),
        (counted, {"change": 0, "reason": "restock"}, 422, "shop_invalid_stock"),
        (counted, {"change": 1, "reason": "sale"}, 422, "validation_error"),
        (
            counted,
            {"change": 1, "reason": "restock", "options": {"size": "M"}},
            422,
            "shop_invalid_options",
        ),
        (
            by_options,
            {"change": 1, "reason": "restock", "options": {"size": "M"}},
            422,
            "shop_invalid_options",
        ),
    ]
    for product, body, status, code in cases:
        response = await client.post(
            f"{PRODUCTS}/{product['id']}/stock", json=body, headers=shop.organizer.headers
        )
        assert (response.status_code, response.json()["error"]) == (status, code), body
    foreign = await client.post(
        f"{PRODUCTS}/{counted['id']}/stock",
        json={"change": 5, "reason": "restock"},
        headers=shop.rival.headers,
    )
    assert foreign.status_code == 404


async def test_a_batch_takes_what_it_can_and_names_each_line_refused(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    unlimited = await create_product(client, shop.organizer)
    product_id, unlimited_id = uuid.UUID(product["id"]), uuid.UUID(unlimited["id"])
    order_id = uuid.uuid4()
    lines = [
        service.StockLine(product_id, 3, RED_M, order_id),
        service.StockLine(product_id, 3, BLUE_XL, order_id),  # only 2 left
        service.StockLine(unlimited_id, 50),
        service.StockLine(product_id, 2, {"size": "M", "colour": "red"}),
    ]
    with acting_as(SYSTEM):
        async with runtime.unit_of_work() as uow:
            results = await service.take_stock(uow, lines)
    assert [r is None for r in results] == [True, False, True, True]
    refusal = results[1]
    assert refusal is not None and refusal.code == "insufficient_stock"
    assert refusal.details["line"] == 1
    assert refusal.details["available"] == 2
    assert refusal.details["options"] == BLUE_XL

    now = await stock_of(client, shop, product["id"])
    assert (left(now, RED_M), left(now, BLUE_XL)) == (0, 2)
    sales = [r for r in await adjustments(runtime, product["id"]) if r.reason == "sale"]
    assert sorted(r.change for r in sales) == [-3, -2]
    assert {r.actor_role for r in sales} == {"system"}
    assert order_id in {r.order_id for r in sales}

    with acting_as(SYSTEM):
        async with runtime.unit_of_work() as uow:
            await service.release_stock(uow, lines[:1])
            await service.release_stock(uow, lines[3:], service.StockReason.REFUND)
    now = await stock_of(client, shop, product["id"])
    assert left(now, RED_M) == 5
    reasons = [r.reason for r in await adjustments(runtime, product["id"])]
    assert reasons[-2:] == ["release", "refund"]


async def test_taking_stock_of_a_deleted_product_is_refused_and_a_rollback_takes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await create_product(client, shop.organizer, stock_tracking="product", stock=4)
    product_id = uuid.UUID(product["id"])
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            assert await service.take_stock(uow, [service.StockLine(product_id, 4)]) == [None]
            raise RuntimeError("a later step of the purchase failed")
    assert (await stock_of(client, shop, product["id"]))["stock"] == 4

    await client.delete(f"{PRODUCTS}/{product['id']}", headers=shop.organizer.headers)
    with pytest.raises(ProductNotFound):
        async with runtime.unit_of_work() as uow:
            await service.take_stock(uow, [service.StockLine(product_id, 1)])


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_hundred_buyers_racing_for_the_last_five_of_one_combination_take_exactly_five(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    product_id = uuid.UUID(product["id"])

    async def buy(i: int) -> bool:
        choice = {"size": "M", "colour": "red"} if i % 2 else {"colour": "red", "size": "M"}
        async with runtime.unit_of_work() as uow:
            [refusal] = await service.take_stock(uow, [service.StockLine(product_id, 1, choice)])
        return refusal is None

    outcomes = await asyncio.gather(*(buy(i) for i in range(100)))

    assert sum(outcomes) == 5
    now = await stock_of(client, shop, product["id"])
    assert (left(now, RED_M), left(now, BLUE_XL)) == (0, 2)
    sales = [r for r in await adjustments(runtime, product["id"]) if r.reason == "sale"]
    assert len(sales) == 5
