"""Races on real PostgreSQL row locks: two departments finishing at once, two agents taking at once.

Each thread gets its own database connection (Django keeps one per thread) and closes it at
the end. A barrier releases both threads at the same moment; each race is repeated so that a
missing lock shows up as a failure rather than as luck.
"""


import pytest

from tests.factories import CustomerFactory, make_user
from tests.threads import run_together
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Department, Status, Subtask, Ticket, TicketEvent
from tickets.subtasks import subtask_complete, subtask_create
from tickets.workflow import TransitionRefused, ticket_transition

# serialized_rollback: the flush after a transactional test would otherwise wipe the groups and
# departments the migrations create, which every later test relies on.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUNDS = 10


def new_ticket(actor) -> Ticket:
    return services.ticket_create(
        actor=actor,
        channel="chat",
        description="退回的电饭煲不加热，要求退款",
        customer=CustomerFactory(),
        type="return_refund",
        category="product_quality",
    )


@pytest.fixture
def people(settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    return {
        "agent": make_user("agent", username="race-agent1"),
        "agent2": make_user("agent", username="race-agent2"),
        "warehouse": make_user("department_staff", username="race-wh", department="warehouse"),
        "finance": make_user("department_staff", username="race-fin", department="finance"),
    }


def test_two_departments_finishing_at_once_return_the_ticket_exactly_once(people):
    agent, warehouse_staff, finance_staff = people["agent"], people["warehouse"], people["finance"]
    warehouse, finance = Department.objects.get(code="warehouse"), Department.objects.get(code="finance")

    for round_ in range(ROUNDS):
        # Given a ticket waiting on two departments,
        ticket = new_ticket(agent)
        for action in ("triage", "start"):
            ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
        inspect = subtask_create(
            ticket=ticket, actor=agent, department=warehouse, kind=Subtask.Kind.INSPECT_RETURN, description="验货"
        )
        refund = subtask_create(
            ticket=ticket, actor=agent, department=finance, kind=Subtask.Kind.REFUND_PAYMENT, description="退款"
        )
        assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_DEPARTMENT

        # when both finish at the same moment,
        results = run_together(
            lambda inspect=inspect: subtask_complete(subtask=inspect, actor=warehouse_staff, result="验货通过"),
            lambda refund=refund: subtask_complete(subtask=refund, actor=finance_staff, result="已退款"),
        )

        # then both are done and the ticket is back with the agent, moved exactly once.
        assert not [r for r in results if isinstance(r, Exception)], (round_, results)
        assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS, round_
        assert set(Subtask.objects.filter(ticket=ticket).values_list("status", flat=True)) == {Subtask.Status.DONE}
        assert TicketEvent.objects.filter(ticket=ticket, action="department_done").count() == 1, round_
        assert TicketEvent.objects.filter(ticket=ticket, action="subtask_complete").count() == 2, round_


def test_two_agents_taking_the_same_ticket_at_once_one_wins(people):
    first, second = people["agent"], people["agent2"]

    for round_ in range(ROUNDS):
        ticket = new_ticket(first)
        assert ticket.assignee_id is None

        results = run_together(
            lambda ticket=ticket: ticket_take(ticket=ticket, actor=first),
            lambda ticket=ticket: ticket_take(ticket=ticket, actor=second),
        )

        refused = [r for r in results if isinstance(r, TransitionRefused)]
        won = [r for r in results if isinstance(r, Ticket)]
        assert (len(won), len(refused)) == (1, 1), (round_, results)
        ticket.refresh_from_db()
        assert ticket.assignee_id == won[0].assignee_id
        assert ticket.assignee_id in (first.pk, second.pk)
        (event,) = TicketEvent.objects.filter(ticket=ticket, action="taken")
        assert event.actor_id == ticket.assignee_id
