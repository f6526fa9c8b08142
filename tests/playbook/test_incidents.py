"""Incidents: detection from shared product and category, one agreed reply, bulk actions, proactive contact."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tickets import services
from tickets.incidents import (
    incident_confirm,
    incident_detect,
    incident_open_proactive,
    incident_reply_all,
    incident_resolve_all,
    incident_unreached_orders,
)
from tickets.models import Incident, Message, Ticket
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def jacket():
    return ProductFactory(sku="YRF-8821-BK-M", name="羽绒服 黑色 M")


def complaint(agent, product, *, category="product_quality", start=True):
    order = OrderFactory(customer=CustomerFactory())
    item = OrderItemFactory(order=order, product=product)
    ticket = services.ticket_create(
        actor=agent,
        channel="chat",
        description="拉链坏了",
        order=order,
        affected_items=[item],
        type="return_refund",
        category=category,
    )
    if start:
        ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
        ticket = ticket_transition(ticket=ticket, action="start", actor=agent)
    return ticket


def test_five_tickets_on_one_product_and_category_suggest_one_incident_and_detection_is_repeatable(jacket):
    agent = make_user("agent", username="inc_agent")
    tickets = [complaint(agent, jacket) for _ in range(5)]
    complaint(agent, jacket, category="logistics")  # another category: not a member
    complaint(agent, ProductFactory())  # another product: not a member

    found = incident_detect()
    again = incident_detect()

    assert len(found) == 1 and again == found
    incident = found[0]
    assert incident.status == Incident.Status.SUGGESTED
    assert set(incident.tickets.values_list("pk", flat=True)) == {t.pk for t in tickets}
    assert Incident.objects.count() == 1


def test_four_tickets_are_not_yet_an_incident(jacket):
    agent = make_user("agent", username="inc_agent2")
    for _ in range(4):
        complaint(agent, jacket)
    assert incident_detect() == []


def test_the_agreed_reply_goes_to_every_member_and_resolving_reports_refusals(jacket):
    agent = make_user("agent", username="inc_agent3")
    supervisor = make_user("supervisor", username="inc_super")
    tickets = [complaint(agent, jacket) for _ in range(4)] + [complaint(agent, jacket, start=False)]
    incident = incident_detect()[0]
    with pytest.raises(ValidationError, match="agreed reply"):
        incident_reply_all(incident=incident, actor=supervisor)

    incident = incident_confirm(
        incident=incident,
        actor=supervisor,
        agreed_reply="{customer_name}您好，该批次拉链有问题，我们为您免费换新。",
        plan="换新",
    )
    report = incident_reply_all(incident=incident, actor=supervisor)

    assert sorted(report.done) == sorted(t.pk for t in tickets)
    first = Message.objects.filter(ticket=tickets[0], direction="outbound").get()
    assert first.body.startswith(tickets[0].customer.name)

    resolved = incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")
    assert len(resolved.done) == 4
    assert list(resolved.refused) == [tickets[-1].pk]  # still new: resolve refused, reported, nothing changed
    assert Ticket.objects.get(pk=tickets[-1].pk).status == "new"


def test_customers_who_have_not_contacted_us_get_a_proactive_ticket(jacket):
    agent = make_user("agent", username="inc_agent4")
    for _ in range(5):
        complaint(agent, jacket)
    silent = OrderItemFactory(product=jacket).order
    incident = incident_confirm(
        incident=incident_detect()[0], actor=agent, agreed_reply="您好，我们主动联系您：该批次有问题。"
    )

    assert list(incident_unreached_orders(incident=incident)) == [silent]
    report = incident_open_proactive(incident=incident, actor=agent)

    ticket = Ticket.objects.get(pk=report.done[0])
    assert ticket.order == silent and ticket.incidents.filter(pk=incident.pk).exists()
    assert ticket.messages.filter(direction="outbound").exists()
    assert list(incident_unreached_orders(incident=incident)) == []


def test_supervisors_work_incidents_in_the_browser_and_agents_are_refused(client, jacket):
    agent = make_user("agent", username="inc_agent5")
    supervisor = make_user("supervisor", username="inc_super5")
    tickets = [complaint(agent, jacket) for _ in range(5)]
    incident = incident_detect()[0]

    client.force_login(agent)
    assert client.get("/incidents/").status_code == 403
    assert client.post(f"/incidents/{incident.pk}/act/", {"action": "reply"}).status_code == 403

    client.force_login(supervisor)
    assert client.get("/incidents/").status_code == 200
    assert jacket.name in client.get(f"/incidents/{incident.pk}/").content.decode()
    client.post(f"/incidents/{incident.pk}/act/", {"action": "confirm", "agreed_reply": "您好，统一换新。", "plan": ""})
    response = client.post(f"/incidents/{incident.pk}/act/", {"action": "reply"}, follow=True)
    assert response.status_code == 200
    assert all(Message.objects.filter(ticket=t, direction="outbound").exists() for t in tickets)


def test_shipping_watch_lists_late_and_stalled_orders_and_informs_customers_once(client):
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Order
    from tickets.models import ReplyTemplate

    supervisor = make_user("supervisor", username="watch_super")
    now = timezone.now()
    late = OrderFactory(status=Order.Status.PAID, ship_by=now - timedelta(hours=3))
    on_time = OrderFactory(status=Order.Status.PAID, ship_by=now + timedelta(hours=3))
    stalled = OrderFactory(status=Order.Status.SHIPPED, logistics_status=Order.LogisticsStatus.IN_TRANSIT,
                           logistics_updated_at=now - timedelta(hours=60))
    moving = OrderFactory(status=Order.Status.SHIPPED, logistics_status=Order.LogisticsStatus.IN_TRANSIT,
                          logistics_updated_at=now - timedelta(hours=2))
    template = ReplyTemplate.objects.get(name="发货延迟致歉")

    client.force_login(supervisor)
    page = client.get("/watch/").content.decode()
    assert late.external_number in page and stalled.external_number in page
    assert on_time.external_number not in page and moving.external_number not in page

    client.post("/watch/inform/", {"orders": [late.pk, stalled.pk], "template": template.pk})
    client.post("/watch/inform/", {"orders": [late.pk], "template": template.pk})  # again: skipped

    assert Ticket.objects.filter(order=late).count() == 1 and Ticket.objects.filter(order=stalled).count() == 1
    reply = Message.objects.get(ticket__order=late, direction="outbound")
    assert late.external_number in reply.body and late.customer.name in reply.body
