"""The OpenAPI document says exactly what the server does: schemathesis, every check, every
operation, against a real server process (uvicorn, middleware, error handlers, rate limiter)
on SQLite and on PostgreSQL, seeded so that operations also reach their success paths.

Per operation and backend: the examples, coverage and fuzzing phases, at most
``MAX_EXAMPLES`` generated cases in the fuzzing phase, a fixed seed (reproducible runs).
A new route is covered without touching this file; one whose path parameter names a resource
the seeder does not know fails with a message saying where to teach it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

from admitone.app import openapi_document
from tests.backends import PostgresTemplate, SqliteTemplate, postgres_available
from tests.conftest import require_service
from tests.support.app_process import app_process, wait_until_ready
from tests.support.contract import (
    CUSTOMER_PASSWORD,
    OWNER_EMAIL,
    OWNER_PASSWORD,
    SERVER_SETTINGS,
    STRIPE_WEBHOOK,
    Outcomes,
    Seeder,
    World,
    seed_database,
    signed_in_bodies,
    stripe_signature,
)

MAX_EXAMPLES = 8
# Operations that cannot succeed from a generated request, and why (they are still fuzzed).
NO_SUCCESS_EXPECTED: dict[str, str] = {}

# Query parameters that must name a seeded resource for the operation to succeed.
STREAM = "GET /api/stream"
DELETE_ME = "DELETE /api/me"
AIMED_QUERIES = {STREAM: ("topics",)}

schema = schemathesis.openapi.from_dict(openapi_document())
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
# No stateful phase: the links it infers from answers let it demote its own owner (PUT
# /users/{id}/role with the id /api/me gave) and make a run depend on the order of steps. Cases
# reach the success paths by aiming instead (tests/support/contract.py).
schema.config.phases.stateful.enabled = False
schema.config.max_stream_events = 1
# Some cases are made at collection, before any server has a token to give: they carry this
# one, which the test swaps for the token of the server it runs against.
_TOKEN_PLACEHOLDER = "Bearer owner-token-placeholder"


@schema.auth()
class OwnerToken:
    """Every case signs in as the seeded owner, except those that test a missing token."""

    def get(self, case: Case[Any], ctx: schemathesis.AuthContext) -> str:
        return _TOKEN_PLACEHOLDER

    def set(self, case: Case[Any], data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


class RequestParserRefusedValidData(Failure):
    pass


@schemathesis.check
def schema_valid_request_parsed(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A request the document calls valid passes the request parser: a 422 with
    ``details.fields`` (pydantic's, from the declared schemas) or a 400 ``malformed_json`` means
    a constraint the document does not declare.

    This replaces schemathesis's ``positive_data_acceptance``, which refuses any 400/402/422 to
    a schema-valid request: business rules that no JSON Schema can state (an event must start
    in the future, a declined card, a weak password, a forged cursor) answer their declared
    status with their own error code, and are not a contract mismatch.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    body = _json(response)
    if (response.status_code == 422 and "fields" in body.get("details", {})) or (
        response.status_code == 400 and body.get("error") == "malformed_json"
    ):
        raise RequestParserRefusedValidData(
            operation=case.operation.label,
            title="Schema-valid request refused by the request parser",
            message=f"The document does not declare a constraint the server enforces: {body}",
        )
    return None


def _takes_query(case: Case[Any], name: str) -> bool:
    return any(
        parameter.get("in") == "query" and parameter.get("name") == name
        for parameter in case.operation.definition.raw.get("parameters", [])
    )


def _json(response: Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class ContractServer:
    def __init__(self, url: str, dead_job_id: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        login = {"email": OWNER_EMAIL, "password": OWNER_PASSWORD}
        token = self.http.post("/api/auth/login", json=login).json()["access_token"]
        self.authorization = f"Bearer {token}"
        self.seeder = Seeder(self.http, token)
        self.bodies = signed_in_bodies(self.seeder)
        self.dead_job_id = dead_job_id
        self.worlds: dict[str, World] = {}
        self.positive_cases: dict[str, int] = {}
        self.outcomes = Outcomes()

    def aim(self, case: Case[Any]) -> None:
        """Every other schema-valid case: at seeded resources, with a body that can succeed."""
        if case.headers and case.headers.get("Authorization") == _TOKEN_PLACEHOLDER:
            case.headers["Authorization"] = self.authorization
        label = case.operation.label
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return
        count = self.positive_cases[label] = self.positive_cases.get(label, 0) + 1
        if count % 2:
            return
        if case.path_parameters or label in AIMED_QUERIES:
            if label not in self.worlds:
                names = set(case.path_parameters or {}) | set(AIMED_QUERIES.get(label, ()))
                self.worlds[label] = self.seeder.world(names, self.dead_job_id)
            candidate = next(self.worlds[label].cycle)
            if case.path_parameters:
                case.path_parameters = {name: candidate[name] for name in case.path_parameters}
            if "token" in candidate and _takes_query(case, "token"):
                case.query = {**(case.query or {}), "token": candidate["token"]}
            for name in AIMED_QUERIES.get(label, ()):
                case.query = {**(case.query or {}), name: candidate[name]}
        if label in self.bodies:
            case.body = self.bodies[label]()
        if label == DELETE_ME:
            case.headers.update(self.seeder.customer_to_delete())
            case.body = {"password": CUSTOMER_PASSWORD}
        if label == STREAM:
            # An unknown Last-Event-ID gets an event at once (``reset``): the case need not wait.
            case.headers["Last-Event-ID"] = "contract"
        if label == STRIPE_WEBHOOK:
            case.headers["Stripe-Signature"] = stripe_signature(case.body)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def contract_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _sqlite_template: SqliteTemplate,
    _pg_template: PostgresTemplate | None,
) -> Iterator[ContractServer]:
    backend: str = request.param
    if backend == "postgres":
        require_service("PostgreSQL", postgres_available())
        assert _pg_template is not None
        name = _pg_template.new_database()
        database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        database_url = _sqlite_template.new_database()
    dead_job_id = asyncio.run(seed_database(database_url))
    log: Path = tmp_path_factory.mktemp("contract") / f"server-{backend}.log"
    settings = {**SERVER_SETTINGS, "ADMITONE_DATABASE_URL": database_url}
    try:
        with app_process(settings, log) as process:
            asyncio.run(wait_until_ready(process, within=60))
            server = ContractServer(process.url, dead_job_id)
            yield server
            server.http.close()
            _assert_every_operation_succeeded(server.outcomes, backend)
    finally:
        if backend == "postgres":
            assert _pg_template is not None
            _pg_template.release(name)


def _assert_every_operation_succeeded(outcomes: Outcomes, backend: str) -> None:
    print(f"\ncontract run on {backend}, statuses per operation:\n{outcomes.table()}")
    missing = [label for label in outcomes.never_succeeded() if label not in NO_SUCCESS_EXPECTED]
    assert not missing, (
        f"on {backend}, these operations never answered a 2xx, so their success path was not "
        f"checked: {missing}. Aim them at a seeded resource or give them a body that can succeed "
        "(tests/support/contract.py), or list them in NO_SUCCESS_EXPECTED with the reason."
    )


@schema.parametrize()
def test_operation_does_what_the_document_says(case: Case[Any], contract_server: ContractServer):
    # The cases made at collection (examples, coverage) are handed to the run on each backend:
    # aim a copy, so that no server's token or resources reach the next server's run.
    case = case.derive(keep_auth=True)
    contract_server.aim(case)
    response = case.call_and_validate(
        base_url=contract_server.url,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[schema_valid_request_parsed],
    )
    contract_server.outcomes.record(case.operation.label, response.status_code)
