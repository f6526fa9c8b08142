"""In Chromium, in zh-Hans: replies reach the customer. The agent answers an e-mail case and sees it sent (the
mail is at the SMTP server, threaded); texts a phone customer their link and sees the SMS sent; answers a JD
case whose integration refuses it and sees it not delivered. The supervisor, on a 390 px phone, finds the
refused reply under 未送达的回复 and sends it again once the integration takes it. Screenshots go to
artifacts/e2e/conversations/."""

from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, make_user
from tests.outbound.conftest import SECRET, receiver  # noqa: F401  (the platform integration on loopback)
from tests.outbound.test_sms import Gateway, gateway  # noqa: F401  (the SMS gateway on loopback)
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401
from tickets import services
from tickets.mail.inbound import mail_receive
from tickets.models import Delivery, Mailbox, OutboxEndpoint, Ticket

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "conversations"
PASSWORD = "e2e-conversations-2026"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_replies_reach_the_customer_and_the_refused_one_is_sent_again(
    browser_db, live_server, page, settings, tmp_path, smtp_server, receiver, gateway  # noqa: F811
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    agent = make_user("agent", username="xiaozhang")
    supervisor = make_user("supervisor", username="zhuguan")
    for user in (agent, supervisor):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    speaks("zh-hans", agent, supervisor)
    Mailbox.objects.create(name="shop", address="desk@shop.test", display_name="小店售后", is_default=True,
                           smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none")
    OutboxEndpoint.objects.create(platform="jd", url=receiver.url, secret=SECRET, timeout_seconds=2)
    receiver.answers = [(400, {"error": "买家已关闭会话"}), (200, {"message_id": "jd-msg-1"})]

    mail = mail_receive(raw=(
        "From: =?UTF-8?B?546L5aWz5aOr?= <wang@example.com>\r\nTo: desk@shop.test\r\n"
        "Subject: =?UTF-8?B?5ouJ6ZO+5Z2P5LqG?=\r\nMessage-ID: <e2e-first@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n刚收到外套，拉链坏了。\r\n").encode())
    email_ticket = mail.ticket
    phone_ticket = services.ticket_create(actor=agent, channel="phone", description="电话来问退款进度",
                                          customer=CustomerFactory(name="李先生", phone="13812345678"))
    jd_customer = CustomerFactory(name="赵女士", platform="jd", platform_account="jd_zhao")
    jd_ticket = services.ticket_create(actor=agent, channel="platform", description="申请退款",
                                       customer=jd_customer, order=OrderFactory(customer=jd_customer, platform="jd"))
    jd_ticket.external_source, jd_ticket.external_id = "jd", "AFS-77"
    jd_ticket.save(update_fields=["external_source", "external_id"])
    Ticket.objects.filter(pk__in=[email_ticket.pk, phone_ticket.pk, jd_ticket.pk]).update(assignee=agent)

    with translation.override("zh-hans"):
        t = {text: gettext(text) for text in ("sent", "Undelivered replies", "E-mail", "SMS", "Platform chat")}
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def log_in(user):
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        expect(page.locator(".usernav .who")).to_contain_text(user.username)

    def reply(ticket, text):
        page.goto(f"{base}/tickets/{ticket.pk}/")
        page.fill("#id_body", text)
        page.click("#send-reply")

    log_in(agent)
    # The e-mail case: the answer goes out by mail, threaded under the customer's, and says so.
    reply(email_ticket, "王女士您好，拉链问题我们为您换新，请把外套寄回。")
    state = page.locator("#timeline .delivery").last
    expect(state).to_have_attribute("data-delivery", "sent")
    expect(state).to_contain_text(f"{t['E-mail']}")
    expect(state).to_contain_text(t["sent"])
    sent = [m for m in smtp_server.sent_mails() if m["To"] == "wang@example.com"]
    assert sent and sent[-1]["In-Reply-To"] == "<e2e-first@example.com>", [m["Subject"] for m in sent]
    assert str(make_header(decode_header(sent[-1]["Subject"]))) == f"Re: 拉链坏了 [{email_ticket.number}]"
    shot("01-agent-email-reply-sent")

    # The phone customer gets their link by SMS.
    page.goto(f"{base}/tickets/{phone_ticket.pk}/")
    page.locator("#customer-link-sms button[type=submit]").click()
    expect(page.locator("#timeline .delivery[data-delivery=sent]")).to_contain_text(t["SMS"])
    assert Gateway.received and Gateway.received[-1]["json"]["phone"] == "13812345678"
    shot("02-agent-link-texted")

    # The JD case: the integration refuses (the buyer closed the chat): not delivered, with the reason.
    reply(jd_ticket, "您好，退款已同意，请留意到账。")
    refused = page.locator("#timeline .delivery").last
    expect(refused).to_have_attribute("data-delivery", "dead")
    expect(refused).to_contain_text("买家已关闭会话")
    shot("03-agent-platform-reply-refused")

    # The supervisor on a phone: the undelivered list, and a second try that the integration now takes.
    page.locator(".usernav form[action='/accounts/logout/'] button").click()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(supervisor)
    page.click("#nav-undelivered")
    expect(page.locator("h1")).to_contain_text(t["Undelivered replies"])
    row = page.locator("#undelivered tr", has_text=jd_ticket.number)
    expect(row).to_contain_text("买家已关闭会话")
    wide = page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 392 && !e.closest('#undelivered thead, #undelivered tbody'))
        .map(e => `${e.tagName}#${e.id}.${e.className}`)""")  # what widens the page, if it fails
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    box = row.locator("button[type=submit]").bounding_box()
    assert box["x"] + box["width"] <= 390, box  # in reach without scrolling the table
    shot("04-supervisor-phone-undelivered")
    row.locator("button[type=submit]").click()
    expect(page.locator("#undelivered tr", has_text=jd_ticket.number)).to_have_count(0)
    shot("05-supervisor-phone-resent")
    delivery = Delivery.objects.get(message__ticket=jd_ticket)
    assert (delivery.state, delivery.external_id) == ("sent", "jd-msg-1")
    assert [r["key"] for r in receiver.requests] == [str(delivery.key)] * 2  # the same idempotency key twice
