"""A real server with data in it, for the API contract test (schemathesis).

Random ids only ever reach a 404, and random credentials a 401: so that every operation also
reaches its success path, half of the schema-valid cases are aimed at resources seeded over the
API itself (each operation gets fresh ones: a published event with a paid and a pending order,
a draft event, a customer, a queued and a dead job, support requests, shop categories, a
product and a cart holding it and a ticket, a post and its coupon, a membership plan and a
subscription to it), and a few operations get a body that can succeed (signing in needs a real
password, a support request names one of the owner's own orders). What each operation answered
is recorded, so the test can say which ones never succeeded.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.core.actor import SYSTEM, acting_as
from admitone.jobs import service as jobs_service
from admitone.jobs.models import JobState
from admitone.runtime import Runtime

OWNER_EMAIL = "contract-owner@example.com"
OWNER_PASSWORD = "contract-owner-password"

# The settings of the fuzzed server. The per-client limits are raised so that the fuzzer, one
# client sending thousands of requests a minute, is not answered 429 instead of the operation
# (429 is still declared, and the limiter still runs and sets its headers on every answer).
SERVER_SETTINGS = {
    "ADMITONE_ENV": "test",
    "ADMITONE_SECRET_KEY": "contract-test-secret-key-0123456789abcdef",
    "ADMITONE_RUN_WORKER_IN_PROCESS": "false",  # jobs stay queued, so there are jobs to look at
    "ADMITONE_RATE_LIMIT_DEFAULT": "1000000/minute",
    "ADMITONE_RATE_LIMIT_STRICT": "1000000/minute",
    "ADMITONE_RATE_LIMIT_LOGIN_PER_ACCOUNT": "1000000/minute",
    "ADMITONE_RATE_LIMIT_LOGIN_PER_IP": "1000000/minute",
    "ADMITONE_RATE_LIMIT_SUPPORT": "1000000/minute",
    "ADMITONE_STRIPE_WEBHOOK_SECRET": "whsec_contract_test",
    "ADMITONE_SSE_KEEPALIVE_SECONDS": "0.05",  # a stream says something at once
    "ADMITONE_LOG_LEVEL": "WARNING",
}


async def seed_database(database_url: str) -> str:
    """The owner the fuzzer signs in as and a dead job (nothing over HTTP makes one); answers
    the job's id."""
    settings = Settings(
        env="test", secret_key=SERVER_SETTINGS["ADMITONE_SECRET_KEY"], database_url=database_url
    )
    runtime = Runtime.build(settings)
    try:
        async with runtime.unit_of_work() as uow:
            with acting_as(SYSTEM):
                await accounts_service.create_user(
                    uow,
                    settings,
                    email=OWNER_EMAIL,
                    name="Contract Owner",
                    password=OWNER_PASSWORD,
                    role=Role.OWNER,
                )
                job = await jobs_service.enqueue(uow, "payments.reconcile", {}, max_attempts=1)
                job.state = JobState.DEAD
                job.last_error = "seeded dead"
        return str(job.id)
    finally:
        await runtime.database.dispose()
        await runtime.close()


CUSTOMER_PASSWORD = "a-customer-password-0"


@dataclass
class World:
    """The resources one operation's aimed cases use, one set of path parameters per entry."""

    candidates: list[dict[str, str]]
    cycle: Iterator[dict[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.cycle = itertools.cycle(self.candidates)


@dataclass
class Seeder:
    """Creates resources through the API as the seeded owner."""

    http: httpx.Client
    token: str
    _users: Iterator[int] = field(default_factory=itertools.count)
    _owner_order_id: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        assert response.is_success, f"seeding failed: {response.request.url} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def event(self, *, publish: bool) -> dict[str, Any]:
        event = self._ok(self.http.post("/api/events", json=new_event(), headers=self.auth))
        if publish:
            event = self._ok(
                self.http.post(f"/api/events/{event['id']}/publish", headers=self.auth)
            )
        return event

    def order(self, event_id: str, payment_method: str) -> dict[str, Any]:
        body = {
            "order": {
                "customer_email": f"buyer-{uuid.uuid4().hex[:8]}@example.com",
                "customer_name": "Contract Buyer",
                "quantity": 1,
                "payment_method": payment_method,
            }
        }
        return self._ok(self.http.post(f"/api/events/{event_id}/purchase", json=body))

    def owner_order_id(self) -> str:
        """An order the owner bought signed in (made once): a support request may name it."""
        if self._owner_order_id is None:
            event = self.event(publish=True)
            body = {"order": {"quantity": 1, "payment_method": "pm_card_visa"}}
            path = f"/api/events/{event['id']}/purchase"
            self._owner_order_id = self._ok(self.http.post(path, json=body, headers=self.auth))[
                "id"
            ]
        return self._owner_order_id

    def support_request(self) -> dict[str, Any]:
        return self._ok(
            self.http.post("/api/support/requests", json=support_request(), headers=self.auth)
        )

    def customer(self) -> dict[str, Any]:
        body = {
            "email": f"customer-{uuid.uuid4().hex[:8]}@example.com",
            "name": "Contract Customer",
            "password": CUSTOMER_PASSWORD,
        }
        return self._ok(self.http.post("/api/auth/register", json=body))

    def customer_to_delete(self) -> dict[str, str]:
        """A fresh customer's Authorization header: ``DELETE /api/me`` deletes whoever signs in,
        and the seeded owner, the last one, is refused (and must stay for every other case)."""
        customer = self.customer()
        login = {"email": customer["email"], "password": CUSTOMER_PASSWORD}
        token = self._ok(self.http.post("/api/auth/login", json=login))["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def jobs(self, state: str) -> list[dict[str, Any]]:
        page = self._ok(self.http.get(f"/api/admin/jobs?state={state}", headers=self.auth))
        data: list[dict[str, Any]] = page["data"]
        return data

    def category(self) -> dict[str, Any]:
        body = {"name": f"Contract category {uuid.uuid4().hex[:8]}"}
        return self._ok(self.http.post("/api/shop/categories", json=body, headers=self.auth))

    def product(self) -> dict[str, Any]:
        """A public product of no event, its stock counted: every shop route can use it."""
        return self._ok(self.http.post("/api/shop/products", json=new_product(), headers=self.auth))

    def cart(self, product_id: str) -> tuple[str, str]:
        """The owner's cart with one line of ``product_id`` and a ticket of a published event
        (so that it can be checked out): the cart's id and the product line's."""
        cart = self._ok(self.http.post("/api/carts", headers=self.auth))
        path = f"/api/carts/{cart['id']}/items"
        tier_id = self.event(publish=True)["tiers"][0]["id"]
        self._ok(self.http.post(path, json={"tier_id": tier_id, "quantity": 1}, headers=self.auth))
        body = {"product_id": product_id, "quantity": 1}
        items = self._ok(self.http.post(path, json=body, headers=self.auth))["items"]
        [item] = [item for item in items if item["product_id"] == product_id]
        return cart["id"], item["id"]

    def post(self) -> dict[str, Any]:
        body = {"title": "Contract news", "status": "published"}
        return self._ok(self.http.post("/api/posts", json=body, headers=self.auth))

    def coupon(self, post_id: str) -> dict[str, Any]:
        return self._ok(self.http.post("/api/coupons", json=new_coupon(post_id), headers=self.auth))

    def invoice(self, order: dict[str, Any]) -> dict[str, Any]:
        """The invoice of a paid ``order``, asked for with its guest token."""
        path = f"/api/orders/{order['id']}/invoice?token={order['access_token']}"
        return self._ok(self.http.post(path, json={}))

    def billing_profile(self) -> dict[str, Any]:
        return self._ok(
            self.http.post("/api/me/billing-profiles", json=billing_profile(), headers=self.auth)
        )

    def plan(self) -> dict[str, Any]:
        body = {
            "plan": {
                "name": "Contract members",
                "price": "9.00",
                "currency": "USD",
                "interval": "month",
            }
        }
        return self._ok(self.http.post("/api/plans", json=body, headers=self.auth))

    def subscription(self) -> dict[str, Any]:
        # A plan of its own each: one live subscription per user and plan.
        body = {"subscription": {"plan_id": self.plan()["id"], "payment_method": "pm_card_visa"}}
        return self._ok(self.http.post("/api/subscriptions", json=body, headers=self.auth))

    def refresh_token(self) -> str:
        credentials = {"email": OWNER_EMAIL, "password": OWNER_PASSWORD}
        token: str = self._ok(self.http.post("/api/auth/login", json=credentials))["refresh_token"]
        return token

    def world(self, names: set[str], dead_job_id: str) -> World:
        """Two sets of path parameters: a published event with a paid order, a queued job; and
        a draft event with a pending order, the dead job. Only what ``names`` needs is made."""
        first: dict[str, str] = {}
        second: dict[str, str] = {}
        if names & {"event_id", "tier_id", "order_id", "reference", "job_id", "topics"}:
            published, draft = self.event(publish=True), self.event(publish=False)
            first.update(event_id=published["id"], tier_id=published["tiers"][1]["id"])
            first["topics"] = second["topics"] = f"events:{published['id']}:availability"
            second.update(event_id=draft["id"], tier_id=draft["tiers"][1]["id"])
            if names & {"order_id", "reference", "job_id"}:
                paid = self.order(published["id"], "pm_card_visa")
                pending = self.order(published["id"], "pm_card_authenticationRequired")
                self.invoice(paid)  # so that the paid order's invoice can be read
                first.update(order_id=paid["id"], reference=paid["reference"])
                second.update(order_id=pending["id"], reference=pending["reference"])
                # The guest's token: the owner sees every order, but not every route asks.
                first["token"], second["token"] = paid["access_token"], pending["access_token"]
        if "job_id" in names:
            first["job_id"] = self.jobs("available")[0]["id"]
            second["job_id"] = dead_job_id
        if "user_id" in names:
            first["user_id"] = second["user_id"] = self.customer()["id"]
        self._shop_and_billing(names, first, second)
        if "request_id" in names:
            first["request_id"] = self.support_request()["id"]
            second["request_id"] = self.support_request()["id"]
        missing = names - first.keys() - {"token"}
        assert not missing, (
            f"no seeded value for path parameter(s) {sorted(missing)}: teach "
            "tests/support/contract.py:Seeder.world to create the resource they name"
        )
        return World([first, second])

    def _shop_and_billing(
        self, names: set[str], first: dict[str, str], second: dict[str, str]
    ) -> None:
        """The owner's categories, products, carts, posts, coupons, invoices and profiles."""
        if "category_id" in names:
            first["category_id"] = self.category()["id"]
            second["category_id"] = self.category()["id"]
        if names & {"product_id", "cart_id", "item_id"}:
            for world in (first, second):
                world["product_id"] = self.product()["id"]
                world["cart_id"], world["item_id"] = self.cart(world["product_id"])
        if names & {"post_id", "coupon_id"}:
            for world in (first, second):
                world["post_id"] = self.post()["id"]
                world["coupon_id"] = self.coupon(world["post_id"])["id"]
        if "invoice_id" in names:
            published = self.event(publish=True)
            for world in (first, second):
                order = self.order(published["id"], "pm_card_visa")
                world["invoice_id"] = self.invoice(order)["id"]
        if "profile_id" in names:
            first["profile_id"] = self.billing_profile()["id"]
            second["profile_id"] = self.billing_profile()["id"]
        if "plan_id" in names:
            first["plan_id"] = self.plan()["id"]
            second["plan_id"] = self.plan()["id"]
        if "subscription_id" in names:
            first["subscription_id"] = self.subscription()["id"]
            second["subscription_id"] = self.subscription()["id"]


def new_event() -> dict[str, Any]:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(weeks=6)
    return {
        "event": {
            "name": "Contract night",
            "venue": "The Contract Hall",
            "date": starts.isoformat(),
            "tiers": [
                {"name": "General admission", "price": "50.00", "capacity": 200},
                {"name": "Balcony", "price": "30.00", "capacity": 50},
            ],
        }
    }


def new_product() -> dict[str, Any]:
    return {
        "name": f"Contract shirt {uuid.uuid4().hex[:8]}",
        "price": "25.00",
        "stock_tracking": "product",
        "stock": 100,
    }


def new_coupon(post_id: str | None = None) -> dict[str, Any]:
    body = {"code": f"C-{uuid.uuid4().hex[:12]}", "kind": "percent", "percent_off": "10"}
    return {**body, "post_id": post_id} if post_id else body


def support_request(order_id: str | None = None) -> dict[str, Any]:
    about = {"category": "order", "order_id": order_id} if order_id else {}
    return {"subject": "Where are my tickets?", "body": "They did not arrive.", **about}


def billing_profile() -> dict[str, Any]:
    return {
        "company": "Contract Company GmbH",
        "address_line1": "Contract Street 1",
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
        "vat_id": "DE123456789",
    }


def signed_in_bodies(seeder: Seeder) -> dict[str, Callable[[], dict[str, Any]]]:
    """Bodies that can succeed where a generated one cannot (credentials, a fresh email)."""

    def registration() -> dict[str, Any]:
        email = f"new-{uuid.uuid4().hex[:12]}@example.com"
        return {"email": email, "name": "New User", "password": "a-new-user-password-0"}

    def refresh() -> dict[str, Any]:
        return {"refresh_token": seeder.refresh_token()}

    return {
        "POST /api/auth/register": registration,
        "POST /api/auth/login": lambda: {"email": OWNER_EMAIL, "password": OWNER_PASSWORD},
        "POST /api/auth/refresh": refresh,
        "POST /api/auth/logout": refresh,
        "POST /api/events": new_event,
        "POST /api/events/{event_id}/purchase": lambda: {
            "order": {
                "customer_email": "buyer@example.com",
                "customer_name": "Contract Buyer",
                "quantity": 1,
            }
        },
        "POST /api/orders/{order_id}/pay": lambda: {"payment_method": "pm_card_visa"},
        "PUT /api/events/{event_id}": lambda: {"event": {"venue": "The Other Hall"}},
        "POST /api/events/{event_id}/tiers": lambda: {
            "tier": {"name": "Standing", "price": "20.00", "capacity": 100}
        },
        "PUT /api/events/{event_id}/tiers/{tier_id}": lambda: {"tier": {"capacity": 60}},
        "POST /api/support/requests": lambda: support_request(seeder.owner_order_id()),
        # Priority only: a status change may not be allowed from the request's current status.
        "POST /api/support/requests/bulk": lambda: {
            "ids": [seeder.support_request()["id"]],
            "priority": "high",
        },
        "PATCH /api/support/requests/{request_id}": lambda: {"priority": "high"},
        "POST /api/me/billing-profiles": billing_profile,
        "PATCH /api/me/billing-profiles/{profile_id}": lambda: {"city": "Potsdam"},
        "PUT /api/me/billing-settings": lambda: {"invoice_mode": "on_request"},
        "POST /api/orders/{order_id}/invoice": lambda: {},
        "POST /api/subscriptions": lambda: {
            "subscription": {"plan_id": seeder.plan()["id"], "payment_method": "pm_card_visa"}
        },
        # At the period's end: the subscription stays live, so the next case can succeed too.
        "POST /api/subscriptions/{subscription_id}/cancel": lambda: {"at_period_end": True},
        "POST /api/shop/categories": lambda: {"name": f"Category {uuid.uuid4().hex[:8]}"},
        "PUT /api/shop/categories/{category_id}": lambda: {"position": 1},
        "POST /api/shop/products": new_product,
        "PUT /api/shop/products/{product_id}": lambda: {"price": "26.00"},
        "POST /api/shop/products/{product_id}/stock": lambda: {"change": 5, "reason": "restock"},
        "POST /api/carts/{cart_id}/items": lambda: {
            "product_id": seeder.product()["id"],
            "quantity": 1,
        },
        "PUT /api/carts/{cart_id}/items/{item_id}": lambda: {"quantity": 2},
        # Signed in, the owner's account is the buyer.
        "POST /api/carts/{cart_id}/checkout": lambda: {"order": {}},
        "POST /api/posts": lambda: {"title": "Contract news"},
        "POST /api/events/{event_id}/posts": dict,
        "PUT /api/posts/{post_id}": lambda: {"status": "published"},
        "POST /api/coupons": new_coupon,
        "PUT /api/coupons/{coupon_id}": lambda: {"usage_limit": 50},
        STRIPE_WEBHOOK: lambda: {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "contract.test",  # a type no handler wants: acknowledged and ignored
            "data": {"object": {}},
        },
    }


STRIPE_WEBHOOK = "POST /api/webhooks/stripe"


def stripe_signature(body: Any) -> str:
    """Stripe's signature header over ``body`` as the test client sends it (``json.dumps``)."""
    timestamp = int(time.time())
    secret = SERVER_SETTINGS["ADMITONE_STRIPE_WEBHOOK_SECRET"].encode()
    signed = f"{timestamp}.{json.dumps(body)}".encode()
    return f"t={timestamp},v1={hmac.new(secret, signed, hashlib.sha256).hexdigest()}"


@dataclass
class Outcomes:
    """The statuses each operation answered."""

    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def record(self, label: str, status: int) -> None:
        self.statuses[label].add(status)

    def never_succeeded(self) -> list[str]:
        return sorted(
            label for label, seen in self.statuses.items() if not any(200 <= s < 300 for s in seen)
        )

    def table(self) -> str:
        return "\n".join(
            f"  {'ok  ' if any(200 <= s < 300 for s in seen) else 'NO 2xx'} {label}: "
            + ", ".join(map(str, sorted(seen)))
            for label, seen in sorted(self.statuses.items())
        )
