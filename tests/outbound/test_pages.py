"""The delivery state on the ticket page, the live stamp, and the supervisors' undelivered list."""

import re

import pytest
from django.urls import reverse

from tickets import services
from tickets.live import ticket_stamps
from tickets.models import Delivery, Ticket

pytestmark = pytest.mark.django_db


def _stamp(ticket):
    return ticket_stamps(Ticket.objects.filter(pk=ticket.pk))[ticket.pk]


def test_the_timeline_shows_each_replys_delivery_state(client, supervisor, email_ticket, agent):
    services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body="第一条回复")
    sent = services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body="第二条回复")
    Delivery.objects.filter(message=sent).update(state="failed", last_error="SMTP 451 busy")
    client.force_login(supervisor)
    page = re.sub(r"<[^>]+>", "", client.get(reverse("tickets:detail", args=[email_ticket.pk])).content.decode())
    assert "E-mail: no channel configured: No mailbox is set up to send from." in page
    assert "E-mail: failed, will retry: SMTP 451 busy" in page


def test_the_timeline_reads_deliveries_in_one_query_for_any_number_of_replies(email_ticket, agent,
                                                                              django_assert_num_queries):
    from tickets.policies import ticket_get_for_user
    from tickets.selectors import ticket_timeline

    for n in range(3):
        services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body=f"回复{n}")
    ticket = ticket_get_for_user(user=agent, ticket_id=email_ticket.pk)
    with django_assert_num_queries(3):  # the messages, the events, and the deliveries of all the replies
        timeline = ticket_timeline(ticket)
    assert [len(item.delivery_list) for kind, _when, item in timeline if kind == "message"] == [1, 1, 1]


def test_the_live_stamp_moves_when_a_delivery_changes_state(email_ticket, agent):
    message = services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body="回复")
    before = _stamp(email_ticket)
    delivery = message.deliveries.get()
    delivery.state = "sent"
    delivery.save()
    assert _stamp(email_ticket) != before


def test_the_undelivered_list_is_for_supervisors_and_sends_again(client, agent, supervisor, email_ticket, mailbox,
                                                                 django_capture_on_commit_callbacks, smtp_server):
    Delivery.objects.all().delete()
    message = services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body="请查收")
    delivery = message.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(state="dead", attempts=8, last_error="SMTP 550 no such user")

    client.force_login(agent)
    assert client.get(reverse("tickets:undelivered")).status_code == 403
    assert client.post(reverse("tickets:undelivered_resend", args=[delivery.pk])).status_code == 403

    client.force_login(supervisor)
    page = client.get(reverse("tickets:undelivered"))
    assert page.status_code == 200 and "SMTP 550 no such user" in page.content.decode()
    assert email_ticket.number in page.content.decode()
    assert 'id="undelivered-count"' in client.get(reverse("tickets:dashboard")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("tickets:undelivered_resend", args=[delivery.pk]))
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert len(smtp_server.envelopes) == 1
    assert "SMTP 550" not in client.get(reverse("tickets:undelivered")).content.decode()


def test_sending_again_without_a_channel_says_why_and_changes_nothing(client, supervisor, email_ticket, agent):
    message = services.message_add(ticket=email_ticket, actor=agent, direction="outbound", body="请查收")
    delivery = message.deliveries.get()
    client.force_login(supervisor)
    answer = client.post(reverse("tickets:undelivered_resend", args=[delivery.pk]), follow=True)
    assert "No mailbox is set up to send from." in answer.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == "no_channel"
