"""The playbook through the API: propose and confirm a solution, decide an approval, act on an incident."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import Refund
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tickets import services
from tickets.incidents.detect import incident_detect
from tickets.models import ApprovalRequest
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def started_ticket(agent, product=None):
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("500"))
    item = OrderItemFactory(
        order=order, product=product or ProductFactory(), unit_price=Decimal("500"), paid_amount=Decimal("500")
    )
    ticket = services.ticket_create(
        actor=agent,
        channel="chat",
        description="少发了配件",
        order=order,
        affected_items=[item],
        type="refund_only",
        category="wrong_or_missing_item",
    )
    ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
    return ticket_transition(ticket=ticket, action="start", actor=agent)


def test_solution_above_the_limit_waits_for_a_supervisor_who_decides_through_the_api():
    agent, supervisor = make_user("agent", username="api_pb_agent"), make_user("supervisor", username="api_pb_sup")
    ticket = started_ticket(agent)
    api = client_for(agent)

    proposed = api.post(
        f"/api/v1/tickets/{ticket.pk}/solutions/",
        {"kind": "refund_only", "amount": "300.00", "return_required": False},
        format="json",
    )
    assert proposed.status_code == 201, proposed.json()
    confirmed = api.post(
        f"/api/v1/tickets/{ticket.pk}/solutions/{proposed.json()['id']}/confirm/",
        {"channel": "chat", "text": "同意退300元"},
        format="json",
    )
    assert confirmed.json()["status"] == "confirmed"

    approval = ApprovalRequest.objects.get(ticket=ticket)
    assert api.post(f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True}, format="json").status_code == 403
    decided = client_for(supervisor).post(
        f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True, "reason": "核实无误"}, format="json"
    )
    assert decided.json()["status"] == "approved"
    assert Refund.objects.get(ticket=ticket).status == "approved"


def test_bad_solution_input_is_a_400_with_field_messages_and_changes_nothing():
    agent = make_user("agent", username="api_pb_agent2")
    ticket = started_ticket(agent)
    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/solutions/", {"kind": "refund_only", "amount": "-5"}, format="json"
    )
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    assert not ticket.solutions.exists()


def test_incidents_are_for_supervisors_and_act_reports_per_ticket():
    agent, supervisor = make_user("agent", username="api_inc_agent"), make_user("supervisor", username="api_inc_sup")
    product = ProductFactory()
    for _ in range(5):
        started_ticket(agent, product)
    incident = incident_detect()[0]

    assert client_for(agent).get("/api/v1/incidents/").status_code == 403
    api = client_for(supervisor)
    assert api.get("/api/v1/incidents/").json()["results"][0]["id"] == incident.pk
    api.post(
        f"/api/v1/incidents/{incident.pk}/act/",
        {"action": "confirm", "agreed_reply": "您好，统一补发。"},
        format="json",
    )
    report = api.post(f"/api/v1/incidents/{incident.pk}/act/", {"action": "reply"}, format="json").json()
    assert len(report["done"]) == 5 and report["refused"] == {}
