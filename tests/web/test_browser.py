"""The buyer's pages in a real browser (Chromium through Playwright) against a real server
process, on SQLite and on PostgreSQL: what a person sees and does, live parts included."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import Server, WebEvent, make_event

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TIERS = [("General admission", "50.00", 50), ("VIP", "150.00", 10)]
# Counts the live messages a page has received, so a test knows its stream is subscribed.
COUNT_LIVE_MESSAGES = """
window.__liveMessages = 0;
document.addEventListener("htmx:sseMessage", () => { window.__liveMessages += 1; });
"""


def new_event(server: Server) -> WebEvent:
    event: WebEvent = server.run(make_event, tiers=TIERS)
    return event


def open_page(browser_context: Any, url: str, **options: Any) -> Page:
    page: Page = browser_context(**options).new_page()
    page.add_init_script(COUNT_LIVE_MESSAGES)
    page.goto(url)
    return page


def choose_tickets(page: Page, general: int, vip: int) -> None:
    page.get_by_label("General admission").fill(str(general))
    page.get_by_label("VIP").fill(str(vip))
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()


def tier_left(page: Page, event: WebEvent, index: int) -> Any:
    return page.locator(f"#left-{event.tier_ids[index]}")


def test_guest_buys_two_tiers_and_sees_their_qr_codes(server: Server, browser_context: Any):
    event = new_event(server)
    page = open_page(browser_context, f"{server.url}/events/{event.id}")

    choose_tickets(page, general=2, vip=1)
    expect(page.get_by_text("Your seats are held for")).to_be_visible()
    page.get_by_role("button", name="Pay 250.00 USD").click()

    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    codes = page.get_by_role("img", name=re.compile(r"^QR code of ticket"))
    expect(codes).to_have_count(3)
    loaded = page.eval_on_selector_all(
        "img[alt^='QR code']", "images => images.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded == [True, True, True]
    expect(page.get_by_text("Ticket 3 of 3: VIP")).to_be_visible()
    download = page.get_by_role("link", name="Download your tickets (PDF)")
    pdf = page.request.get(server.url + (download.get_attribute("href") or ""))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"


def test_buying_and_paying_work_with_javascript_turned_off(server: Server, browser_context: Any):
    event = new_event(server)
    page = browser_context(java_script_enabled=False).new_page()
    page.goto(f"{server.url}/events/{event.id}")

    choose_tickets(page, general=1, vip=1)
    page.get_by_role("button", name="Pay 200.00 USD").click()

    expect(page.get_by_role("img", name=re.compile(r"^QR code of ticket"))).to_have_count(2)


def test_second_browser_sees_remaining_seats_drop_without_reloading(
    server: Server, browser_context: Any
):
    event = new_event(server)
    watcher = open_page(browser_context, f"{server.url}/events/{event.id}")
    expect(tier_left(watcher, event, 0)).to_have_text("50 left")
    watcher.wait_for_function("window.__liveMessages > 0")  # subscribed: the present state came
    watcher.evaluate("window.__notReloaded = true")
    inputs = [watcher.locator(f"#tier-{tier}") for tier in event.tier_ids]
    boxes = [field.bounding_box() for field in inputs]

    buy_through_api(server, event, general=3, vip=7)
    expect(tier_left(watcher, event, 0)).to_have_text("47 left")
    expect(tier_left(watcher, event, 1)).to_have_text("3 left")
    buy_through_api(server, event, general=0, vip=3)
    expect(tier_left(watcher, event, 1)).to_have_text("Sold out")
    expect(watcher.locator("#event-status")).to_contain_text("47 tickets left")
    assert watcher.evaluate("window.__notReloaded") is True
    assert [field.bounding_box() for field in inputs] == boxes  # nothing moved on the page


def buy_through_api(server: Server, event: WebEvent, *, general: int, vip: int) -> None:
    """Another buyer, with the API (the fake gateway's default card pays at once)."""
    items = [(event.tier_ids[0], general), (event.tier_ids[1], vip)]
    order = {
        "customer_email": f"buyer-{general}-{vip}@example.com",
        "customer_name": "Grace Hopper",
        "items": [{"tier_id": str(tier), "quantity": n} for tier, n in items if n],
    }
    bought = httpx.post(
        f"{server.url}/api/events/{event.id}/purchase", json={"order": order}, timeout=30
    )
    assert bought.status_code == 201, bought.text


def test_declined_card_shows_its_message_and_another_card_pays(
    server: Server, browser_context: Any
):
    event = new_event(server)
    page = open_page(browser_context, f"{server.url}/events/{event.id}")
    choose_tickets(page, general=1, vip=0)

    page.get_by_label("Test card that is declined").check()
    page.get_by_role("button", name="Pay 50.00 USD").click()

    # The order stays pending with its seats: the card form is there again under the message.
    expect(page.get_by_text("Your card was declined. No money was taken.")).to_be_visible()
    expect(page.get_by_role("button", name="Pay 50.00 USD")).to_be_visible()
    expect(page.get_by_text("Your seats are held for")).to_be_visible()

    page.get_by_label("Visa test card that is accepted").check()
    page.get_by_role("button", name="Pay 50.00 USD").click()

    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^QR code of ticket"))).to_have_count(1)


def test_payment_hold_expires_and_the_page_says_so(server: Server, browser_context: Any):
    event = new_event(server)
    page = open_page(browser_context, f"{server.url}/events/{event.id}")
    choose_tickets(page, general=2, vip=0)
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))

    # The server's clock jumps to five seconds before the end of the 15-minute hold.
    server.clock.advance(timedelta(minutes=15) - timedelta(seconds=5))
    page.reload()
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^0:0[0-5]$"))
    page.evaluate("window.__notReloaded = true")

    # No reload: the countdown runs out in the page, and the server confirms the expiry.
    expired = page.get_by_text("Your payment hold has expired and the seats were released.")
    expect(expired).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True

    # The expiry job gave the seats back: the event page shows all of them again.
    page.goto(f"{server.url}/events/{event.id}")
    expect(tier_left(page, event, 0)).to_have_text("50 left", timeout=15_000)


def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {selector}"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_checkout(server: Server, browser_context: Any):
    event = new_event(server)
    page = open_page(browser_context, f"{server.url}/events/{event.id}")

    tab_to(page, f"#tier-{event.tier_ids[0]}")
    page.keyboard.type("1")
    tab_to(page, "#customer_name")
    page.keyboard.type("Alan Turing")
    tab_to(page, "#customer_email")
    page.keyboard.type("alan@example.com")
    tab_to(page, "button[type=submit]:not(.link-button)")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    tab_to(page, "#card-pm_card_visa")
    tab_to(page, ".pay-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("img", name=re.compile(r"^QR code of ticket"))).to_have_count(1)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_pages_have_no_serious_accessibility_violations_and_fit_a_phone(
    server: Server, browser_context: Any
):
    event = new_event(server)
    page = open_page(browser_context, f"{server.url}/", viewport={"width": 375, "height": 740})
    checked: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        checked[name] = serious_violations(page)
        width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert width <= 0, f"the {name} page scrolls sideways on a phone"

    check("home")
    page.goto(f"{server.url}/events/{event.id}")
    check("event")
    choose_tickets(page, general=1, vip=1)
    check("pending order")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    check("paid order")
    assert checked == {name: [] for name in checked}
