"""The whole conversation by e-mail against the real servers (scripts/mail-servers.sh): the customer writes
through SMTP into the desk's IMAP box, the desk polls it into a ticket, the agent answers, the answer goes out
through SMTP threaded under the customer's mail and lands in the customer's own mailbox, the customer answers
that, and the answer joins the same ticket."""

import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.factories import make_user
from tickets.mail.imap import mailboxes_poll
from tickets.models import Delivery, Mailbox, Message, Ticket
from tickets.outbound.service import delivery_send
from tickets.services import message_add

pytestmark = pytest.mark.django_db
CUSTOMER = "customer@example.com"


def _empty(imap_server, user: str) -> None:
    with imap_server.imap(user) as box:
        uids = box.uids()
        if uids:
            box.delete(uids)


def _send_as_customer(smtp_server, subject: str, text: str, **headers) -> str:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"王小明 <{CUSTOMER}>", "desk@shop.test", subject
    mail["Message-ID"] = f"<{time.time_ns()}@example.com>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.send_message(mail)
    return mail["Message-ID"]


def _customer_inbox(imap_server, *, wait: float = 10.0) -> list:
    deadline = time.monotonic() + wait
    while True:
        with imap_server.imap(CUSTOMER) as box:
            mails = list(box.fetch(mark_seen=False))
        if mails or time.monotonic() > deadline:
            return mails
        time.sleep(0.2)


def test_mail_in_reply_out_and_the_customers_answer_back_on_the_same_ticket(imap_server, smtp_server):
    _empty(imap_server, "desk@shop.test")
    _empty(imap_server, CUSTOMER)
    Mailbox.objects.create(
        name="desk", address="desk@shop.test", display_name="小店售后", is_default=True,
        imap_host=imap_server.host, imap_port=imap_server.port, imap_security="none", imap_user="desk@shop.test",
        imap_password=imap_server.users["desk@shop.test"],
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none",
    )
    first_id = _send_as_customer(smtp_server, "鞋子开胶了", "刚买一周就开胶了，怎么处理？")

    assert mailboxes_poll() == 1
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.customer.email == CUSTOMER

    agent = make_user("agent")
    reply = message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND,
                        body="您好，请拍一张开胶处的照片，我们马上为您处理。")
    delivery = Delivery.objects.get(message=reply)
    assert (delivery.channel, delivery.state, delivery.recipient) == ("email", "queued", CUSTOMER)
    assert delivery_send(delivery.pk) == "sent"
    assert delivery_send(delivery.pk) == "sent"  # the task delivered twice sends once

    received = _customer_inbox(imap_server)
    assert len(received) == 1, [m.subject for m in received]
    out = received[0]
    assert out.subject == f"Re: 鞋子开胶了 [{ticket.number}]"
    assert out.from_ == "desk@shop.test" and "小店售后" in out.from_values.full
    assert out.headers["message-id"][0].strip() == reply.email_message_id == Message.objects.get(
        pk=reply.pk).email_message_id
    assert out.headers["in-reply-to"][0].strip() == first_id
    assert "请拍一张开胶处的照片" in out.text and "请拍一张开胶处的照片" in out.html

    answer = "照片在附件里\n\n在 2026年12月5日 小店售后 写道：\n> 您好，请拍一张"
    _send_as_customer(smtp_server, f"Re: {out.subject}", answer,
                      In_Reply_To=reply.email_message_id, References=f"{first_id} {reply.email_message_id}")
    assert mailboxes_poll() == 1
    assert Ticket.objects.count() == 1
    inbound = list(ticket.messages.filter(direction="inbound").values_list("body", flat=True))
    assert inbound == ["刚买一周就开胶了，怎么处理？", "照片在附件里"]
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.attempts == 1
