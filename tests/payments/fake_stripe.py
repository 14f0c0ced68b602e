"""A fake Stripe HTTP server for tests: a real server on a free loopback port (stdlib
``ThreadingHTTPServer`` in a background thread, so it can drop a connection or hang the way a
network does), answering the Stripe v1 calls admitone's adapter makes, as Stripe does:
form-encoded requests, JSON objects, Stripe's error envelope and statuses.

- State: ``FakeStripe.payment_intents()`` / ``charges()`` / ``refunds()`` / ``customers()`` /
  ``balance_transactions()`` / ``products()`` / ``subscriptions()`` / ``invoices()``,
  ``net_captured()``; ``events`` are the events Stripe would send.
- Subscriptions (``fake_stripe_subscriptions``): created, retrieved, modified and cancelled
  (``DELETE``); ``advance_period`` renews or ends one and answers the events Stripe sends.
- Idempotency (``POST`` and ``DELETE``): the same ``Idempotency-Key`` with the same parameters
  replays the first answer (``Idempotent-Replayed: true``); with other parameters, 400
  ``idempotency_error``; while the first request still runs, 409.
- Recording: every request, faults included (``requests``, ``requests_to``).
- Faults for the next calls: ``fail_next`` (an HTTP status), ``hang_next`` (answer late, after
  the client gave up), ``drop_next`` (close the connection without an answer).
- Test cards: ``pm_card_visa`` succeeds; ``pm_card_chargeDeclined*`` decline with Stripe's codes;
  ``pm_card_threeDSecure2Required`` needs the buyer (``complete_in_browser``); an intent not
  yet succeeded can be cancelled, a succeeded one answers ``payment_intent_unexpected_state``.
- Webhooks: ``event_for(type, object_id)`` builds an ``Event``; ``sign_webhook`` signs a payload
  with the SDK's own ``WebhookSignature``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import stripe
from stripe import WebhookSignature

from tests.payments.fake_stripe_answers import Answer, Json, error
from tests.payments.fake_stripe_state import StripeState

SECRET_KEY = "sk_test_admitone_fake_0123456789"
_IDEMPOTENT = frozenset({"POST", "DELETE"})
PUBLISHABLE_KEY = "pk_test_admitone_fake_0123456789"
WEBHOOK_SECRET = "whsec_admitone_fake_0123456789"


def sign_webhook(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``payload``
    (``t=<timestamp>,v1=<HMAC-SHA256(secret, "<timestamp>.<payload>")>``), by the SDK's code."""
    header: str = WebhookSignature.generate_signature_header(
        payload, secret, timestamp if timestamp is not None else int(time.time())
    )
    return header


def event_payload(event: Json) -> str:
    return json.dumps(event, separators=(",", ":"))


class NoBackoffHTTPXClient(stripe.HTTPXClient):
    """The SDK's HTTPX client, retrying at once instead of after 0.5 s, 1 s, ...: tests still
    see every retry, without the waits."""

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    params: Json
    idempotency_key: str | None


@dataclass(slots=True)
class _Fault:
    kind: Literal["status", "hang", "drop"]
    remaining: int
    path: str | None
    status: int = 503
    seconds: float = 0.0
    process: bool = True  # hang: process after the wait; drop: process before hanging up


@dataclass(slots=True)
class _Stored:
    fingerprint: str
    status: int
    body: Json


@dataclass
class _Server:
    state: StripeState = field(default_factory=StripeState)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    stored: dict[str, _Stored] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)  # idempotency keys being processed
    generation: int = 0


class FakeStripe:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = _Server()
        self._release = threading.Event()
        self._in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the fake first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        """Forget everything; a request still hanging from before is answered, not processed."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            generation = self._data.generation + 1
            self._data = _Server(generation=generation)

    # -- faults -----------------------------------------------------------------------------

    def fail_next(self, status: int = 503, *, count: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` requests (to paths starting with ``path``) with ``status``
        and Stripe's ``api_error`` envelope, without processing them."""
        self._add(_Fault("status", count, path, status=status))

    def hang_next(
        self, seconds: float, *, count: int = 1, path: str | None = None, process: bool = True
    ) -> None:
        """Hold the next requests ``seconds`` before answering: longer than the client's
        timeout, the answer is lost. With ``process`` the request still takes effect (money
        moves after the client gave up), as it would at Stripe."""
        self._add(_Fault("hang", count, path, seconds=seconds, process=process))

    def drop_next(
        self, *, count: int = 1, path: str | None = None, after_processing: bool = False
    ) -> None:
        """Close the connection without an answer, before or after processing the request."""
        self._add(_Fault("drop", count, path, process=after_processing))

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._data.faults.append(fault)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being processed (a hung one has landed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.01)
        raise AssertionError("the fake Stripe server is still busy")

    # -- inspection -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._data.requests)

    def requests_to(self, path: str, method: str = "POST") -> list[RecordedRequest]:
        """Recorded requests whose path matches ``path`` (a regular expression, anchored)."""
        pattern = re.compile(path + "$")
        return [r for r in self.requests if r.method == method and pattern.match(r.path)]

    def objects(self, kind: str) -> list[Json]:
        with self._lock:
            return self._data.state.of_kind(kind)

    def payment_intents(self) -> list[Json]:
        return self.objects("payment_intent")

    def charges(self) -> list[Json]:
        return self.objects("charge")

    def refunds(self) -> list[Json]:
        return self.objects("refund")

    def customers(self) -> list[Json]:
        return self.objects("customer")

    def products(self) -> list[Json]:
        return self.objects("product")

    def subscriptions(self) -> list[Json]:
        return self.objects("subscription")

    def invoices(self) -> list[Json]:
        return self.objects("invoice")

    def balance_transactions(self) -> list[Json]:
        return self.objects("balance_transaction")

    def get(self, object_id: str, expand: list[str] | None = None) -> Json:
        with self._lock:
            return self._data.state.view(object_id, expand)

    def net_captured(self) -> int:
        """Money Stripe holds for the account: succeeded charges minus their refunds."""
        return sum(
            c["amount"] - c["amount_refunded"] for c in self.charges() if c["status"] == "succeeded"
        )

    def fees(self) -> int:
        return sum(t["fee"] for t in self.balance_transactions())

    @property
    def events(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(self._data.state.events)

    def events_of(self, event_type: str) -> list[Json]:
        return [e for e in self.events if e["type"] == event_type]

    # -- outside the API --------------------------------------------------------------------

    def settle_in(self, currency: str, exchange_rate: float | None) -> None:
        """From now on the account settles charges in ``currency`` (lower case, two decimals):
        balance transactions and their fees are in it, with ``exchange_rate`` reported."""
        with self._lock:
            self._data.state.settlement = (currency, exchange_rate)

    def complete_in_browser(self, intent_id: str, payment_method: str = "pm_card_visa") -> Json:
        """The buyer confirms the intent with Stripe.js (no API request of ours involved)."""
        with self._lock:
            return self._data.state.complete_in_browser(intent_id, payment_method)

    def refund_from_dashboard(self, intent_id: str, amount: int | None = None) -> Json:
        params: Json = {"payment_intent": intent_id}
        if amount is not None:
            params["amount"] = str(amount)
        with self._lock:
            status, body = self._data.state.create_refund(params)
        assert status == 200, body
        return body

    def advance_period(self, subscription_id: str, payment_method: str | None = None) -> list[Json]:
        """Stripe's clock reaches the end of the subscription's period: it renews (its invoice
        charged with ``payment_method``, else the card on file: ``invoice.paid``, or
        ``invoice.payment_failed`` and ``past_due``), or ends when set to cancel at the period's
        end (``customer.subscription.deleted``). Answers the events Stripe sends for it, for a
        test to post (``post_webhook`` signs them)."""
        with self._lock:
            return copy.deepcopy(
                self._data.state.subscriptions.advance_period(subscription_id, payment_method)
            )

    def event_for(self, event_type: str, object_id: str) -> Json:
        """A Stripe ``Event`` of ``event_type`` whose ``data.object`` is the object now, e.g.
        ``event_for("payment_intent.succeeded", pi_id)`` or ``("charge.refunded", ch_id)``."""
        with self._lock:
            return self._data.state.event_for(event_type, object_id)

    # -- serving (called from the handler threads) ------------------------------------------

    def serve(self, method: str, path: str, params: Json, key: str | None) -> Answer | None:
        """The answer to a request, or None to hang up without one."""
        with self._lock:
            data = self._data
            data.requests.append(RecordedRequest(method, path, copy.deepcopy(params), key))
            fault = self._take_fault(path)
            release = self._release
            if fault is not None and fault.kind == "status":
                return _api_error(fault.status)
            fingerprint = _fingerprint(method, path, params)
            if key is not None and method in _IDEMPOTENT:
                stored = data.stored.get(key)
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        return error(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            f"parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                        )
                    return stored.status, {**stored.body, "_replayed": True}
                if key in data.running:
                    return error(
                        409,
                        "idempotency_error",
                        "There is currently another in-progress request using this "
                        "Idempotent Key (that probably means you submitted twice, and the "
                        "other request is still going through). Please try again later.",
                        code="idempotency_key_in_use",
                    )
                data.running.add(key)
            self._in_flight += 1
        try:
            if fault is not None and fault.kind == "hang":
                release.wait(fault.seconds)
                if not fault.process:
                    return _api_error(500)
            if fault is not None and fault.kind == "drop" and not fault.process:
                return None
            with self._lock:
                if data is not self._data:  # reset while hanging: the test is over
                    return _api_error(500)
                answer = _route(data.state, method, path, params)
                if key is not None and method in _IDEMPOTENT:
                    data.stored[key] = _Stored(fingerprint, *answer)
            return None if fault is not None and fault.kind == "drop" else answer
        finally:
            with self._lock:
                self._in_flight -= 1
                data.running.discard(key or "")

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._data.faults:
            if fault.path is None or path.startswith(fault.path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._data.faults.remove(fault)
                return fault
        return None


def _route(state: StripeState, method: str, path: str, params: Json) -> Answer:
    parts = path.strip("/").split("/")
    if parts[:1] != ["v1"]:
        return error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
    match method, parts[1:]:
        case "POST", ["payment_intents"]:
            return state.create_intent(params)
        case "GET", ["payment_intents", "search"]:
            return state.search_intents(params)
        case "GET", ["payment_intents", intent_id]:
            return state.retrieve_intent(intent_id, params)
        case "POST", ["payment_intents", intent_id, "confirm"]:
            return state.confirm_intent(intent_id, params)
        case "POST", ["payment_intents", intent_id, "cancel"]:
            return state.cancel_intent(intent_id, params)
        case "POST", ["refunds"]:
            return state.create_refund(params)
        case "POST", ["customers"]:
            return state.create_customer(params)
        case "GET", ["customers", customer_id]:
            return state.retrieve_customer(customer_id)
        case _, ["products" | "subscriptions", *_]:
            return _route_subscriptions(state, method, parts[1:], params)
    return error(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")


def _route_subscriptions(state: StripeState, method: str, parts: list[str], params: Json) -> Answer:
    subscriptions = state.subscriptions
    match method, parts:
        case "POST", ["products"]:
            return subscriptions.create_product(params)
        case "GET", ["products", product_id]:
            return subscriptions.retrieve_product(product_id)
        case "POST", ["subscriptions"]:
            return subscriptions.create_subscription(params)
        case "GET", ["subscriptions", subscription_id]:
            return subscriptions.retrieve_subscription(subscription_id, params)
        case "POST", ["subscriptions", subscription_id]:
            return subscriptions.modify_subscription(subscription_id, params)
        case "DELETE", ["subscriptions", subscription_id]:
            return subscriptions.cancel_subscription(subscription_id, params)
    return error(
        404, "invalid_request_error", f"Unrecognized request URL ({method}: {'/'.join(parts)})."
    )


def _api_error(status: int) -> Answer:
    return error(status, "api_error", "An unknown error occurred while processing the request.")


def _fingerprint(method: str, path: str, params: Json) -> str:
    return hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()


def decode_form(text: str) -> Json:
    """Stripe's form encoding (``metadata[order_id]=...``, ``expand[0]=...``) as nested JSON."""
    root: Json = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key) or [key]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    listed: Json = _lists(root)
    return listed


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not every request

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = decode_form(body if method == "POST" else url.query)
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
            self._send(*error(401, "invalid_request_error", "Invalid API Key provided."))
            return
        answer = self.fake.serve(method, url.path, params, self.headers.get("Idempotency-Key"))
        if answer is None:
            self.close_connection = True  # no status line, no body: the client sees EOF
            return
        self._send(*answer)

    def _send(self, status: int, body: Json) -> None:
        replayed = bool(body.pop("_replayed", False))
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", f"req_fake{time.monotonic_ns()}")
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a timeout test)


def running_fake() -> Iterator[FakeStripe]:
    """Start a fake for the session; the ``fake_stripe`` fixture resets it per test."""
    fake = FakeStripe()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
