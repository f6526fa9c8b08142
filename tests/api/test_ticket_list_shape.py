"""The ticket list of the API writes its rows directly (TicketListSerializer.to_representation, for speed):
each row must be exactly what the serializer's declared fields write, which the schema describes, for
whoever reads it (masked for department staff) and whatever the ticket lacks (no order, no assignee, no
SLA clock)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient, APIRequestFactory

from customers.models import Customer
from orders.models import Order
from tests.factories import CustomerFactory, OrderFactory, TicketFactory
from tests.tickets.test_workflow import hand_to_warehouse, move, new_ticket
from tickets.api.serializers import TicketListSerializer
from tickets.models import SLAState, Ticket


def _declared_fields_output(ticket: Ticket, user) -> dict:
    """The row as DRF writes it field by field from the declared fields (what the shortcut replaces)."""
    request = APIRequestFactory().get("/api/v1/tickets/")
    request.user = user
    serializer = TicketListSerializer(context={"request": request})
    return serializers.ModelSerializer.to_representation(serializer, ticket)


@pytest.fixture
def tickets(agent):
    now = timezone.now()
    customer = CustomerFactory(name="张伟", phone="13812345678", platform_account="zhangwei_88")
    full = move(new_ticket(agent, customer=customer, order=OrderFactory(customer=customer)), agent, "triage")
    Ticket.objects.filter(pk=full.pk).update(
        assignee=agent, sla_state=SLAState.WARNING, escalation_level=2, first_response_due_at=now,
        next_response_due_at=now + timedelta(hours=1), resolution_due_at=now + timedelta(days=2))
    hand_to_warehouse(Ticket.objects.get(pk=full.pk), agent)  # so the warehouse sees it
    bare = TicketFactory(type="", category="", order=None, assignee=None)  # no order, assignee or clock
    return [full, bare]


@pytest.mark.parametrize("viewer", ["supervisor", "warehouse_staff"])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_each_listed_row_is_what_the_declared_fields_write(request, tickets, viewer, zone, settings):
    settings.TIME_ZONE = zone  # UTC times end in Z, others in their offset
    user = request.getfixturevalue(viewer)
    client = APIClient()
    client.force_authenticate(user=user)

    rows = client.get("/api/v1/tickets/").json()["results"]

    assert rows, "the viewer sees tickets"
    for row in rows:
        ticket = Ticket.objects.select_related("customer", "order", "assignee").get(pk=row["id"])
        with timezone.override(zone):
            assert row == _declared_fields_output(ticket, user)
        assert list(row) == TicketListSerializer.Meta.fields  # and in the schema's order
    if viewer == "warehouse_staff":
        assert [row["customer"]["name"] for row in rows] == ["张*"]  # masked, as the field writes it


def test_a_listed_page_is_read_as_values_not_built_into_tickets(tickets, supervisor):
    client = APIClient()
    client.force_authenticate(user=supervisor)
    built, from_db = [], Model.from_db.__func__

    def recorded(cls, *args):  # Model.from_db builds every instance a query yields
        built.append(cls)
        return from_db(cls, *args)

    with mock.patch.object(Model, "from_db", classmethod(recorded)):
        rows = client.get("/api/v1/tickets/").json()["results"]
    assert {row["id"] for row in rows} == {t.pk for t in tickets}
    assert not [model for model in built if model in (Ticket, Customer, Order, get_user_model())]


@pytest.mark.parametrize("query", [
    {"q": "张伟"}, {"status": ["triaged", "new"]}, {"type": "return_refund"}, {"category": "logistics"},
    {"priority": "P1"}, {"sla_state": "warning"}, {"risk_level": "high"}, {"channel": "chat"},
    {"platform": "taobao"}, {"tags": "none-such"}, {"created_after": "2020-01-01", "created_before": "2099-01-01"},
    {"ordering": "-priority"}, {"ordering": "sla_due_at"}, {"ordering": "-updated_at"}, {"page_size": "1"},
])
def test_every_filter_and_sort_of_the_list_answers_from_values(tickets, supervisor, query):
    client = APIClient()
    client.force_authenticate(user=supervisor)
    response = client.get("/api/v1/tickets/", query)
    assert response.status_code == 200, response.content[:300]
    for row in response.json()["results"]:
        assert list(row) == TicketListSerializer.Meta.fields
