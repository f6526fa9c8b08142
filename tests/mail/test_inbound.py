import base64
import threading

import pytest
from django.db import connection

from customers.models import Customer
from tickets.events import EventAction
from tickets.mail.inbound import mail_receive
from tickets.models import Attachment, Delivery, InboundMail, Message, Status, Ticket
from tickets.workflow import Action

from .conftest import mail_bytes

pytestmark = pytest.mark.django_db
State = InboundMail.State


def _new_ticket():
    inbound = mail_receive(raw=mail_bytes("gbk_body.eml"))
    assert inbound.state == State.TICKET_CREATED
    return inbound.ticket


def _sent(ticket, key="<11111111@shop.test>", state=Delivery.State.SENT):
    message = Message.objects.create(ticket=ticket, direction=Message.Direction.OUTBOUND, channel="email",
                                     body="请把鞋子寄回", email_message_id=key)
    Delivery.objects.create(message=message, channel=Delivery.Channel.EMAIL, state=state,
                            recipient=ticket.customer.email)
    return message


def test_a_new_mail_opens_an_email_ticket_for_a_new_customer():
    inbound = mail_receive(raw=mail_bytes("gbk_body.eml"))
    ticket = inbound.ticket
    assert ticket.channel == "email" and ticket.status == Status.NEW
    assert ticket.customer.email == "Wang.Xiao@Example.COM" and ticket.customer.name == "王小明"
    assert "退货申请：鞋子尺码不符" in ticket.description
    message = inbound.message
    assert message.direction == Message.Direction.INBOUND and message.channel == "email"
    assert message.email_message_id == "<gbk-1@example.com>"
    assert message.body == "您好，我买的鞋子尺码不符，想退货。镕"
    assert inbound.raw.read() == mail_bytes("gbk_body.eml")


def test_the_customer_is_found_by_address_whatever_its_case():
    existing = Customer.objects.create(name="老王", email="wang.xiao@example.com")
    assert _new_ticket().customer == existing


def test_a_reply_by_in_reply_to_lands_on_its_ticket_without_the_quoted_history():
    ticket = _new_ticket()
    sent = _sent(ticket)
    inbound = mail_receive(raw=mail_bytes("reply_zh.eml", sent_id=sent.email_message_id))
    assert inbound.state == State.APPENDED and inbound.ticket == ticket
    assert inbound.message.body == "好的，我明天寄回。"
    assert Ticket.objects.count() == 1


def test_a_reply_by_the_number_in_the_subject_lands_on_its_ticket():
    ticket = _new_ticket()
    inbound = mail_receive(raw=mail_bytes("reply_en.eml", number=ticket.number))
    assert inbound.state == State.APPENDED and inbound.ticket == ticket
    assert inbound.message.body == "I sent it back today."


def test_a_forged_in_reply_to_from_another_sender_opens_their_own_ticket():
    victim = _new_ticket()
    sent = _sent(victim)
    forged = mail_bytes("reply_zh.eml", sent_id=sent.email_message_id).replace(
        b"wang.xiao@example.com", b"attacker@evil.test")
    inbound = mail_receive(raw=forged)
    assert inbound.state == State.TICKET_CREATED
    assert inbound.ticket != victim and inbound.ticket.customer.email == "attacker@evil.test"
    assert victim.number in inbound.reason and "not that ticket's customer" in inbound.reason
    assert victim.messages.filter(direction=Message.Direction.INBOUND).count() == 1


def test_the_same_mail_twice_makes_one_message():
    first = mail_receive(raw=mail_bytes("gbk_body.eml"))
    again = mail_receive(raw=mail_bytes("gbk_body.eml"))
    assert again.pk == first.pk
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1 and InboundMail.objects.count() == 1


def test_a_mail_without_message_id_twice_is_one_message_too():
    raw = b"From: a@example.com\r\nSubject: no id\r\n\r\nhello\r\n"
    assert mail_receive(raw=raw).pk == mail_receive(raw=raw).pk
    assert Message.objects.count() == 1


def _with_attachment(name: str, content: bytes, content_type: str = "image/jpeg") -> bytes:
    encoded = base64.encodebytes(content).replace(b"\n", b"\r\n")
    return (
        b"From: big@example.com\r\nSubject: photos\r\nMessage-ID: <big-1@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee the photos\r\n"
        b"--b\r\nContent-Type: " + content_type.encode() + b"\r\nContent-Disposition: attachment; filename=\""
        + name.encode() + b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b--\r\n"
    )


def test_a_30_mb_attachment_is_not_kept_but_the_mail_is():
    raw = _with_attachment("video.jpg", b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024))
    inbound = mail_receive(raw=raw)
    assert inbound.state == State.TICKET_CREATED
    assert "see the photos" in inbound.message.body
    assert "Attachment not kept: video.jpg is 30.0" in inbound.message.body
    assert not Attachment.objects.exists()
    assert inbound.raw.size == len(raw)  # the original keeps it


def test_accepted_attachments_become_evidence_and_wrong_types_are_named():
    inbound = mail_receive(raw=mail_bytes("attachment_encoded_name.eml"))
    assert [a.original_name for a in Attachment.objects.filter(message=inbound.message)] == ["破损照片.jpg"]
    assert "setup.exe is not an accepted" in inbound.message.body


def test_a_mail_above_the_limit_is_refused_whole(settings):
    settings.MAIL_MAX_BYTES = 1000
    inbound = mail_receive(raw=_with_attachment("a.jpg", b"\xff\xd8\xff" + b"\x00" * 2000))
    assert inbound.state == State.REJECTED and "the limit is" in inbound.reason
    assert inbound.mail_id == "<big-1@example.com>"
    assert not Ticket.objects.exists()


def test_a_mail_with_no_sender_is_refused_with_a_reason():
    inbound = mail_receive(raw=mail_bytes("no_sender.eml"))
    assert inbound.state == State.REJECTED and "no sender" in inbound.reason
    assert not Ticket.objects.exists()


def test_an_unreadable_mail_is_refused_and_kept():
    inbound = mail_receive(raw=b"\r\n\r\ngarbage")
    assert inbound.state == State.REJECTED and "Unreadable" in inbound.reason
    assert inbound.raw.read() == b"\r\n\r\ngarbage"


def test_malformed_mime_still_opens_a_ticket():
    inbound = mail_receive(raw=mail_bytes("malformed.eml"))
    assert inbound.state == State.TICKET_CREATED and inbound.message.body


@pytest.mark.parametrize("name", ["auto_reply.eml", "out_of_office.eml"])
def test_auto_replies_make_no_ticket(name):
    inbound = mail_receive(raw=mail_bytes(name))
    assert inbound.state == State.AUTO_REPLY
    assert not Ticket.objects.exists()


def test_a_bounce_marks_the_sent_mail_dead_with_an_event():
    ticket = _new_ticket()
    sent = _sent(ticket)
    inbound = mail_receive(raw=mail_bytes("bounce_dsn.eml", sent_id=sent.email_message_id))
    assert inbound.state == State.BOUNCE and inbound.ticket == ticket
    delivery = sent.deliveries.get()
    assert delivery.state == Delivery.State.DEAD and "550 5.1.1 user unknown" in delivery.last_error
    event = ticket.events.get(action=EventAction.MESSAGE_UNDELIVERED)
    assert "550 5.1.1" in str(event.note)
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 2


def test_a_bounce_of_a_mail_we_did_not_send_changes_nothing():
    inbound = mail_receive(raw=mail_bytes("bounce_dsn.eml", sent_id="<unknown@elsewhere>"))
    assert inbound.state == State.BOUNCE and inbound.ticket is None
    assert not Ticket.objects.exists()


def test_a_reply_on_a_closed_ticket_reopens_it(agent):
    ticket = _new_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    inbound = mail_receive(raw=mail_bytes("reply_en.eml", number=ticket.number))
    ticket.refresh_from_db()
    assert inbound.state == State.APPENDED and ticket.status == Status.IN_PROGRESS
    assert ticket.events.filter(action=Action.REOPEN).exists()


def test_a_reply_on_an_archived_ticket_opens_a_new_one_naming_it():
    old = _new_ticket()
    Ticket.objects.filter(pk=old.pk).update(status=Status.ARCHIVED)
    inbound = mail_receive(raw=mail_bytes("reply_en.eml", number=old.number))
    assert inbound.state == State.TICKET_CREATED and inbound.ticket != old
    assert old.number in inbound.ticket.description and old.number in inbound.reason
    assert old.messages.count() == 1


def test_our_own_address_writing_in_is_a_loop_not_a_ticket():
    from tickets.models import Mailbox

    Mailbox.objects.create(name="desk", address="desk@shop.test")
    inbound = mail_receive(raw=b"From: desk@shop.test\r\nSubject: x\r\nMessage-ID: <loop@shop.test>\r\n\r\nx\r\n")
    assert inbound.state == State.REJECTED and not Ticket.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_mail_on_two_workers_at_once_is_one_message():
    raw = mail_bytes("gbk_body.eml")
    barrier, results = threading.Barrier(2), []

    def receive():
        try:
            barrier.wait()
            results.append(mail_receive(raw=raw).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_many_refused_attachments_still_fit_the_message():
    parts = b"".join(
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"" + b"x" * 140
        + str(n).encode() + b".exe\"\r\n\r\nMZ\r\n" for n in range(60))
    raw = (b"From: many@example.com\r\nSubject: many\r\nMessage-ID: <many@example.com>\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" + parts
           + b"--b--\r\n")
    inbound = mail_receive(raw=raw)
    assert inbound.state == State.TICKET_CREATED and len(inbound.message.body) <= 10_000


def test_a_mail_the_desk_cannot_store_is_refused_not_retried_forever():
    raw = b"From: =?utf-8?B?" + base64.b64encode("名".encode() * 10) + b"?= <" + b"a" * 250 + b"@example.com>\r\n" \
        b"Subject: long address\r\nMessage-ID: <long-address@example.com>\r\n\r\nhello\r\n"
    inbound = mail_receive(raw=raw)
    assert inbound.state == State.REJECTED and inbound.reason
    assert mail_receive(raw=raw).pk == inbound.pk
