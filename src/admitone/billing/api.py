"""The billing API: thin handlers over ``admitone.billing.service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response, status

from admitone.billing import service
from admitone.billing.models import DocumentKind, SubscriptionStatus
from admitone.billing.payouts import MONTH_PATTERN
from admitone.billing.plan_schemas import PlanCreateRequest, PlanOut, PlanPage, PlanUpdateRequest
from admitone.billing.schemas import (
    InvoiceOut,
    InvoicePage,
    InvoiceRequest,
    PayoutList,
    PayoutOut,
    ProfileCreate,
    ProfileList,
    ProfileOut,
    ProfileUpdate,
    SettingsOut,
    SettingsUpdate,
    TransactionOut,
    TransactionPage,
)
from admitone.billing.subscription_schemas import (
    CancelBody,
    SubscriptionCreateBody,
    SubscriptionOut,
    SubscriptionPage,
)
from admitone.core.actor import current_actor
from admitone.http.deps import AppRuntime, CurrentUser, StrictRateLimit, Uow, public
from admitone.http.params import Cursor, OrderToken, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["billing"])

PROFILES = "/me/billing-profiles"


def _viewer(token: str | None) -> service.Viewer:
    return service.Viewer(current_actor(), token)


# Billing profiles: their owner's alone (staff read them through the owner's data export).


@router.get(PROFILES, responses=errors(401))
async def list_profiles(_: CurrentUser, uow: Uow) -> ProfileList:
    """Your billing profiles, oldest first."""
    profiles = await service.list_profiles(uow, current_actor())
    return ProfileList(data=[ProfileOut.of(p) for p in profiles])


@router.post(PROFILES, status_code=status.HTTP_201_CREATED, responses=errors(401, 409, 422))
async def create_profile(body: ProfileCreate, _: CurrentUser, uow: Uow) -> ProfileOut:
    """A name or a company, an address, an ISO 3166-1 alpha-2 ``country`` and an optional
    ``vat_id`` checked against its country prefix's format (422 naming the field). Your first
    profile is your default; ``is_default: true`` makes a later one the default."""
    return ProfileOut.of(await service.create_profile(uow, current_actor(), body))


@router.get(f"{PROFILES}/{{profile_id}}", responses=errors(401, 404, 422))
async def get_profile(profile_id: uuid.UUID, _: CurrentUser, uow: Uow) -> ProfileOut:
    return ProfileOut.of(await service.get_profile(uow, current_actor(), profile_id))


@router.patch(f"{PROFILES}/{{profile_id}}", responses=errors(401, 404, 409, 422))
async def update_profile(
    profile_id: uuid.UUID, body: ProfileUpdate, _: CurrentUser, uow: Uow
) -> ProfileOut:
    """Change some fields; the profile is checked whole afterwards. Invoices already issued
    keep the details they were issued with."""
    return ProfileOut.of(await service.update_profile(uow, current_actor(), profile_id, body))


@router.delete(
    f"{PROFILES}/{{profile_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 404, 422),
)
async def delete_profile(profile_id: uuid.UUID, _: CurrentUser, uow: Uow) -> Response:
    await service.delete_profile(uow, current_actor(), profile_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Organizers' billing settings


@router.get("/me/billing-settings", responses=errors(401, 403))
async def get_settings(_: CurrentUser, uow: Uow) -> SettingsOut:
    """An organizer's invoicing: ``on_request`` (the default) or ``automatic``, and the
    number prefixes (``INV`` and ``CN`` by default)."""
    return SettingsOut.of(await service.get_settings(uow, current_actor()))


@router.put("/me/billing-settings", responses=errors(401, 403, 422))
async def update_settings(body: SettingsUpdate, _: CurrentUser, uow: Uow) -> SettingsOut:
    """Change the fields given. A new prefix applies to the numbers issued from now on; the
    sequence carries on without a gap."""
    return SettingsOut.of(await service.update_settings(uow, current_actor(), body))


# Invoices and credit notes


@router.post(
    "/orders/{order_id}/invoice",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The order's invoice, issued before"},
        **errors(401, 404, 422, 429),
    },
    dependencies=[StrictRateLimit],
)
@public
async def request_invoice(
    order_id: uuid.UUID,
    response: Response,
    uow: Uow,
    body: InvoiceRequest | None = None,
    token: OrderToken = None,
) -> InvoiceOut:
    """Ask for a paid order's invoice, signed in as its buyer or as a guest with the order's
    ``token``. Made out to ``billing`` (a guest's way), to ``billing_profile_id``, or to your
    default profile (else the order's name). An order that is not yours or not paid is a 404;
    asking again answers the invoice issued first (200)."""
    issued = await service.request_invoice(uow, _viewer(token), order_id, body or InvoiceRequest())
    if not issued.created:
        response.status_code = status.HTTP_200_OK
    return InvoiceOut.of(issued.invoice)


@router.get("/orders/{order_id}/invoice", responses=errors(401, 404, 422))
@public
async def get_order_invoice(order_id: uuid.UUID, uow: Uow, token: OrderToken = None) -> InvoiceOut:
    """The order's invoice, for its buyer (a guest with the order's token), its organizer and
    staff; 404 while it has none."""
    return InvoiceOut.of(await service.invoice_for_order(uow, _viewer(token), order_id))


@router.get("/invoices", responses=errors(401, 422))
async def list_invoices(
    _: CurrentUser,
    uow: Uow,
    kind: DocumentKind | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> InvoicePage:
    """Your invoices and credit notes: those you were billed, those you issued as an organizer,
    and every one for staff. Newest first."""
    page = await service.list_invoices(uow, current_actor(), kind=kind, limit=limit, cursor=cursor)
    return InvoicePage(data=[InvoiceOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/invoices/{invoice_id:uuid}", responses=errors(401, 404, 422))
@public
async def get_invoice(invoice_id: uuid.UUID, uow: Uow, token: OrderToken = None) -> InvoiceOut:
    return InvoiceOut.of(await service.reachable(uow, _viewer(token), invoice_id))


@router.get(
    "/invoices/{invoice_id:uuid}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **errors(401, 404, 422)},
)
@public
async def invoice_pdf(invoice_id: uuid.UUID, uow: Uow, token: OrderToken = None) -> Response:
    """The invoice or credit note as a PDF, for the buyer (a guest with the order's token),
    the organizer and staff."""
    invoice = await service.reachable(uow, _viewer(token), invoice_id)
    return Response(
        await service.invoice_pdf(uow, invoice),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'},
    )


# A user's money and an organizer's payouts

FromMonth = Annotated[
    str | None, Query(alias="from", pattern=MONTH_PATTERN, description="YYYY-MM, included.")
]
ToMonth = Annotated[
    str | None, Query(alias="to", pattern=MONTH_PATTERN, description="YYYY-MM, included.")
]


@router.get("/me/transactions", responses=errors(401, 422))
async def list_transactions(
    user: CurrentUser, uow: Uow, limit: PageLimit = None, cursor: Cursor = None
) -> TransactionPage:
    """Your money movements, newest first: payments and refunds of your orders, subscription
    charges and refunds, and the credit notes made out to you. ``amount`` is signed from your
    side: what you paid is negative, what came back is positive. A credit note documents a
    cancel or refund whose money is listed as its own ``refund``."""
    page = await service.list_transactions(uow, user.id, limit=limit, cursor=cursor)
    return TransactionPage(
        data=[TransactionOut.of(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.get("/payouts", responses=errors(401, 403, 422))
async def payouts(
    _: CurrentUser,
    uow: Uow,
    organizer_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    from_month: FromMonth = None,
    to_month: ToMonth = None,
) -> PayoutList:
    """Your events' payouts per event, UTC month and currency (staff: every organizer's, or
    ``organizer_id``'s): ``gross`` paid by buyers (tax included), ``fees`` the gateway kept,
    ``refunds`` (tax included), ``tax`` still owed, and ``net`` = gross - fees - refunds - tax.
    Newest month first. The window is ``from`` to ``to`` (both included, at most 12 months;
    by default the 12 months up to this one), so the answer is bounded and not paginated."""
    found = await service.payouts(
        uow,
        current_actor(),
        organizer_id=organizer_id,
        event_id=event_id,
        first=from_month,
        last=to_month,
    )
    return PayoutList(
        data=[PayoutOut.of(row) for row in found.rows],
        from_month=found.window.first,
        to_month=found.window.last,
    )


# Membership plans: public to read; their organizer (or staff) writes them.


@router.get("/plans", responses=errors(401, 422))
@public
async def list_plans(
    uow: Uow,
    organizer_id: uuid.UUID | None = None,
    archived: bool = False,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> PlanPage:
    """Plans open to subscribers, newest first, optionally of one organizer. ``archived=true``
    adds your own archived plans (all of them for staff)."""
    page = await service.list_plans(
        uow,
        current_actor(),
        organizer_id=organizer_id,
        archived=archived,
        limit=limit,
        cursor=cursor,
    )
    return PlanPage(data=[PlanOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/plans", status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 422))
async def create_plan(body: PlanCreateRequest, _: CurrentUser, uow: Uow) -> PlanOut:
    """Organizers and staff: a ``price`` per ``interval`` (``month`` or ``year``) in
    ``currency``, with an optional free trial of ``trial_days``."""
    return PlanOut.of(await service.create_plan(uow, current_actor(), body.plan))


@router.get("/plans/{plan_id}", responses=errors(401, 404, 422))
@public
async def get_plan(plan_id: uuid.UUID, uow: Uow) -> PlanOut:
    """A plan, archived ones too (``archived: true``): their members still have it."""
    return PlanOut.of(await service.get_plan(uow, plan_id))


@router.patch("/plans/{plan_id}", responses=errors(401, 403, 404, 409, 422))
async def update_plan(
    plan_id: uuid.UUID, body: PlanUpdateRequest, _: CurrentUser, uow: Uow
) -> PlanOut:
    """Change the fields given. ``price``, ``currency`` and ``interval`` change only while
    nobody ever subscribed: after that, 409 ``plan_terms_locked`` (make a new plan). Another
    organizer's plan is a 404."""
    return PlanOut.of(await service.update_plan(uow, current_actor(), plan_id, body.plan))


@router.delete(
    "/plans/{plan_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404, 422),
)
async def archive_plan(plan_id: uuid.UUID, _: CurrentUser, uow: Uow) -> Response:
    """Archive the plan: nobody new can subscribe; members keep their access until their
    subscriptions end."""
    await service.archive_plan(uow, current_actor(), plan_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Subscriptions. Subscribing and cancelling are flows that run their own short transactions
# around the gateway (rule 4): the request's unit of work is ended before they start.

SUBSCRIPTIONS = "/subscriptions"


@router.post(
    SUBSCRIPTIONS,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 402, 404, 409, 422, 503),
)
async def subscribe(
    body: SubscriptionCreateBody, user: CurrentUser, uow: Uow, runtime: AppRuntime
) -> SubscriptionOut:
    """Subscribe to a plan: ``trialing`` during its trial (nothing charged yet), else ``active``
    with the first period charged. A declined card is a 402 (``details.reason``) and the
    subscription ends ``expired``; a live subscription to the plan already is a 409
    ``already_subscribed``; an archived plan a 422 ``plan_archived``; the gateway down a 503
    ``payment_gateway_unavailable`` with nothing kept, except at a provider that bills the
    periods (Stripe), where the create may have happened: a 503 ``subscription_being_confirmed``
    (``details.subscription_id``), the subscription kept ``incomplete`` until a job settles it."""
    await uow.commit()
    subscribed = await service.subscribe(
        runtime.unit_of_work,
        runtime.gateway,
        user,
        body.subscription.plan_id,
        body.subscription.payment_method,
    )
    return SubscriptionOut.of(subscribed.subscription, subscribed.client_secret)


@router.get(SUBSCRIPTIONS, responses=errors(401, 422))
async def list_subscriptions(
    _: CurrentUser,
    uow: Uow,
    status: SubscriptionStatus | None = None,
    plan_id: uuid.UUID | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> SubscriptionPage:
    """Your subscriptions; an organizer's also those to their plans; staff every one. Newest
    first."""
    page = await service.list_subscriptions(
        uow, current_actor(), status=status, plan_id=plan_id, limit=limit, cursor=cursor
    )
    return SubscriptionPage(
        data=[SubscriptionOut.of(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get(f"{SUBSCRIPTIONS}/{{subscription_id}}", responses=errors(401, 404, 422))
async def get_subscription(subscription_id: uuid.UUID, _: CurrentUser, uow: Uow) -> SubscriptionOut:
    return SubscriptionOut.of(await service.get_subscription(uow, current_actor(), subscription_id))


@router.post(
    f"{SUBSCRIPTIONS}/{{subscription_id}}/cancel", responses=errors(401, 403, 404, 409, 422, 503)
)
async def cancel_subscription(
    subscription_id: uuid.UUID,
    _: CurrentUser,
    uow: Uow,
    runtime: AppRuntime,
    body: CancelBody | None = None,
) -> SubscriptionOut:
    """Cancel, by the subscriber, the plan's organizer or staff: at the end of the paid period
    (the default) or now (``"at_period_end": false``). The organizer and staff may add
    ``"refund": true`` to end it now and refund the current period's charge in full."""
    wanted = body or CancelBody()
    await uow.commit()
    subscription = await service.cancel_subscription(
        runtime.unit_of_work,
        runtime.gateway,
        current_actor(),
        subscription_id,
        at_period_end=wanted.at_period_end,
        refund=wanted.refund,
    )
    return SubscriptionOut.of(subscription)
