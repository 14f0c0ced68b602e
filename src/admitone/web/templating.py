"""Rendering pages: one Jinja2 environment (autoescaped), the formats a buyer reads (money,
dates in the event's own timezone), and the headers every page carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from admitone.core.money import Money
from admitone.web.sessions import CSRF_FIELD, Browser

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Pages hold order tokens, QR codes and forms: never cached by a shared cache, never framed,
# and their address (with a guest's token) never sent to another site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def money(amount: int, currency: str) -> str:
    return f"{Money(amount, currency).to_decimal_string()} {currency}"


def local_time(moment: datetime, timezone: str) -> str:
    """``Saturday 14 January 2027, 19:00 (Europe/Paris)``: the time a visitor's ticket says."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({timezone})"


env.filters["money"] = money
env.globals["local_time"] = local_time
env.globals["CSRF_FIELD"] = CSRF_FIELD


def render(
    request: Request,
    state: Browser | None,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    html = env.get_template(template).render(
        request_path=request.url.path, browser=state, **(context or {})
    )
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    return state.apply(response) if state is not None else response


def fragment(template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
