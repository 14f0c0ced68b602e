"""The README's "Try it" works as printed: its bash block runs, unchanged but for the port,
against a server started the way `make run` starts one (`admitone demo`, then `admitone
serve`, no settings at all on SQLite), and every demo account that `admitone demo` prints can
sign in over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, TEST_SECRET
from tests.support.app_process import AppProcess, free_port, wait_until_ready

README = Path(__file__).resolve().parents[1] / "README.md"
README_ORIGIN = "http://127.0.0.1:4000"
ADMITONE = str(Path(sys.executable).with_name("admitone"))
# "  owner      owner@admitone.test  /  demo-owner-password", as `admitone demo` prints it
DEMO_ACCOUNT_LINE = re.compile(r"^\s+(\w+)\s+(\S+@\S+)\s+/\s+(\S.*)$", re.MULTILINE)


def try_it_block() -> str:
    text = README.read_text(encoding="utf-8")
    _, _, after = text.partition("Try it")
    match = re.search(r"```bash\n(.*?)```", after, re.DOTALL)
    assert match, "the README has no bash block under 'Try it'"
    return match.group(1)


def json_documents(output: str) -> list[Any]:
    """The JSON answers the block printed, one after another (curl adds no newline)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(output, at)) < len(output):
        document, at = decoder.raw_decode(output, at)
        documents.append(document)
    return documents


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


@pytest.fixture
def environment(backend: str, database_url: str) -> dict[str, str]:
    """The environment `make run` gives its commands: on SQLite nothing at all (the database
    aside, since the test has its own); PostgreSQL cannot start without a key."""
    if shutil.which("curl") is None:
        if IN_CI:
            pytest.fail("curl is required to run the README's commands under CI=true")
        pytest.skip("curl is not installed: the README's commands were NOT run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADMITONE_")}
    env["ADMITONE_DATABASE_URL"] = database_url
    if backend == "postgres":
        env["ADMITONE_SECRET_KEY"] = TEST_SECRET
    return env


@pytest.fixture
def served(environment: dict[str, str], tmp_path: Path) -> Iterator[tuple[AppProcess, str]]:
    demo = subprocess.run(
        [ADMITONE, "demo"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [ADMITONE, "serve", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield AppProcess(f"http://127.0.0.1:{port}", process, log), demo.stdout
    finally:
        process.terminate()
        process.wait(timeout=20)


async def test_the_readme_try_it_block_and_the_demo_accounts_work_over_http(
    served: tuple[AppProcess, str], environment: dict[str, str]
) -> None:
    server, printed = served
    await wait_until_ready(server, within=60)
    script = try_it_block().replace(README_ORIGIN, server.url)
    assert script.count(server.url) == 1  # every request goes through $API
    ran = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-euo", "pipefail", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}\n{server.output()}"
    me, events, purchase, order = json_documents(ran.stdout)

    assert (me["email"], me["role"]) == ("owner@admitone.test", "owner")
    [event] = events["data"]
    assert [tier["name"] for tier in event["tiers"]] == ["General admission", "VIP"]
    assert purchase["event_id"] == event["id"]
    assert (purchase["status"], purchase["quantity"], purchase["total"]) == ("paid", 2, "100.00")
    assert purchase["customer_email"] == "john@example.com"
    assert order["id"] == purchase["id"]
    assert order["status"] == "paid"
    assert len(order["tickets"]) == 2

    accounts = DEMO_ACCOUNT_LINE.findall(printed)
    assert {role for role, _, _ in accounts} == {"owner", "organizer"}, printed
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for role, email, password in accounts:
            signed_in = await client.post(
                "/api/auth/login", json={"email": email, "password": password}
            )
            assert signed_in.status_code == 200, signed_in.text
            token = signed_in.json()["access_token"]
            me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert (me.json()["email"], me.json()["role"]) == (email, role)
