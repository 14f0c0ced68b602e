"""Stock: counters moved by one statement each (rule 5), never below zero, every move an
append-only adjustment row with its reason and actor, announced on ``shop:inventory`` after
commit.

The purchase pipeline takes stock with ``take_stock`` and gives it back with ``release_stock``;
both only flush, so the pipeline's transaction decides what stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from admitone.activity import service as activity_service
from admitone.core.actor import Actor, current_actor
from admitone.core.db import UnitOfWork
from admitone.shop import options, repository, topics
from admitone.shop.errors import (
    InsufficientStock,
    InvalidOptions,
    InvalidStock,
    ProductNotFound,
    StockNotTracked,
)
from admitone.shop.models import (
    Product,
    StockAdjustment,
    StockCounter,
    StockReason,
    StockTracking,
)
from admitone.shop.schemas import StockAdjustmentIn


@dataclass(frozen=True, slots=True)
class StockLine:
    """``quantity`` of a product with a normalised choice of its options, for one order."""

    product_id: uuid.UUID
    quantity: int
    options: Mapping[str, str] = field(default_factory=dict)
    order_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class StockMove:
    product_id: uuid.UUID
    options: dict[str, str]
    change: int
    quantity: int
    reason: StockReason


def counter_key(product: Product, choice: Mapping[str, str]) -> str | None:
    """The counter a choice of ``product`` draws on; None when its stock is unlimited."""
    if product.stock_tracking == StockTracking.UNLIMITED:
        return None
    if product.stock_tracking == StockTracking.PRODUCT:
        return options.NO_OPTIONS_KEY
    return options.options_key(choice)


def _ordered(lines: Sequence[StockLine]) -> list[tuple[int, StockLine]]:
    # Counters in one fixed order (product id, then options), so that two batches taking the
    # same counters never wait on each other in a cycle.
    return sorted(
        enumerate(lines),
        key=lambda item: (item[1].product_id, options.options_key(item[1].options)),
    )


async def take_stock(uow: UnitOfWork, lines: Sequence[StockLine]) -> list[InsufficientStock | None]:
    """Take each line's quantity (a sale). Answers, line by line in the order given, None for a
    line taken (or of unlimited stock) and ``InsufficientStock`` naming a line refused, which
    took nothing; the lines taken stay taken, for the caller to keep or release. A line of a
    product that is gone is refused as ``ProductNotFound``, raised."""
    products = await repository.products_by_id(uow, {line.product_id for line in lines})
    results: list[InsufficientStock | None] = [None] * len(lines)
    for index, line in _ordered(lines):
        product = products.get(line.product_id)
        if product is None or product.deleted_at is not None:
            raise ProductNotFound(field=f"lines.{index}.product_id")
        key = counter_key(product, line.options)
        if key is None:
            continue
        after = await _take(uow, product.id, key, line.quantity)
        if after is None:
            results[index] = InsufficientStock(
                details={
                    "line": index,
                    "product_id": str(product.id),
                    "options": dict(line.options),
                    "requested": line.quantity,
                    "available": await _quantity(uow, product.id, key),
                },
                field=f"lines.{index}.quantity",
            )
            continue
        move = StockMove(product.id, dict(line.options), -line.quantity, after, StockReason.SALE)
        _record(uow, move, key, line.order_id)
    await uow.flush()
    return results


async def release_stock(
    uow: UnitOfWork,
    lines: Sequence[StockLine],
    reason: StockReason = StockReason.RELEASE,
) -> None:
    """Give back what ``take_stock`` took: an order that expired, failed or was cancelled
    (``release``), or one refunded (``refund``)."""
    if reason not in (StockReason.RELEASE, StockReason.REFUND):
        raise ValueError(f"stock is given back for a release or a refund, not {reason}")
    products = await repository.products_by_id(uow, {line.product_id for line in lines})
    for _, line in _ordered(lines):
        product = products.get(line.product_id)
        key = None if product is None else counter_key(product, line.options)
        if product is None or key is None:
            continue
        after = await _add(uow, product.id, key, line.options, line.quantity)
        move = StockMove(product.id, dict(line.options), line.quantity, after, reason)
        _record(uow, move, key, line.order_id)
    await uow.flush()


async def adjust_stock(
    uow: UnitOfWork, actor: Actor, product_id: uuid.UUID, data: StockAdjustmentIn
) -> StockMove:
    """A restock, correction or refund by the product's organizer or staff. A decrease that
    would go below zero is refused with what is left."""
    product = await repository.managed_product(uow, actor, product_id)
    choice = _choice_for(product, data.options)
    key = counter_key(product, choice)
    if key is None:
        raise StockNotTracked()
    if data.change == 0:
        raise InvalidStock("The change may not be zero.", field="change")
    reason = StockReason(data.reason)
    if data.change > 0:
        after = await _add(uow, product.id, key, choice, data.change)
    else:
        taken = await _take(uow, product.id, key, -data.change)
        if taken is None:
            raise InsufficientStock(
                "The stock would go below zero.",
                field="change",
                details={"available": await _quantity(uow, product.id, key)},
            )
        after = taken
    move = StockMove(product.id, choice, data.change, after, reason)
    _record(uow, move, key)
    await uow.flush()
    await activity_service.record(
        uow,
        "shop.stock_adjusted",
        resource_type="product",
        resource_uuid=product.id,
        metadata={
            "reason": reason.value,
            "kind": "increase" if data.change > 0 else "decrease",
            "quantity": abs(data.change),
            "new_quantity": after,
        },
    )
    return move


async def set_initial_stock(
    uow: UnitOfWork, product: Product, counts: Sequence[tuple[dict[str, str], int]]
) -> None:
    """The stock a new product starts with, as restock moves."""
    for choice, quantity in counts:
        key = counter_key(product, choice)
        if key is None:
            continue
        after = await _add(uow, product.id, key, choice, quantity)
        if quantity:
            _record(uow, StockMove(product.id, choice, quantity, after, StockReason.RESTOCK), key)


def _choice_for(product: Product, choice: Mapping[str, str]) -> dict[str, str]:
    if product.stock_tracking == StockTracking.OPTIONS:
        return options.check_choice(product.options, choice)
    if choice:
        raise InvalidOptions(
            "This product's stock is not kept per option: name no options.", field="options"
        )
    return {}


async def _take(uow: UnitOfWork, product_id: uuid.UUID, key: str, quantity: int) -> int | None:
    """What is left after taking ``quantity``, or None (and nothing taken) if there was less."""
    after: int | None = await uow.session.scalar(
        update(StockCounter)
        .where(
            StockCounter.product_id == product_id,
            StockCounter.options_key == key,
            StockCounter.quantity >= quantity,
        )
        .values(quantity=StockCounter.quantity - quantity, updated_at=uow.clock.now())
        .returning(StockCounter.quantity)
        .execution_options(synchronize_session=False)
    )
    return after


async def _add(
    uow: UnitOfWork, product_id: uuid.UUID, key: str, choice: Mapping[str, str], quantity: int
) -> int:
    """Add to a counter, creating it on its first stock: one INSERT ... ON CONFLICT."""
    dialect = uow.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = uow.clock.now()
    stmt = insert(StockCounter).values(
        product_id=product_id, options_key=key, options=dict(choice), quantity=quantity,
        updated_at=now,
    )  # fmt: skip
    stmt = stmt.on_conflict_do_update(
        index_elements=[StockCounter.product_id, StockCounter.options_key],
        set_={"quantity": StockCounter.quantity + stmt.excluded.quantity, "updated_at": now},
    )
    after: int = (
        await uow.session.execute(
            stmt.returning(StockCounter.quantity).execution_options(synchronize_session=False)
        )
    ).scalar_one()
    return after


async def _quantity(uow: UnitOfWork, product_id: uuid.UUID, key: str) -> int:
    found = await uow.session.scalar(
        select(StockCounter.quantity).where(
            StockCounter.product_id == product_id, StockCounter.options_key == key
        )
    )
    return found or 0


def _record(uow: UnitOfWork, move: StockMove, key: str, order_id: uuid.UUID | None = None) -> None:
    actor = current_actor()
    uow.session.add(
        StockAdjustment(
            product_id=move.product_id,
            options_key=key,
            options=move.options,
            change=move.change,
            quantity_after=move.quantity,
            reason=move.reason.value,
            actor_id=actor.uuid,
            actor_role=actor.role,
            order_id=order_id,
            created_at=uow.clock.now(),
        )
    )
    topics.publish_inventory(
        uow,
        move.product_id,
        choice=move.options,
        change=move.change,
        quantity=move.quantity,
        reason=move.reason.value,
    )
