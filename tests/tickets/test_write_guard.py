"""Every ticket service starts with tickets.workflow.ticket_lock_for_write: an archived ticket refuses
every write, and a writer who saw an older version is refused — in both cases nothing changes."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.tickets.test_uploads import PNG
from tickets import assignment, services
from tickets.followup.services import follow_up_record, survey_submit
from tickets.models import Department, Message, Solution, Status, Subtask, Ticket, TicketEvent
from tickets.playbook import services as playbook
from tickets.subtasks import subtask_act, subtask_create
from tickets.workflow import StaleVersion, TicketReadOnly, ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {"agent": make_user("agent", username="wg_agent"), "supervisor": make_user("supervisor", username="wg_sup"),
            "senior": make_user("senior_agent", username="wg_senior"),
            "warehouse": make_user("department_staff", username="wg_wh", department="warehouse")}


@pytest.fixture
def case(people):
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("100"))
    OrderItemFactory(order=order, unit_price=Decimal("100"), paid_amount=Decimal("100"))
    ticket = services.ticket_create(actor=people["agent"], channel="chat", description="杯子漏水", order=order,
                                    affected_items=list(order.items.all()), type="exchange", category="logistics")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=people["agent"])
    subtask = subtask_create(ticket=ticket, actor=people["agent"], department=Department.objects.get(code="warehouse"),
                             kind="reship", description="补发")
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="explanation")
    return Ticket.objects.get(pk=ticket.pk), subtask, solution


def _png():
    return SimpleUploadedFile("photo.png", PNG, content_type="image/png")


# Every write a person (or the customer) can make on a ticket, with the version it saw where it carries one.
WRITES = {
    "classify": lambda t, s, sol, p, v: services.ticket_classify(ticket=t, actor=p["agent"], symptom="漏",
                                                                 expected_version=v),
    "override_priority": lambda t, s, sol, p, v: services.ticket_override_priority(
        ticket=t, actor=p["agent"], priority="P1", reason="急", expected_version=v),
    "override_risk": lambda t, s, sol, p, v: services.ticket_override_risk(
        ticket=t, actor=p["agent"], risk_level="high", reason="曝光", expected_version=v),
    "summary": lambda t, s, sol, p, v: services.ticket_set_summary(ticket=t, actor=p["agent"], summary="已解决",
                                                                   expected_version=v),
    "assign": lambda t, s, sol, p, v: assignment.ticket_assign(ticket=t, actor=p["supervisor"], assignee=p["senior"],
                                                               expected_version=v),
    "transition": lambda t, s, sol, p, v: ticket_transition(ticket=t, action="wait_customer", actor=p["agent"],
                                                            expected_version=v),
    "subtask_act": lambda t, s, sol, p, v: subtask_act(subtask=s, actor=p["warehouse"], action="start",
                                                       expected_version=v),
    "message": lambda t, s, sol, p, v: services.message_add(ticket=t, actor=p["agent"], direction="outbound",
                                                            body="您好"),
    "attachment": lambda t, s, sol, p, v: services.attachment_add(ticket=t, actor=p["agent"], upload=_png()),
    "take": lambda t, s, sol, p, v: assignment.ticket_take(ticket=t, actor=p["senior"]),
    "subtask_create": lambda t, s, sol, p, v: subtask_create(
        ticket=t, actor=p["agent"], department=Department.objects.get(code="warehouse"), kind="reship",
        description="再补发"),
    "solution_propose": lambda t, s, sol, p, v: playbook.solution_propose(ticket=t, actor=p["agent"],
                                                                          kind="explanation"),
    "solution_confirm": lambda t, s, sol, p, v: playbook.solution_confirm(solution=sol, actor=p["agent"],
                                                                          channel="chat", text="好的"),
    "follow_up": lambda t, s, sol, p, v: follow_up_record(ticket=t, actor=p["agent"], channel="phone",
                                                          result="solved"),
    "survey": lambda t, s, sol, p, v: survey_submit(ticket=t, solved=True, score=5),
}
VERSIONED = ("classify", "override_priority", "override_risk", "summary", "assign", "transition", "subtask_act")


def _snapshot(ticket, subtask):
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (ticket.version, ticket.status, ticket.priority, ticket.risk_level, ticket.symptom, ticket.summary,
            ticket.assignee_id, TicketEvent.objects.filter(ticket=ticket).count(),
            Message.objects.filter(ticket=ticket).count(), ticket.attachments.count(),
            Subtask.objects.filter(ticket=ticket).count(), Subtask.objects.get(pk=subtask.pk).version,
            list(Solution.objects.filter(ticket=ticket).values_list("status", flat=True)))


@pytest.mark.parametrize("write", sorted(WRITES))
def test_an_archived_ticket_refuses_every_write_and_nothing_changes(case, people, write):
    ticket, subtask, solution = case
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.ARCHIVED)  # set up: the lifecycle is tested elsewhere
    ticket.refresh_from_db()
    before = _snapshot(ticket, subtask)

    with pytest.raises(TicketReadOnly):
        WRITES[write](ticket, subtask, solution, people, None)

    assert _snapshot(ticket, subtask) == before


@pytest.mark.parametrize("write", VERSIONED)
def test_a_write_from_a_stale_page_is_refused_and_nothing_changes(case, people, write):
    ticket, subtask, solution = case
    seen = subtask.version if write == "subtask_act" else ticket.version
    services.ticket_classify(ticket=ticket, actor=people["supervisor"], frequency="每次")  # someone else, meanwhile
    if write == "subtask_act":
        subtask_act(subtask=subtask, actor=people["warehouse"], action="start")
    ticket.refresh_from_db()
    before = _snapshot(ticket, subtask)

    with pytest.raises(StaleVersion):
        WRITES[write](ticket, subtask, solution, people, seen)

    assert _snapshot(ticket, subtask) == before


@pytest.mark.parametrize("write", VERSIONED)
def test_a_write_naming_the_current_version_goes_through(case, people, write):
    ticket, subtask, solution = case
    if write == "transition":  # waiting on the warehouse: no manual move until its subtask is gone
        subtask_act(subtask=subtask, actor=people["agent"], action="cancel", result="不需要了")
        ticket.refresh_from_db()
    current = subtask.version if write == "subtask_act" else ticket.version
    before = _snapshot(ticket, subtask)

    WRITES[write](ticket, subtask, solution, people, current)

    assert _snapshot(ticket, subtask) != before
