"""On-sale benchmark: K concurrent buyers rush one hot event on a real ``admitone serve``.

Not a test (ARCHITECTURE.md: speed and memory targets live in bench/). It creates and migrates
a fresh database (PostgreSQL by default, ``--sqlite`` for a file), starts the server with N
workers, the fake gateway at ``--gateway-latency-ms`` and the rate limits raised, creates an
organizer and a published event through the API, optionally pre-sells ``--presold`` tickets
with bulk inserts, drives the buyers (one process, asyncio, keep-alive connections) and prints
one JSON document: purchases/s, latency percentiles, errors by kind, oversold (must be 0, from
the database's counters and tickets), server RSS and CPU per process, and the parameters.

    .venv/bin/python bench/onsale.py --buyers 32 --duration 20
    .venv/bin/python bench/onsale.py --buyers 32 --presold 300000
    .venv/bin/python bench/onsale.py --buyers 64 --capacity 500       # a sell-out
    .venv/bin/python bench/onsale.py --sqlite --buyers 32 --duration 20
    .venv/bin/python bench/onsale.py --buyers 32 --duration 20 --with-products  # a shirt each
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from http1 import TRANSPORT_ERRORS, Answer, Connection
from sqlalchemy import func, insert, select, update

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role
from admitone.config import Settings, normalise_database_url
from admitone.core.actor import SYSTEM, acting_as
from admitone.core.db import Database
from admitone.events.models import Event, Tier
from admitone.runtime import Runtime
from admitone.schema import upgrade
from admitone.ticketing.models import Order, OrderLine, Ticket

LARGE_CAPACITY = 10_000_000  # the API's maximum tier capacity
RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ORGANIZER_PASSWORD = "bench-organizer-password"  # noqa: S105 - a throwaway benchmark account
TICKET_PRICE = "50.00"
PRODUCT_PRICE = "20.00"
PRODUCT_STOCK = 10_000_000  # the API's maximum
PRESOLD_PER_ORDER = 4
PRESOLD_BATCH_ORDERS = 2_500
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the command line ---------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Rush one hot event with K concurrent buyers and report JSON.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    db = parser.add_mutually_exclusive_group()
    db.add_argument(
        "--database-url",
        help="an existing, empty or migrated database to use (default: a fresh PostgreSQL one)",
    )
    db.add_argument("--sqlite", action="store_true", help="run on a fresh SQLite file")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN, help="where fresh databases are made")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it afterwards")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--separate-ports",
        action="store_true",
        help="run --workers single-worker servers on their own ports and spread the buyers "
        "over them (what a load balancer does), instead of one `serve --workers N`",
    )
    parser.add_argument("--buyers", type=int, default=32, help="concurrent buyers (connections)")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds (after the warm-up)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument(
        "--purchases",
        type=int,
        default=None,
        help="stop after this many purchase attempts instead of after --duration",
    )
    parser.add_argument(
        "--capacity",
        default="large",
        help="'large' for throughput, or a number of tickets for a sell-out",
    )
    parser.add_argument("--quantity", type=int, default=1, help="tickets per order")
    parser.add_argument(
        "--with-products",
        action="store_true",
        help="put one shop product line (a product of the event, ample stock) in every purchase",
    )
    parser.add_argument(
        "--shop-extras",
        action="store_true",
        help="the event also sells a product and has a coupon in use (one order holds both), "
        "while the rush buys tickets only: the hot path must not pay for what it does not use",
    )
    parser.add_argument(
        "--presold", type=int, default=0, help="tickets of the event sold beforehand (bulk SQL)"
    )
    parser.add_argument("--gateway-latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--retry-every",
        type=int,
        default=0,
        help="send every Nth purchase again, same idempotency key, as a client that lost the "
        "answer would (its 200 counts as 'replayed', not as a purchase; 0: never)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="database pool per worker (default: the buyers it may have, plus two, so that "
        "purchases done alone never overflow it; with group commit a rush opens only a few)",
    )
    parser.add_argument("--max-overflow", type=int, default=10)
    parser.add_argument(
        "--worker-in-process",
        action="store_true",
        help="run the job worker inside the server (embedded mode) instead of leaving jobs queued",
    )
    parser.add_argument("--log-level", default="WARNING", help="the server's log level")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument(
        "--max-failures",
        type=int,
        default=500,
        help="stop early after this many failed purchases (5xx, transport errors, ...)",
    )
    parser.add_argument("--label", default="", help="a free-form name kept in the report")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.capacity != "large" and not args.capacity.isdigit():
        parser.error("--capacity is 'large' or a whole number")
    if args.sqlite and args.workers != 1:
        args.workers = 1  # SQLite serves from one process (admitone serve refuses more)
    return args


# --- databases ----------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    url: str
    drop: str | None = None  # a PostgreSQL database this run created
    path: Path | None = None  # an SQLite file this run created


async def create_database(args: argparse.Namespace) -> BenchDatabase:
    if args.database_url:
        return BenchDatabase(normalise_database_url(args.database_url))
    if args.sqlite:
        path = Path(tempfile.mkdtemp(prefix="admitone-bench-")) / "onsale.db"
        return BenchDatabase(f"sqlite+aiosqlite:///{path}", path=path)
    name = f"admitone_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(args.pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = args.pg_admin_url.rsplit("/", 1)[0]
    return BenchDatabase(normalise_database_url(f"{base}/{name}"), drop=name)


async def drop_database(args: argparse.Namespace, database: BenchDatabase) -> None:
    if database.drop:
        conn = await asyncpg.connect(args.pg_admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database.drop}" WITH (FORCE)')
        finally:
            await conn.close()
    if database.path is not None:
        remove_sqlite(database.path)


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with suppress(OSError):
        path.parent.rmdir()


async def migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADMITONE_")}
    env.update(
        {
            # Production refuses the fake gateway; JSON logs give the production log cost.
            "ADMITONE_ENV": "development",
            "ADMITONE_LOG_JSON": "true",
            "ADMITONE_SECRET_KEY": secrets.token_urlsafe(48),
            "ADMITONE_DATABASE_URL": database_url,
            "ADMITONE_DATABASE_POOL_SIZE": str(pool_size(args)),
            "ADMITONE_DATABASE_MAX_OVERFLOW": str(args.max_overflow),
            "ADMITONE_AUTO_MIGRATE": "false",
            "ADMITONE_RUN_WORKER_IN_PROCESS": "true" if args.worker_in_process else "false",
            "ADMITONE_RATE_LIMITS_ENABLED": "true",
            "ADMITONE_RATE_LIMIT_DEFAULT": "10000000/minute",
            "ADMITONE_RATE_LIMIT_STRICT": "10000000/minute",
            "ADMITONE_PAYMENT_GATEWAY": "fake",
            "ADMITONE_FAKE_GATEWAY_LATENCY_MS": str(args.gateway_latency_ms),
            "ADMITONE_EMAIL_BACKEND": "memory",
            "ADMITONE_LOG_LEVEL": args.log_level,
        }
    )
    return env


def pool_size(args: argparse.Namespace) -> int:
    if args.pool_size:
        return int(args.pool_size)
    # Workers sharing one socket split the connections unevenly: any of them may hold them all.
    share = math.ceil(args.buyers / args.workers) if args.separate_ports else args.buyers
    return share + 2


@dataclass
class Server:
    """One ``admitone serve --workers N``, or N single-worker servers on their own ports (the
    way a load balancer in front would spread connections)."""

    urls: list[str]
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-5000:] for log in self.logs)


@contextmanager
def serve(args: argparse.Namespace, database_url: str, log: Path) -> Iterator[Server]:
    env = server_env(args, database_url)
    admitone = Path(sys.executable).with_name("admitone")
    servers = args.workers if args.separate_ports else 1
    workers = 1 if args.separate_ports else args.workers
    server = Server([], [], [])
    try:
        for index in range(servers):
            port = free_port()
            path = log.with_suffix(f".{index}.log")
            command = [str(admitone), "serve", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--workers", str(workers)]
            with path.open("wb") as output:
                # A session of its own: a supervisor and its workers are stopped as one group.
                process = subprocess.Popen(
                    command,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            server.urls.append(f"http://127.0.0.1:{port}")
            server.processes.append(process)
            server.logs.append(path)
        yield server
    finally:
        for process in server.processes:
            stop_server(process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    # Workers left behind by a supervisor that died are in its process group.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


async def wait_until_ready(server: Server, within: float) -> None:
    deadline = time.monotonic() + within
    for url, process in zip(server.urls, server.processes, strict=True):
        async with httpx.AsyncClient(base_url=url, timeout=2.0) as client:
            while True:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the server did not start:\n{server.output()}")
                with suppress(httpx.TransportError):
                    if (await client.get("/api/health")).status_code == 200:
                        break
                await asyncio.sleep(0.2)


# --- /proc: memory and CPU of the server's processes ----------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return [raw[: raw.rindex(")") + 1], *raw[raw.rindex(")") + 2 :].split()]


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[2])
    found, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[12]) + int(fields[13])) / CLK_TCK


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU of every PostgreSQL process of the machine, by pid (other users' included: rough)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0].endswith("(postgres)"):
            found[int(entry.name)] = (int(fields[12]) + int(fields[13])) / CLK_TCK
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between by the processes alive at the end (new ones count from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM afresh (Linux ``clear_refs`` 5), so that the peak is the rush's own and not
    the organizer's sign-in (argon2 hashes with 64 MiB)."""
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def memory_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:160]


@dataclass
class ProcessWatch:
    """RSS and CPU of the server's processes (and, roughly, of the rest of the machine) over
    the measured window."""

    roots: list[int]
    peak_rss_kb: dict[int, int] = field(default_factory=dict)
    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_end: dict[int, float] = field(default_factory=dict)
    marked: bool = False
    machine: list[tuple[float, float]] = field(default_factory=list)
    postgres: list[dict[int, float]] = field(default_factory=list)
    loadgen: list[float] = field(default_factory=list)

    @property
    def supervised(self) -> bool:
        """A single ``serve --workers N>1``: its root only supervises worker processes."""
        return len(self.roots) == 1 and len(self.pids()) > 1

    def pids(self) -> list[int]:
        return [pid for root in self.roots for pid in descendants(root)]

    def reset_peaks(self) -> None:
        for pid in self.pids():
            reset_peak_rss(pid)
        self.peak_rss_kb.clear()

    def sample(self) -> None:
        for pid in self.pids():
            rss = memory_kb(pid).get("VmRSS", 0)
            self.peak_rss_kb[pid] = max(self.peak_rss_kb.get(pid, 0), rss)

    def _cpu(self) -> tuple[dict[int, float], tuple[float, float], dict[int, float], float]:
        pids = {pid: cpu_seconds(pid) for pid in self.pids()}
        return pids, machine_cpu(), postgres_cpu_seconds(), time.process_time()

    def mark(self) -> None:
        self.marked = True
        self.cpu_start, machine, postgres, loadgen = self._cpu()
        self.machine, self.postgres, self.loadgen = [machine], [postgres], [loadgen]

    def finish(self) -> None:
        self.sample()
        self.cpu_end, machine, postgres, loadgen = self._cpu()
        self.machine.append(machine)
        self.postgres.append(postgres)
        self.loadgen.append(loadgen)

    def cpu_report(self, sqlite: bool, purchases: int) -> dict[str, Any]:
        (busy0, total0), (busy1, total1) = self.machine
        server = cpu_used(self.cpu_start, self.cpu_end)
        postgres = None if sqlite else cpu_used(self.postgres[0], self.postgres[1])
        loadgen = self.loadgen[1] - self.loadgen[0]
        per = 1000 / max(purchases, 1)
        return {
            "server": round(server, 2),
            "postgres_all_backends": None if postgres is None else round(postgres, 2),
            "load_generator": round(loadgen, 2),
            "machine_busy_fraction": round((busy1 - busy0) / max(total1 - total0, 1.0), 3),
            # Per successful purchase: what an idle machine could do is cores / their sum.
            "server_ms_per_purchase": round(server * per, 1),
            "postgres_ms_per_purchase": None if postgres is None else round(postgres * per, 1),
            "load_generator_ms_per_purchase": round(loadgen * per, 1),
        }

    def report(self) -> list[dict[str, Any]]:
        rows = []
        for pid in self.pids():
            memory = memory_kb(pid)
            command = cmdline(pid)
            rows.append(
                {
                    "pid": pid,
                    "role": _role(command, supervisor=pid in self.roots and self.supervised),
                    "rss_mb": round(memory.get("VmRSS", 0) / 1024, 1),
                    "peak_rss_mb": round(
                        max(memory.get("VmHWM", 0), self.peak_rss_kb.get(pid, 0)) / 1024, 1
                    ),
                    "cpu_seconds_measured": round(
                        self.cpu_end.get(pid, 0.0) - self.cpu_start.get(pid, 0.0), 2
                    ),
                    "cmdline": command,
                }
            )
        return rows


def _role(command: str, *, supervisor: bool) -> str:
    if supervisor:
        return "supervisor"
    if "resource_tracker" in command:
        return "multiprocessing resource tracker"
    return "worker"


# --- setup through the API ------------------------------------------------------------------


async def create_organizer(database_url: str) -> str:
    settings = Settings(database_url=database_url, run_worker_in_process=False)
    runtime = Runtime.build(settings)
    email = f"organizer-{uuid.uuid4().hex[:8]}@example.com"
    try:
        async with runtime.unit_of_work() as uow:
            with acting_as(SYSTEM):
                await accounts_service.create_user(
                    uow,
                    settings,
                    email=email,
                    name="Bench Organizer",
                    password=ORGANIZER_PASSWORD,
                    role=Role.ORGANIZER,
                )
    finally:
        await runtime.close()
    return email


async def organizer_headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await client.post(
        "/api/auth/login", json={"email": email, "password": ORGANIZER_PASSWORD}
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def create_product(client: httpx.AsyncClient, email: str, event_id: uuid.UUID) -> str:
    """A product of the event with stock it cannot run out of in a rush: its counter is still
    taken by every purchase, as a real product's would be."""
    created = await client.post(
        "/api/shop/products",
        json={
            "name": "Tour shirt",
            "price": PRODUCT_PRICE,
            "event_id": str(event_id),
            "stock_tracking": "product",
            "stock": PRODUCT_STOCK,
        },
        headers=await organizer_headers(client, email),
    )
    if created.status_code != 201:
        raise RuntimeError(f"product creation failed: {created.status_code} {created.text}")
    product_id: str = created.json()["id"]
    return product_id


async def coupon_in_use(
    client: httpx.AsyncClient, email: str, event_id: uuid.UUID, product_id: str
) -> None:
    """A 10 % coupon of the organizer, used once by an order of a ticket and the product."""
    created = await client.post(
        "/api/coupons",
        json={"code": "BENCH10", "kind": "percent", "percent_off": "10"},
        headers=await organizer_headers(client, email),
    )
    if created.status_code != 201:
        raise RuntimeError(f"coupon creation failed: {created.status_code} {created.text}")
    order = {
        "customer_email": "coupon-buyer@example.com",
        "customer_name": "Coupon Buyer",
        "quantity": 1,
        "products": [{"product_id": product_id, "quantity": 1}],
        "coupon_code": "bench10",
    }
    bought = await client.post(f"/api/events/{event_id}/purchase", json={"order": order})
    if bought.status_code != 201 or bought.json()["discount"] == "0.00":
        raise RuntimeError(f"coupon purchase failed: {bought.status_code} {bought.text}")


async def create_event(client: httpx.AsyncClient, email: str, capacity: int) -> uuid.UUID:
    headers = await organizer_headers(client, email)
    starts = datetime.now(UTC) + timedelta(days=90)
    created = await client.post(
        "/api/events",
        json={
            "event": {
                "name": "The hot show",
                "venue": "Benchmark Arena",
                "date": starts.isoformat(),
                "ticket_price": TICKET_PRICE,
                "total_tickets": capacity,
            }
        },
        headers=headers,
    )
    if created.status_code != 201:
        raise RuntimeError(f"event creation failed: {created.status_code} {created.text}")
    event_id = uuid.UUID(created.json()["id"])
    published = await client.post(f"/api/events/{event_id}/publish", headers=headers)
    if published.status_code != 200:
        raise RuntimeError(f"publishing failed: {published.status_code} {published.text}")
    return event_id


async def presell(database_url: str, event_id: uuid.UUID, tickets: int) -> float:
    """Bulk-insert paid orders, their lines and tickets, and move the counters as the purchases
    would have. Returns the seconds it took."""
    started = time.perf_counter()
    database = Database(database_url)
    now = datetime.now(UTC)
    try:
        async with database.engine.begin() as conn:
            tier = (
                await conn.execute(
                    select(Tier.id, Tier.price, Tier.name).where(Tier.event_id == event_id)
                )
            ).one()
            done = 0
            while done < tickets:
                orders: list[dict[str, Any]] = []
                lines: list[dict[str, Any]] = []
                issued: list[dict[str, Any]] = []
                while done < tickets and len(orders) < PRESOLD_BATCH_ORDERS:
                    quantity = min(PRESOLD_PER_ORDER, tickets - done)
                    order_id = uuid.uuid4()
                    serial = done // PRESOLD_PER_ORDER
                    orders.append(
                        {
                            "id": order_id,
                            "reference": f"P{serial:09d}",
                            "event_id": event_id,
                            "buyer_key": f"email:presold{serial}@example.com",
                            "customer_email": f"presold{serial}@example.com",
                            "customer_name": "Presold Buyer",
                            "status": "paid",
                            "quantity": quantity,
                            "total_amount": tier.price * quantity,
                            "currency": "USD",
                            "access_token_hash": secrets.token_hex(32),
                            "expires_at": now,
                            "payment_gateway": "fake",
                            "payment_reference": f"ch_presold_{serial}",
                            "refund_due": False,
                            "paid_at": now,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    lines.append(
                        {
                            "id": uuid.uuid4(),
                            "order_id": order_id,
                            "tier_id": tier.id,
                            "position": 0,
                            "quantity": quantity,
                            "unit_price": tier.price,
                            "tier_name": tier.name,
                        }
                    )
                    issued += [
                        {
                            "id": uuid.uuid4(),
                            "order_id": order_id,
                            "event_id": event_id,
                            "tier_id": tier.id,
                            "position": position,
                            "code": secrets.token_urlsafe(16),
                            "status": "valid",
                            "created_at": now,
                        }
                        for position in range(quantity)
                    ]
                    done += quantity
                await conn.execute(insert(Order), orders)
                await conn.execute(insert(OrderLine), lines)
                await conn.execute(insert(Ticket), issued)
            await conn.execute(
                update(Event).where(Event.id == event_id).values(taken=Event.taken + tickets)
            )
            await conn.execute(
                update(Tier).where(Tier.id == tier.id).values(taken=Tier.taken + tickets)
            )
        if not database.is_sqlite:
            async with database.engine.connect() as conn:
                # What autovacuum would do after the bulk load (a cost of the load, not of the
                # purchases measured), to the tables it filled only: statistics of the others
                # taken now, while they are empty, would plan their look-ups (foreign key
                # checks among them) as scans of what the rush then fills.
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql(
                    "VACUUM ANALYZE events, tiers, orders, order_lines, tickets"
                )
                await autocommit.exec_driver_sql("CHECKPOINT")  # and the pages it dirtied
    finally:
        await database.dispose()
    return time.perf_counter() - started


# --- the rush -------------------------------------------------------------------------------


@dataclass
class Outcome:
    started: float
    latency: float
    kind: str  # "ok", "replayed", or "<status>:<error code>", or "transport:<exception>"


@dataclass
class Rush:
    outcomes: list[Outcome] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    window: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Plan:
    """When to measure: a throughput run after a warm-up for a fixed time; a sell-out or a fixed
    number of purchases whole (the duration then only bounds a sell-out)."""

    measure_from: float
    measure_until: float
    sellout: bool

    @classmethod
    def of(cls, args: argparse.Namespace, begin: float) -> Plan:
        sellout = args.capacity != "large"
        whole = sellout or args.purchases is not None
        measure_from = begin if whole else begin + args.warmup
        if args.purchases is not None:
            measure_until = math.inf
        elif sellout:
            measure_until = begin + max(args.duration, 1.0) * 10
        else:
            measure_until = measure_from + args.duration
        return cls(measure_from, measure_until, sellout)


async def buy_until_stopped(
    args: argparse.Namespace,
    connection: Connection,
    *,
    path: str,
    name: str,
    plan: Plan,
    result: Rush,
    stop: asyncio.Event,
    product_id: str | None = None,
) -> None:
    serial = 0
    while not stop.is_set():
        if args.purchases is not None and result.attempts >= args.purchases:
            return
        result.attempts += 1
        serial += 1
        body: dict[str, Any] = {
            "order": {
                "customer_email": f"{name}-{serial}@example.com",
                "customer_name": "Bench Buyer",
                "quantity": args.quantity,
                "idempotency_key": f"{name}-{serial}",
            }
        }
        if product_id is not None:
            body["order"]["products"] = [{"product_id": product_id, "quantity": 1}]
        kind = await send(connection, path, body, plan, result, expect=(201, "ok"))
        if kind == "ok" and args.retry_every and serial % args.retry_every == 0:
            kind = await send(connection, path, body, plan, result, expect=(200, "replayed"))
        if plan.sellout and kind == "409:sold_out":
            return
        if kind not in {"ok", "replayed"} and not kind.startswith("409:"):
            result.failures += 1
            if result.failures >= args.max_failures:
                stop.set()  # the server is failing: report that rather than hammer it


async def send(
    connection: Connection,
    path: str,
    body: dict[str, Any],
    plan: Plan,
    result: Rush,
    *,
    expect: tuple[int, str],
) -> str:
    sent = time.perf_counter()
    try:
        answer = await connection.post_json(path, body)
        kind = expect[1] if answer.status == expect[0] else _error_kind(answer)
    except TRANSPORT_ERRORS as exc:
        kind = f"transport:{type(exc).__name__}"
    done = time.perf_counter()
    # Throughput counts what completes inside the window, wherever it started.
    if plan.measure_from <= done <= plan.measure_until:
        result.outcomes.append(Outcome(sent, done - sent, kind))
    return kind


async def rush(
    args: argparse.Namespace,
    server: Server,
    event_id: uuid.UUID,
    watch: ProcessWatch,
    product_id: str | None = None,
) -> Rush:
    result = Rush()
    tag = uuid.uuid4().hex[:8]
    path = f"/api/events/{event_id}/purchase"
    plan = Plan.of(args, time.perf_counter())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)  # Ctrl-C ends the rush; cleanup still runs

    async def clock() -> None:
        while not stop.is_set():
            now = time.perf_counter()
            if now >= plan.measure_from and not watch.marked:
                watch.mark()
            if now >= plan.measure_until:
                stop.set()
                return
            watch.sample()
            await asyncio.sleep(min(0.5, max(plan.measure_from - now, 0.0) or 0.5))

    # One keep-alive connection per buyer, spread over the servers the way a balancer would.
    connections = [
        Connection(server.urls[i % len(server.urls)], args.request_timeout)
        for i in range(args.buyers)
    ]
    try:
        ticker = asyncio.create_task(clock())
        await asyncio.gather(
            *(
                buy_until_stopped(
                    args,
                    connections[i],
                    path=path,
                    name=f"b{i}-{tag}",
                    plan=plan,
                    result=result,
                    stop=stop,
                    product_id=product_id,
                )
                for i in range(args.buyers)
            )
        )
        stop.set()
        await ticker
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    watch.finish()
    if math.isinf(plan.measure_until) or plan.sellout:
        first = min((o.started for o in result.outcomes), default=plan.measure_from)
        result.window = (first, max((o.started + o.latency for o in result.outcomes), default=0))
    else:
        result.window = (plan.measure_from, plan.measure_until)
    return result


def _error_kind(answer: Answer) -> str:
    try:
        code = answer.json().get("error", "?")
    except ValueError:
        code = "not_json"
    return f"{answer.status}:{code}"


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return round(sorted_values[rank - 1] * 1000, 1)


def latency_summary(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    values = sorted(o.latency for o in outcomes)
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": percentile(values, 1.0),
        "mean": round(sum(values) / len(values) * 1000, 1) if values else None,
    }


# --- after the rush: the database's word on overselling ------------------------------------


async def audit(database_url: str, event_id: uuid.UUID) -> dict[str, Any]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            event = (
                await conn.execute(
                    select(Event.taken, Event.max_attendees).where(Event.id == event_id)
                )
            ).one()
            tiers = (
                await conn.execute(
                    select(Tier.id, Tier.taken, Tier.capacity).where(Tier.event_id == event_id)
                )
            ).all()
            valid = await conn.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.event_id == event_id, Ticket.status == "valid")
            )
            statuses = {
                status: count
                for status, count in await conn.execute(
                    select(Order.status, func.count())
                    .where(Order.event_id == event_id)
                    .group_by(Order.status)
                )
            }
            held = await conn.scalar(
                select(func.coalesce(func.sum(Order.quantity), 0)).where(
                    Order.event_id == event_id, Order.status.in_(("pending", "paid", "refunding"))
                )
            )
    finally:
        await database.dispose()
    capacity = sum(t.capacity for t in tiers)
    if event.max_attendees is not None:
        capacity = min(capacity, event.max_attendees)
    valid_tickets = int(valid or 0)
    oversold = max(
        0,
        valid_tickets - capacity,
        event.taken - capacity,
        *(t.taken - t.capacity for t in tiers),
    )
    return {
        "capacity": capacity,
        "event_taken": event.taken,
        "tier_taken": [t.taken for t in tiers],
        "valid_tickets": valid_tickets,
        "orders_by_status": statuses,
        "tickets_held_by_live_orders": int(held or 0),
        "counters_match_orders": int(held or 0) == event.taken,
        "oversold": oversold,
    }


# --- PostgreSQL's own counters: does a purchase read the sold tickets? ---------------------

TABLE_STATS = """
    SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), coalesce(idx_tup_fetch, 0)
    FROM pg_stat_user_tables
    WHERE relname IN ('orders', 'order_lines', 'tickets', 'events', 'tiers')
"""


async def table_reads(database_url: str) -> dict[str, tuple[int, ...]] | None:
    """Rows each table gave to queries so far (PostgreSQL only). Taken before and after the rush,
    it shows whether a purchase reads anything in proportion to what was already sold."""
    if database_url.startswith("sqlite"):
        return None
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            rows = (await conn.exec_driver_sql(TABLE_STATS)).all()
    finally:
        await database.dispose()
    return {str(row[0]): tuple(int(value) for value in list(row)[1:]) for row in rows}


def reads_during(
    before: dict[str, tuple[int, ...]] | None,
    after: dict[str, tuple[int, ...]] | None,
    purchases: int,
) -> dict[str, Any] | None:
    if before is None or after is None:
        return None
    out: dict[str, Any] = {}
    for table in sorted(after):
        seq_scan, seq_rows, idx_scan, idx_rows = (
            a - b for a, b in zip(after[table], before.get(table, (0, 0, 0, 0)), strict=True)
        )
        out[table] = {
            "seq_scans": seq_scan,
            "rows_by_seq_scan": seq_rows,
            "index_scans": idx_scan,
            "rows_by_index": idx_rows,
            "rows_read_per_purchase": round((seq_rows + idx_rows) / max(purchases, 1), 2),
        }
    return out


# --- the whole run --------------------------------------------------------------------------


_T0 = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    capacity = LARGE_CAPACITY if args.capacity == "large" else int(args.capacity)
    if args.presold and args.presold >= capacity:
        raise SystemExit("--presold must leave some capacity")
    load_before = load_average()
    database = await create_database(args)
    report: dict[str, Any] = {}
    try:
        progress(f"migrating {database.url}")
        await migrate(database.url)
        organizer = await create_organizer(database.url)
        progress(f"starting {args.workers} server worker(s)")
        log = RESULTS / f"server-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}.log"
        with serve(args, database.url, log) as server:
            await wait_until_ready(server, args.startup_timeout)
            progress("server ready; creating the event")
            async with httpx.AsyncClient(base_url=server.urls[0], timeout=30.0) as client:
                event_id = await create_event(client, organizer, capacity)
                product_id = (
                    await create_product(client, organizer, event_id)
                    if args.with_products or args.shop_extras
                    else None
                )
                if args.shop_extras:
                    assert product_id is not None
                    await coupon_in_use(client, organizer, event_id, product_id)
                    if not args.with_products:
                        product_id = None
            presell_seconds = None
            if args.presold:
                progress(f"pre-selling {args.presold} tickets")
                presell_seconds = await presell(database.url, event_id, args.presold)
            progress(f"rush: {args.buyers} buyers")
            reads_before = await table_reads(database.url)
            watch = ProcessWatch([process.pid for process in server.processes])
            watch.reset_peaks()
            watch.sample()
            result = await rush(args, server, event_id, watch, product_id)
            processes = watch.report()
            server_errors = [line for line in server.output().splitlines() if "Traceback" in line]
        progress("server stopped; auditing the database")
        reads_after = await table_reads(database.url)
        checks = await audit(database.url, event_id)
        seconds = max(result.window[1] - result.window[0], 1e-9)
        kinds = Counter(o.kind for o in result.outcomes)
        succeeded = kinds.get("ok", 0)
        workers = [p for p in processes if p["role"] == "worker"] or processes
        report = {
            "label": args.label,
            "purchases_per_second": round(succeeded / seconds, 1),
            "requests_per_second": round(len(result.outcomes) / seconds, 1),
            "measured_seconds": round(seconds, 2),
            "succeeded": succeeded,
            "requests_measured": len(result.outcomes),
            "latency_ms": latency_summary(result.outcomes),
            "latency_ok_ms": latency_summary([o for o in result.outcomes if o.kind == "ok"]),
            "replayed": kinds.get("replayed", 0),
            "errors": {
                kind: n for kind, n in sorted(kinds.items()) if kind not in {"ok", "replayed"}
            },
            "server_errors_5xx": sum(n for kind, n in kinds.items() if kind.startswith("5")),
            "server_tracebacks": len(server_errors),
            "stopped_early_by_failures": result.failures >= args.max_failures,
            "oversold": checks["oversold"],
            "database": checks,
            # Over the whole rush (warm-up included), divided by every successful purchase.
            "table_reads": reads_during(
                reads_before, reads_after, checks["event_taken"] - args.presold
            ),
            "max_worker_rss_mb": max((p["peak_rss_mb"] for p in workers), default=None),
            "server_processes": processes,
            "cpu_seconds_measured": watch.cpu_report(database.url.startswith("sqlite"), succeeded),
            "machine": {
                "cores": os.cpu_count(),
                "load_average_before": load_before,
                "load_average_after": load_average(),
            },
            "parameters": {
                "backend": "sqlite" if database.url.startswith("sqlite") else "postgresql",
                "workers": args.workers,
                "separate_ports": args.separate_ports,
                "buyers": args.buyers,
                "duration": None if args.purchases else args.duration,
                "warmup": args.warmup,
                "purchases": args.purchases,
                "capacity": capacity,
                "quantity": args.quantity,
                "with_products": args.with_products,
                "shop_extras": args.shop_extras,
                "presold": args.presold,
                "presold_insert_seconds": (
                    round(presell_seconds, 1) if presell_seconds is not None else None
                ),
                "gateway_latency_ms": args.gateway_latency_ms,
                "pool_size": pool_size(args),
                "max_overflow": args.max_overflow,
                "worker_in_process": args.worker_in_process,
                "log_level": args.log_level,
                "server_logs": [str(path) for path in server.logs],
            },
        }
    finally:
        if not args.keep_database:
            await drop_database(args, database)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 1 if report.get("oversold") else 0


if __name__ == "__main__":
    sys.exit(main())
