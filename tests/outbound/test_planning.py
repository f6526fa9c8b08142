"""Which deliveries a reply gets (common routing rule), and the state when the channel is not set up."""

import pytest

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Delivery, Message

pytestmark = pytest.mark.django_db


def _reply(ticket, agent, **kwargs):
    return services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好，已补寄", **kwargs)


def test_a_reply_on_an_email_case_is_queued_by_email_with_its_message_id(email_ticket, mailbox, agent,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        message = _reply(email_ticket, agent)
    delivery = message.deliveries.get()
    assert (delivery.channel, delivery.state, delivery.recipient) == ("email", "queued", "buyer@example.com")
    assert delivery.next_attempt_at is not None  # the sweep finds it if its task is lost
    assert Message.objects.get(pk=message.pk).email_message_id == f"<{delivery.key.hex}@shop.example>"
    assert len(callbacks) == 1  # the send is queued after commit


def test_a_reply_on_a_platform_case_goes_to_the_outbox(platform_ticket, outbox, agent):
    delivery = _reply(platform_ticket, agent).deliveries.get()
    assert (delivery.channel, delivery.state, delivery.recipient) == ("platform_chat", "queued", "jd_buyer_7")


def test_a_reply_on_a_phone_case_is_a_record_only(agent, settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    ticket = services.ticket_create(actor=agent, channel="phone", description="电话咨询", customer=CustomerFactory())
    assert not _reply(ticket, agent).deliveries.exists()


def test_a_call_recorded_on_an_email_case_is_not_sent(email_ticket, mailbox, agent):
    assert not _reply(email_ticket, agent, channel="phone").deliveries.exists()


def test_without_a_mailbox_the_reply_stays_recorded_with_no_channel(email_ticket, agent,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = _reply(email_ticket, agent).deliveries.get()
    assert delivery.state == "no_channel" and delivery.last_error == "No mailbox is set up to send from."
    assert callbacks == []  # nothing to send


def test_a_customer_without_an_address_or_a_platform_without_outbox_is_no_channel(agent, mailbox, platform_ticket):
    email_case = services.ticket_create(actor=agent, channel="email", description="x", customer=CustomerFactory())
    assert _reply(email_case, agent).deliveries.get().last_error == "The customer has no e-mail address."
    assert _reply(platform_ticket, agent).deliveries.get().last_error == "No chat outbox is set up for jd."


def test_an_inbound_mail_on_a_chat_case_makes_replies_go_by_email_too(agent, mailbox, settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    ticket = services.ticket_create(actor=agent, channel="chat", description="x",
                                    customer=CustomerFactory(email="c@example.com"))
    Message.objects.create(ticket=ticket, direction="inbound", body="补充", email_message_id="<m1@example.com>")
    assert [d.channel for d in _reply(ticket, agent).deliveries.all()] == ["email"]


def test_notes_and_customer_messages_get_no_delivery(email_ticket, mailbox, agent):
    services.message_add(ticket=email_ticket, actor=agent, direction="note", body="内部备注")
    services.message_add(ticket=email_ticket, actor=None, direction="inbound", body="还在吗")
    assert not Delivery.objects.exists()
