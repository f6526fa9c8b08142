"""In Chromium, in zh-Hans: on a size-exchange ticket the agent picks the 换码 template and reads it filled
in (the agreed solution, the product, the ticket number); takes the short customer link, opens it as the
customer would; reads a notification as a sentence. Screenshots go to artifacts/e2e/words/."""

import re
from pathlib import Path

import pytest
from django.utils import timezone

from orders.models import Order
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets import services
from tickets.models import Notification, Solution, Ticket
from tickets.reply_catalog import reply_catalog_load
from tickets.workflow import ticket_transition

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "words"
PASSWORD = "e2e-words-2026"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_agent_replies_with_the_size_exchange_template_sends_the_short_link_and_reads_a_notice(
    browser_db, live_server, page, browser
):
    reply_catalog_load()
    agent = make_user("agent", username="xiaozhou")
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    speaks("zh-hans", agent)
    order = OrderFactory(external_number="TB20261111000777", customer=CustomerFactory(name="陈女士"),
                         tracking_number="SF1400000777", carrier="顺丰",
                         logistics_status=Order.LogisticsStatus.AWAITING_PICKUP)
    OrderItemFactory(order=order, product=ProductFactory(name="羽绒服 M码"))
    ticket = services.ticket_create(actor=agent, channel="chat", description="羽绒服偏小，想换L码", order=order,
                                    affected_items=list(order.items.all()), type="exchange",
                                    category="wrong_or_missing_item")
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility="customer")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    Solution.objects.create(ticket=ticket, kind=Solution.Kind.EXCHANGE, return_required=True,
                            customer_sends_back="M码羽绒服", expected_days=5, status=Solution.Status.CONFIRMED,
                            confirmed_at=timezone.now(), confirmed_channel="chat", confirmed_text="同意换L码",
                            proposed_by=agent)
    Notification.objects.create(recipient=agent, kind=Notification.Kind.SLA_BREACH, ticket=ticket,
                                data={"clock": "first_response", "percent": 100}, dedupe_key="e2e-words")
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name, on=page):
        on.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".usernav .who")).to_contain_text(agent.username)

    # The 换码 template, filled from the ticket.
    page.goto(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#reply-template")).to_contain_text("换码")
    page.select_option("#reply-template", label="换码")
    body = page.locator("#id_body")
    expect(body).to_have_value(re.compile(r"^亲，已为您办理换码：换货，M码羽绒服需寄回，预计5天左右完成。"))
    expect(body).to_have_value(re.compile(ticket.number))
    assert "{" not in body.input_value()
    body.scroll_into_view_if_needed()
    shot("01-size-exchange-template")

    # The short customer link: it fits its box, and it opens the customer's page.
    page.click("#get-customer-link")
    link = page.locator("#customer-link-url")
    expect(link).to_have_value(re.compile(r"/c/[0-9A-Za-z]+-[0-9A-Za-z]+-[\w-]{12}/$"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.click("#copy-customer-link")
    expect(page.locator("#copy-customer-link")).to_have_text("已复制")
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == link.input_value()
    assert len(url) - len(base) <= 30
    link.scroll_into_view_if_needed()
    shot("02-short-customer-link")
    page.locator("#customer-link-box").screenshot(path=str(SHOTS / "02b-the-link-fits-its-box.png"))
    customer = browser.new_page(locale="zh-CN")
    customer.goto(url)
    expect(customer.locator("body")).to_contain_text(ticket.number)
    shot("03-customer-opens-the-short-link", on=customer)
    customer.close()

    # The notification reads as a sentence.
    page.goto(f"{base}/notifications/")
    sentence = page.locator(".notification-sentence").first
    expect(sentence).to_contain_text(
        f"工单 {ticket.number} 已超时（首次响应），客户 陈女士 — 淘宝订单 TB20261111000777。"
    )
    shot("04-notification-sentence")
