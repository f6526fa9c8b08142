"""The customer's link once the case moved on (closed, archived) while the page was open: every POST
is refused with a message, nothing is written, and nothing fails with a 500."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tickets import services
from tickets.followup.models import SatisfactionSurvey
from tickets.models import Message, Solution, Status, Ticket, TicketEvent
from tickets.playbook.services import solution_propose
from tickets.portal.links import customer_link_issue
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent(db):
    return make_user("agent", username="closed_case_agent")


def resolved_with_link(agent) -> tuple[Ticket, str]:
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("99"))
    OrderItemFactory(order=order)
    ticket = services.ticket_create(actor=agent, channel="chat", description="杯子有裂纹", order=order,
                                    type="refund_only", category="product_quality")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    solution_propose(ticket=ticket, actor=agent, kind=Solution.Kind.REFUND_ONLY, amount=Decimal("20"))
    ticket = ticket_transition(ticket=ticket, action="resolve", actor=agent)
    path, _ = customer_link_issue(ticket=ticket, actor=agent)
    return ticket, path


def archive(ticket, agent) -> Ticket:
    ticket = ticket_transition(ticket=ticket, action="close", actor=agent)
    services.ticket_set_summary(ticket=ticket, actor=agent, root_cause="a", summary="b", what_worked="c")
    return ticket_transition(ticket=ticket, action="archive", actor=agent)


def post_everything(path: str, ticket: Ticket) -> list:
    client = Client()
    solution = ticket.solutions.first()
    return [
        client.post(path + "confirm/", {"solution": solution.pk}, follow=True),
        client.post(path + "evidence/", {"text": "还有一张照片"}, follow=True),
        client.post(path + "survey/", {"solved": "yes", "score": "5"}, follow=True),
    ]


def test_an_archived_case_refuses_every_post_with_a_message_and_writes_nothing(agent):
    ticket, path = resolved_with_link(agent)
    ticket = archive(ticket, agent)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    messages = Message.objects.filter(ticket=ticket).count()

    responses = post_everything(path, ticket)

    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in responses:
        assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert TicketEvent.objects.filter(ticket=ticket).count() == events
    assert Message.objects.filter(ticket=ticket).count() == messages
    assert not SatisfactionSurvey.objects.filter(ticket=ticket).exists()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.ARCHIVED


def test_a_closed_case_takes_no_more_evidence_from_the_link(agent):
    ticket, path = resolved_with_link(agent)
    ticket = ticket_transition(ticket=ticket, action="close", actor=agent)
    messages = Message.objects.filter(ticket=ticket).count()

    response = Client().post(path + "evidence/", {"text": "还有一张照片"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "This case is closed. For a new problem, please contact the shop."
    ]
    assert Message.objects.filter(ticket=ticket).count() == messages
