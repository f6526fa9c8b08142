"""End to end in a real browser (Playwright + Debian's chromium), in English and in Chinese.

The 双十一 wrong-size down jacket: the agent takes the call, classifies, triages, starts and
hands a reship to the warehouse; the warehouse sees the subtask with the phone masked and marks
it done; the agent resolves; the supervisor opens the dashboard. A full-page screenshot of every
page visited goes to artifacts/e2e/<lang>/NN-name.png.

Expected texts come from the same gettext catalogues the server uses, so the test follows the
zh_Hans catalogue as it is; strings Django itself translates ("Log in" → 登录) are checked literally.
"""

import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.web.conftest import CHROMIUM
from tickets.models import Status, Subtask, Ticket

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the dev extras install it
    expect = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
ORDER_NUMBER = "TB20241111083015"
PHONE = "13812345678"
MASKED_PHONE = "138****5678"
ADDRESS = "浙江省杭州市西湖区文三路100号"
PRODUCT = "轻薄连帽羽绒服 黑色 M码"
WORDS = "双十一买的羽绒服，下单选的M码，收到的是L码，想换成M码。"
RESULT = "已补寄M码，顺丰 SF1234567890；L码待客户寄回"

_missing = []
if expect is None:
    _missing.append("playwright is not installed (pip install -e '.[dev]')")
if not Path(CHROMIUM).exists():
    _missing.append(f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)")

pytestmark = [
    pytest.mark.browser,
    # CI (REQUIRE_SERVICES=1) installs chromium: there a missing browser fails instead of skipping.
    pytest.mark.skipif(bool(_missing) and os.environ.get("REQUIRE_SERVICES") != "1", reason="; ".join(_missing)),
    # pytest-playwright's own base_url fixture trips a pytest 9 deprecation; nothing of ours.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PASSWORDS = {"agent": "agent-e2e-2026", "warehouse": "warehouse-e2e-2026", "supervisor": "supervisor-e2e-2026"}


def _seed():
    users = {
        "agent": make_user("agent", username="agent_e2e"),
        "warehouse": make_user("department_staff", username="warehouse_e2e", department="warehouse"),
        "supervisor": make_user("supervisor", username="supervisor_e2e"),
    }
    for key, user in users.items():
        user.set_password(PASSWORDS[key])
        user.save(update_fields=["password"])
    customer = CustomerFactory(name="王女士", phone=PHONE, address=ADDRESS)
    order = OrderFactory(
        external_number=ORDER_NUMBER, customer=customer, shipping_address=ADDRESS,
        placed_at=datetime(2024, 11, 11, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    OrderItemFactory(order=order, product=ProductFactory(name=PRODUCT, model="DJ-2024W", category="服装"))
    return users


class Visit:
    """Screenshots numbered in the order the pages were visited."""

    def __init__(self, page, lang: str):
        self.page = page
        self.folder = ARTIFACTS / lang
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    def shot(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_wrong_size_down_jacket_from_call_to_dashboard(browser_db, live_server, page, lang):
    users = _seed()
    base = live_server.url
    page.set_default_timeout(10_000)
    visit = Visit(page, lang)

    with translation.override(lang):
        t = {text: gettext(text) for text in (
            "New ticket", "Ticket created.", "Classification saved.", "Handed to the department.", "Subtask updated.",
            "Department inbox", "Supervisor dashboard", "Status updated.",
        )}
        status = {s: str(s.label) for s in (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS,
                                            Status.WAITING_DEPARTMENT, Status.RESOLVED)}
        reship, done = str(Subtask.Kind.RESHIP.label), str(Subtask.Status.DONE.label)

    def flash(text):
        expect(page.locator("p.flash").filter(has_text=text)).to_be_visible()

    def log_in(who: str, name: str):
        page.goto(f"{base}/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        page.fill("#id_username", users[who].username)
        page.fill("#id_password", PASSWORDS[who])
        visit.shot(f"login-{name}")
        page.locator("main button[type=submit]").click()
        expect(page.locator(".usernav .who")).to_contain_text(users[who].username)

    def log_out():
        page.locator(".usernav form[action='/accounts/logout/'] button").click()
        page.wait_for_url(re.compile(r"/accounts/login/"))

    # The language, through the switch in the header (a POST to /i18n/setlang/ that sets the cookie).
    page.goto(f"{base}/accounts/login/")
    if lang != "en":
        with page.expect_navigation():
            page.select_option("#language-switch", lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("main button[type=submit]")).to_have_text("登录" if lang == "zh-hans" else "Log in")

    # The agent takes the call: the order number first, the htmx lookup shows order and items.
    log_in("agent", "agent")
    visit.shot("queue")
    page.click("#nav-new")
    expect(page.locator("h1")).to_have_text(t["New ticket"])
    page.locator("#id_order_number").press_sequentially(ORDER_NUMBER, delay=10)
    lookup = page.locator("#order-lookup .lookup")
    expect(lookup).to_contain_text(ORDER_NUMBER)
    expect(lookup).to_contain_text(PRODUCT)
    expect(lookup).to_contain_text("王女士")
    page.fill("#id_description", WORDS)
    page.fill("#id_customer_request", "换成M码")
    page.select_option("#id_channel", "phone")
    visit.shot("new-ticket")
    page.click("#create-ticket")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get(order__external_number=ORDER_NUMBER)
    flash(t["Ticket created."])
    expect(page.locator("#ticket-status")).to_have_text(status[Status.NEW])
    expect(page.locator("blockquote")).to_contain_text("收到的是L码")
    expect(page.locator("#order-panel")).to_contain_text(PRODUCT)
    expect(page.locator("#customer-phone")).to_have_text(PHONE)
    visit.shot("ticket-new")

    # Classify (exchange / wrong or missing item), then triage and start with the action buttons.
    form = page.locator("#classify-form")
    form.locator("select[name=type]").select_option("exchange")
    form.locator("select[name=category]").select_option("wrong_or_missing_item")
    form.locator("select[name=responsibility]").select_option("merchant")
    form.locator("button[type=submit]").click()
    flash(t["Classification saved."])
    page.click("button[data-action=triage]")
    expect(page.locator("#ticket-status")).to_have_text(status[Status.TRIAGED])
    page.click("button[data-action=start]")
    expect(page.locator("#ticket-status")).to_have_text(status[Status.IN_PROGRESS])
    visit.shot("ticket-in-progress")

    # Hand a reship to the warehouse (仓库): the ticket now waits on the department.
    page.click("#subtask-details > summary")
    form = page.locator("#subtask-form")
    form.locator("select[name=department]").select_option(label="仓库")
    form.locator("select[name=kind]").select_option("reship")
    form.locator("textarea[name=description]").fill("补寄M码羽绒服一件，收回L码")
    form.locator("button[type=submit]").click()
    flash(t["Handed to the department."])
    expect(page.locator("#ticket-status")).to_have_text(status[Status.WAITING_DEPARTMENT])
    expect(page.locator("#subtasks-panel")).to_contain_text(f"仓库 · {reship}")
    visit.shot("ticket-handed-to-warehouse")
    log_out()

    # The warehouse: inbox, the subtask with the phone masked, done with a result.
    log_in("warehouse", "warehouse")
    page.wait_for_url(re.compile(r"/inbox/"))
    expect(page.locator("h1")).to_have_text(t["Department inbox"])
    row = page.locator("#subtask-table tbody tr").filter(has_text=ticket.number)
    expect(row).to_contain_text(reship)
    visit.shot("warehouse-inbox")
    row.locator("a").click()
    expect(page.locator("#subtask-phone")).to_have_text(MASKED_PHONE)
    assert PHONE not in page.content()
    assert "文三路" not in page.content()
    visit.shot("warehouse-subtask")
    page.fill("#id_result", RESULT)
    page.click("#subtask-done")
    flash(t["Subtask updated."])
    expect(page.locator("#subtask-status")).to_have_text(done)
    expect(page.locator("main")).to_contain_text(RESULT)
    visit.shot("warehouse-subtask-done")
    log_out()

    # The agent again: the department is done, the ticket is back in progress; resolve it.
    log_in("agent", "agent-again")
    page.goto(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-status")).to_have_text(status[Status.IN_PROGRESS])
    expect(page.locator("#subtasks-panel")).to_contain_text(RESULT)
    resolve = page.locator("form.action-form").filter(has=page.locator("button[data-action=resolve]"))
    resolve.locator("input[name=reason]").fill("已补寄M码")
    resolve.locator("button").click()
    flash(t["Status updated."])
    expect(page.locator("#ticket-status")).to_have_text(status[Status.RESOLVED])
    visit.shot("ticket-resolved")
    log_out()

    # The supervisor sees the day on the dashboard.
    log_in("supervisor", "supervisor")
    page.click(".mainnav a[href='/dashboard/']")
    expect(page.locator("h1")).to_have_text(t["Supervisor dashboard"])
    expect(page.locator("#open-total")).to_have_text("0")
    visit.shot("dashboard")

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.subtasks.get().status == Subtask.Status.DONE
