"""E-mail out through a real SMTP server (aiosmtpd on loopback): headers, parts, attachments, failures."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tickets import services
from tickets.events import EventAction
from tickets.models import Delivery, InboundMail, Message
from tickets.outbound.service import deliveries_retry_due, delivery_send

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _customer_mail(ticket, mailbox, mail_id, subject="Re: 拉链问题"):
    message = Message.objects.create(ticket=ticket, direction="inbound", body="拉链坏了", email_message_id=mail_id)
    InboundMail.objects.create(mailbox=mailbox, mail_id=mail_id, sender="buyer@example.com", subject=subject,
                               state="appended", ticket=ticket, message=message)
    return message


def _reply(ticket, agent, capture, body="您好，<已补寄>\n请查收", upload=None):
    with capture(execute=True):
        return services.message_add_with_attachment(ticket=ticket, actor=agent, direction="outbound", body=body,
                                                    upload=upload)


def test_the_reply_arrives_threaded_with_subject_parts_and_attachment(
        email_ticket, mailbox, smtp_server, agent, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    _customer_mail(email_ticket, mailbox, "<first@example.com>")
    _customer_mail(email_ticket, mailbox, "<second@example.com>")
    message = _reply(email_ticket, agent, django_capture_on_commit_callbacks,
                     upload=SimpleUploadedFile("发票.pdf", PDF, content_type="application/pdf"))

    delivery = message.deliveries.get()
    assert delivery.state == "sent" and delivery.attempts == 1 and delivery.sent_at
    [(_when, mail_from, rcpt_tos, _content)] = smtp_server.envelopes
    assert (mail_from, rcpt_tos) == ("service@shop.example", ["buyer@example.com"])
    [mail] = smtp_server.mails()
    assert mail["Message-ID"] == f"<{delivery.key.hex}@shop.example>" == delivery.external_id
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"] == "<first@example.com> <second@example.com>"
    assert mail["Subject"] == f"Re: 拉链问题 [{email_ticket.number}]"
    assert mail["From"].addresses[0].display_name == "小店客服"
    assert mail["From"].addresses[0].addr_spec == "service@shop.example"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "您好，<已补寄>\n请查收" in text and email_ticket.number in text
    assert "您好，&lt;已补寄&gt;<br>请查收" in html and "<已补寄>" not in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "发票.pdf" and attachment.get_content() == PDF


def test_a_first_reply_takes_its_subject_from_the_case(email_ticket, mailbox, smtp_server, agent,
                                                       django_capture_on_commit_callbacks):
    _reply(email_ticket, agent, django_capture_on_commit_callbacks)
    [mail] = smtp_server.mails()
    assert mail["Subject"] == f"Re: 拉链坏了 [{email_ticket.number}]" and mail["In-Reply-To"] is None


def test_a_task_run_again_after_the_send_sends_nothing(email_ticket, mailbox, smtp_server, agent,
                                                       django_capture_on_commit_callbacks):
    delivery = _reply(email_ticket, agent, django_capture_on_commit_callbacks).deliveries.get()
    assert delivery_send(delivery.pk) == "sent"  # the re-delivered task
    assert len(smtp_server.envelopes) == 1


def test_smtp_down_fails_with_a_next_attempt_then_the_retry_sends_it(
        email_ticket, mailbox, smtp_server, agent, django_capture_on_commit_callbacks):
    port = mailbox.smtp_port
    mailbox.smtp_port = 1  # nothing listens there: connection refused
    mailbox.save()
    delivery = _reply(email_ticket, agent, django_capture_on_commit_callbacks).deliveries.get()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "unreachable" in delivery.last_error
    assert timezone.now() + timedelta(seconds=25) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=31)

    mailbox.smtp_port = port
    mailbox.save()
    assert deliveries_retry_due() == 0  # not due yet
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    [mail] = smtp_server.mails()
    assert mail["Message-ID"] == f"<{delivery.key.hex}@shop.example>"  # the same mail as the first try


def test_a_refused_recipient_is_dead_at_once_with_an_event(email_ticket, mailbox, smtp_server, agent,
                                                           django_capture_on_commit_callbacks):
    smtp_server.refuse = (550, "5.1.1 No such user")
    delivery = _reply(email_ticket, agent, django_capture_on_commit_callbacks).deliveries.get()
    delivery.refresh_from_db()
    assert delivery.state == "dead" and "550" in delivery.last_error and delivery.attempts == 1
    event = email_ticket.events.get(action=EventAction.MESSAGE_UNDELIVERED)
    assert "E-mail" in event.reason_text and "No such user" in event.reason_text
    assert smtp_server.envelopes == []


def test_a_busy_mailbox_4xx_is_tried_again(email_ticket, mailbox, smtp_server, agent,
                                            django_capture_on_commit_callbacks):
    smtp_server.refuse = (451, "4.7.1 Try again later")
    delivery = _reply(email_ticket, agent, django_capture_on_commit_callbacks).deliveries.get()
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "451" in delivery.last_error


def test_after_the_last_attempt_it_is_dead(email_ticket, mailbox, agent, settings,
                                           django_capture_on_commit_callbacks):
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    mailbox.smtp_port = 1
    mailbox.save()
    delivery = _reply(email_ticket, agent, django_capture_on_commit_callbacks).deliveries.get()
    assert delivery_send(delivery.pk) == "dead"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at is None
    assert email_ticket.events.filter(action=EventAction.MESSAGE_UNDELIVERED).count() == 1


def test_a_delivery_left_sending_by_a_dead_worker_is_taken_again_only_when_stale(
        email_ticket, mailbox, smtp_server, agent):
    delivery = services.message_add(ticket=email_ticket, actor=agent, direction="outbound",
                                    body="您好").deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state="sending", attempts=1)
    assert delivery_send(delivery.pk) == "sending"  # another worker may be in it
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert delivery_send(delivery.pk) == "sent"
    assert len(smtp_server.envelopes) == 1


def test_with_the_broker_down_the_sweep_sends_a_few_inline(email_ticket, mailbox, smtp_server, agent, monkeypatch):
    from tickets.outbound import service

    monkeypatch.setattr(service, "enqueue", lambda task, *args: False)  # the broker refuses every publish
    monkeypatch.setattr(service, "INLINE_PER_SWEEP", 2)
    for n in range(3):
        services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body=f"回复{n}")
    later = timezone.now() + timedelta(minutes=2)  # past the planning grace: their tasks were lost
    assert deliveries_retry_due(now=later) == 3
    assert len(smtp_server.envelopes) == 2  # bounded per run
    assert Delivery.objects.filter(state="queued").count() == 1
    assert deliveries_retry_due(now=later + timedelta(minutes=2)) == 1
    assert len(smtp_server.envelopes) == 3


def test_the_sweep_takes_back_a_delivery_a_dead_worker_left_sending(email_ticket, mailbox, smtp_server, agent,
                                                                    django_capture_on_commit_callbacks):
    delivery = services.message_add(ticket=email_ticket, actor=agent, direction="outbound",
                                    body="您好").deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state="sending", attempts=1,
                                                   updated_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert deliveries_retry_due() == 0  # nothing left to take
