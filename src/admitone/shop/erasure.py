"""What the shop holds about a deleted account: its carts go with it; a seller's catalogue must
be removed or handed over first (the account cannot be deleted under it)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, UserOwnsOrganizerData, register
from admitone.shop.models import Cart, Category, Product


async def erase_carts(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    owns = select(
        exists().where(Product.organizer_id == subject.user_id)
        | exists().where(Category.organizer_id == subject.user_id)
    )
    if await uow.session.scalar(owns):
        raise UserOwnsOrganizerData(details={"domain": "shop"})
    carts = await uow.session.execute(delete(Cart).where(Cart.user_id == subject.user_id))
    erasure.count(erasure.deleted, "carts", carts.rowcount)  # type: ignore[attr-defined]


register(
    "shop",
    {
        "shop_carts",
        "shop_cart_items",
        "shop_categories",
        "shop_products",
        "shop_stock",
        "shop_stock_adjustments",
    },
    erase_carts,
)
