"""Real app processes for tests: ``uvicorn admitone.app:create_app`` on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def app_process(
    settings: Mapping[str, str], log: Path, *, factory: str = "admitone.app:create_app"
) -> Iterator[AppProcess]:
    """Start the app with ``settings`` (``ADMITONE_*`` variables) as its only configuration:
    nothing from the caller's ``ADMITONE_*`` environment leaks in. Always terminated on exit.
    ``factory``: another app factory (``tests.support.clocked_app:create_app``)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADMITONE_")}
    env.update(settings)
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--timeout-graceful-shutdown", "2",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield AppProcess(f"http://127.0.0.1:{port}", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def wait_until_ready(app: AppProcess, *, within: float) -> None:
    """Poll ``/api/health`` until it answers 200; fail with the process's output otherwise."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=app.url, timeout=2.0) as client:
        while time.monotonic() < deadline and app.process.poll() is None:
            try:
                if (await client.get("/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)  # polling a starting process; correctness waits on events
    raise AssertionError(f"{app.url} did not start:\n{app.output()}")


@asynccontextmanager
async def two_app_processes(
    settings: Mapping[str, str], logs: Path, *, within: float
) -> AsyncIterator[tuple[AppProcess, AppProcess]]:
    """Two app processes with the same ``settings``, both ready (logs: ``a.log``, ``b.log``)."""
    with (
        app_process(settings, logs / "a.log") as a,
        app_process(settings, logs / "b.log") as b,
    ):
        await asyncio.gather(wait_until_ready(a, within=within), wait_until_ready(b, within=within))
        yield a, b
