"""Polling against the real Dovecot (scripts/mail-servers.sh): APPEND mails to the desk's INBOX, poll, look."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from imap_tools import MailBoxUnencrypted

from tickets.mail import imap
from tickets.mail.imap import mailbox_poll, mailboxes_poll
from tickets.models import InboundMail, Mailbox, Message, Ticket

pytestmark = pytest.mark.django_db


def _mail(n: int, sender: str = "buyer@example.com") -> bytes:
    return (f"From: Buyer {n} <{sender}>\r\nTo: desk@shop.test\r\nSubject: =?UTF-8?B?5ZWG5ZOB?= {n}\r\n"
            f"Message-ID: <imap-{n}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"第{n}封：商品坏了\r\n").encode()


@pytest.fixture
def desk_box(imap_server):
    """The desk's INBOX emptied, and a Mailbox row polling it."""
    with imap_server.imap() as box:
        uids = box.uids()
        if uids:
            box.delete(uids)
    return Mailbox.objects.create(
        name="desk", address="desk@shop.test", imap_host=imap_server.host, imap_port=imap_server.port,
        imap_security="none", imap_user="desk@shop.test", imap_password=imap_server.users["desk@shop.test"],
    )


def _append(imap_server, *mails: bytes) -> None:
    with imap_server.imap() as box:
        for raw in mails:
            box.append(raw, "INBOX")


def test_polled_mails_become_tickets_once_and_stay_unread(imap_server, desk_box):
    _append(imap_server, _mail(1, "a@example.com"), _mail(2, "b@example.com"))
    assert mailboxes_poll() == 2
    assert Ticket.objects.filter(channel="email").count() == 2
    assert set(Message.objects.values_list("email_message_id", flat=True)) == {
        "<imap-1@example.com>", "<imap-2@example.com>"}
    desk_box.refresh_from_db()
    assert desk_box.last_uid is not None and desk_box.uid_validity and desk_box.last_error == ""
    assert desk_box.last_polled_at <= timezone.now()
    with imap_server.imap() as box:
        assert all("\\Seen" not in message.flags for message in box.fetch(mark_seen=False))
    # Nothing new: nothing taken; a new mail: only it.
    assert mailboxes_poll() == 0
    _append(imap_server, _mail(3, "a@example.com"))
    assert mailboxes_poll() == 1
    assert Message.objects.count() == 3


def test_a_connection_dropped_mid_fetch_loses_nothing_and_doubles_nothing(imap_server, desk_box, monkeypatch):
    _append(imap_server, *(_mail(n, f"c{n}@example.com") for n in range(1, 5)))
    fetch_by_one = MailBoxUnencrypted._fetch_by_one

    def drop_after_first(self, uid_list, message_parts):
        for index, item in enumerate(fetch_by_one(self, uid_list, message_parts)):
            yield item
            if index == 0:
                self.client.sock.shutdown(socket.SHUT_RDWR)  # the server's side of the line goes dead

    monkeypatch.setattr(MailBoxUnencrypted, "_fetch_by_one", drop_after_first)
    assert mailboxes_poll() == 1
    desk_box.refresh_from_db()
    assert desk_box.last_error  # the fault is shown on the box
    assert InboundMail.objects.count() == 1

    monkeypatch.undo()
    assert mailboxes_poll() == 3
    desk_box.refresh_from_db()
    assert desk_box.last_error == ""
    assert Message.objects.count() == 4 and Ticket.objects.count() == 4


def test_a_new_uidvalidity_starts_over_without_doubling(imap_server, desk_box):
    _append(imap_server, _mail(1), _mail(2))
    assert mailboxes_poll() == 2
    Mailbox.objects.filter(pk=desk_box.pk).update(uid_validity=1, last_uid=10**6)
    assert mailboxes_poll() == 2  # fetched again from the start...
    assert Message.objects.count() == 2  # ...and recognised


def test_one_failing_box_does_not_stop_the_others(imap_server, desk_box):
    Mailbox.objects.create(name="broken", address="x@shop.test", imap_host=imap_server.host,
                           imap_port=imap_server.port, imap_security="none", imap_user="desk@shop.test",
                           imap_password="wrong")
    _append(imap_server, _mail(1))
    assert mailboxes_poll() == 1
    broken = Mailbox.objects.get(name="broken")
    assert "wrong" not in broken.last_error and broken.last_error
    assert broken.last_polled_at is not None


def test_a_box_being_polled_is_not_polled_twice(imap_server, desk_box, monkeypatch):
    _append(imap_server, _mail(1))
    Mailbox.objects.filter(pk=desk_box.pk).update(last_polled_at=timezone.now() + imap.LEASE)
    assert mailbox_poll(desk_box.pk) == 0  # held by another poll
    Mailbox.objects.filter(pk=desk_box.pk).update(last_polled_at=timezone.now() - timedelta(seconds=1))
    assert mailbox_poll(desk_box.pk) == 1


def test_a_mail_sent_over_smtp_to_the_desk_is_polled_into_a_ticket_then_its_reply_joins_it(
    imap_server, smtp_server, desk_box
):
    """The customer's side for real: their mail goes through the SMTP server into the desk's mailbox, the
    desk answers (the sent mail's Message-ID recorded, as tickets/outbound does), the customer replies to it."""
    import smtplib
    from email.message import EmailMessage

    def send(subject: str, text: str, **headers) -> str:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "王小明 <customer@example.com>", "desk@shop.test", subject
        for name, value in headers.items():
            mail[name.replace("_", "-")] = value
        mail["Message-ID"] = f"<{subject.encode().hex()[:20]}-{timezone.now().timestamp()}@example.com>"
        mail.set_content(text)
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
            smtp.send_message(mail)
        return mail["Message-ID"]

    send("鞋子开胶了", "刚买一周就开胶了")
    assert mailboxes_poll() == 1
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "customer@example.com" and ticket.customer.name == "王小明"
    ours = Message.objects.create(ticket=ticket, direction="outbound", channel="email", body="请寄回",
                                  email_message_id="<0f0f0f0f@shop.test>")
    send(f"Re: 鞋子开胶了 [{ticket.number}]", "好的，已寄回\n\nOn Thu, Nov 12, 2026 Desk wrote:\n> 请寄回",
         In_Reply_To=ours.email_message_id)
    assert mailboxes_poll() == 1
    assert Ticket.objects.count() == 1
    assert list(ticket.messages.filter(direction="inbound").values_list("body", flat=True)) == [
        "刚买一周就开胶了", "好的，已寄回"]
