"""In Chromium, in zh-Hans: the agent who takes a call keeps the case; the customer's "发微博曝光" raises the
risk and asks the agent to confirm it; confirmed, the page says a senior should have it and the agent hands
it over in one click; the senior finds it in their own queue. Screenshots (desktop and a 390 px phone) go to
artifacts/e2e/ownership/."""

import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets.models import RiskLevel, Ticket

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "ownership"
ORDER_NUMBER = "JD20261111000123"
WORDS = "电饭煲用了两天就不加热了，再不给我退款，我就发微博曝光你们！"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_agent_keeps_the_call_confirms_the_threat_and_hands_it_to_a_senior(browser_db, live_server, page):
    agent, senior = make_user("agent", username="xiaoli"), make_user("senior_agent", username="laowang")
    for user in (agent, senior):
        user.set_password("e2e-owner-2026")
        user.save(update_fields=["password"])
    order = OrderFactory(external_number=ORDER_NUMBER, customer=CustomerFactory(name="赵先生"))
    OrderItemFactory(order=order)
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with translation.override("zh-hans"):
        t = {text: gettext(text) for text in (
            "Ticket created.", "Exposure threat confirmed.", "Handed to a senior agent.", "Hand to a senior agent",
        )}
        triage_first = gettext("%(label)s: not yet — %(why)s") % {
            "label": gettext("Triage"), "why": gettext("classify the ticket first (missing: %(fields)s)") % {
                "fields": f"{gettext('type')}, {gettext('category')}"}}
        handed_note = gettext("High risk: the shop's rule gives it to a senior agent.")

    def shot(name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def log_in(user):
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "e2e-owner-2026")
        page.locator("main button[type=submit]").click()
        expect(page.locator(".usernav .who")).to_contain_text(user.username)

    page.goto(f"{base}/accounts/login/")
    with page.expect_navigation():
        page.select_option("#language-switch", "zh-hans")

    # The call: the agent types the order number and the customer's words, and saves. The case is theirs.
    log_in(agent)
    page.click("#nav-new")
    page.locator("#id_order_number").press_sequentially(ORDER_NUMBER, delay=10)
    expect(page.locator("#order-lookup .lookup")).to_contain_text("赵先生")
    page.fill("#id_description", WORDS)
    page.click("#create-ticket")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator("p.flash")).to_contain_text(t["Ticket created."])
    ticket = Ticket.objects.get(order__external_number=ORDER_NUMBER)
    assert ticket.assignee == agent and ticket.risk_level == RiskLevel.MEDIUM
    expect(page.locator("#composer")).to_be_visible()  # the page is the agent's to work, not read-only
    expect(page.locator("#risk-why")).to_contain_text("微博")
    expect(page.locator(".blocked-action")).to_contain_text(triage_first)
    expect(page.locator("#subtask-not-yet")).to_be_visible()
    expect(page.locator("#subtask-form")).to_have_count(0)
    shot("01-taken-by-the-agent")

    # The agent confirms the threat: risk high, and the page says a senior should have it.
    page.locator("#confirm-exposure button").click()
    expect(page.locator("p.flash")).to_contain_text(t["Exposure threat confirmed."])
    expect(page.locator("#senior-wanted")).to_be_visible()
    expect(page.locator("#hand-to-senior")).to_have_text(t["Hand to a senior agent"])
    shot("02-senior-wanted")
    page.set_viewport_size({"width": 390, "height": 844})
    shot("03-senior-wanted-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # One click: the least-loaded senior on duty has it, and the timeline says why, in Chinese.
    page.click("#hand-to-senior")
    expect(page.locator("p.flash")).to_contain_text(t["Handed to a senior agent."])
    expect(page.locator("#timeline")).to_contain_text(handed_note)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.risk_level) == (senior, RiskLevel.HIGH)
    shot("04-handed-over")

    # The senior finds it in their own queue.
    page.locator(".usernav form[action='/accounts/logout/'] button").click()
    log_in(senior)
    page.goto(f"{base}/?queue=mine")
    expect(page.locator("main")).to_contain_text(ticket.number)
    shot("05-senior-queue")
