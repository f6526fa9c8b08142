"""Who works a ticket (tickets/assignment.py) and the queues that show it (tickets/selectors.py)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, TicketFactory, make_user
from tickets import services
from tickets.assignment import ticket_assign, ticket_take
from tickets.models import Department, RiskLevel, Status, Subtask, Ticket, TicketEvent
from tickets.selectors import subtasks_of_department, subtasks_overdue, tickets_assigned_to, tickets_unassigned
from tickets.workflow import TransitionRefused


def intake(actor=None, **fields) -> Ticket:
    return services.ticket_create(
        actor=actor, channel="chat", description="快递三天没动了", customer=CustomerFactory(), **fields
    )


def give_load(user, open_count: int, closed_count: int = 0) -> None:
    for _ in range(open_count):
        TicketFactory(assignee=user, status=Status.IN_PROGRESS)
    for _ in range(closed_count):
        TicketFactory(assignee=user, status=Status.CLOSED)


def events(ticket: Ticket, action: str) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket, action=action).order_by("id"))


def snapshot(ticket: Ticket):
    return (
        Ticket.objects.values_list("assignee_id", "updated_at").get(pk=ticket.pk),
        TicketEvent.objects.filter(ticket=ticket).count(),
    )


# Automatic assignment on intake ------------------------------------------------------------------


def test_new_ticket_goes_to_the_least_loaded_on_duty_agent(db):
    # Created first, so it would win the tie-break if being off duty did not skip it.
    off_duty = make_user("agent", on_duty=False)
    busy, idle, half = make_user("agent"), make_user("agent"), make_user("agent")
    give_load(busy, 2)
    give_load(idle, 0, closed_count=3)  # closed tickets are not load
    give_load(half, 1)
    make_user("supervisor")  # supervisors and department staff are never auto-assigned
    make_user("department_staff", department="warehouse")

    ticket = intake()

    assert ticket.assignee == idle
    assert off_duty.assigned_tickets.count() == 0
    (event,) = events(ticket, "assigned")
    assert event.actor is None
    assert event.changes == {"assignee": [None, idle.username]}
    assert event.reason_text


def test_between_two_counts_of_the_loads_agents_still_take_turns(db, settings):
    """Big-promo path: loads counted once per window (shared cache), each assignment since added on top."""
    from django.core.cache import cache

    settings.ASSIGNMENT_LOAD_SECONDS = 3600
    cache.clear()
    first, second = make_user("agent"), make_user("agent")
    give_load(first, 1)
    give_load(second, 2)

    assignees = [intake().assignee for _ in range(4)]

    # counted 1 and 2; then +1 each time: first (1→2), first wins the 2–2 tie (→3), second (2→3), first
    assert assignees == [first, first, second, first]
    give_load(second, 5)  # assigned by hand meanwhile: seen at the next count, not before
    assert intake().assignee == second
    cache.clear()  # the next window's count
    assert intake().assignee == first
    cache.clear()


def test_a_batch_of_new_tickets_adds_its_picks_to_the_shared_counts_once_per_agent(db, settings, monkeypatch):
    """The intake worker's batch: agents take turns within it, and the shared counts other processes read get one
    increment per agent for the whole batch, not one per ticket."""
    from django.core.cache import cache

    from tickets import assignment

    settings.ASSIGNMENT_LOAD_SECONDS = 3600
    cache.clear()
    first, second = make_user("agent"), make_user("agent")
    increments = []
    real_incr = cache.incr
    monkeypatch.setattr(assignment.cache, "incr",
                        lambda key, delta=1: increments.append((key.rsplit(":", 1)[1], delta)) or real_incr(key, delta))
    tickets = [services.ticket_build(channel="chat", description="快递三天没动了", customer=CustomerFactory(),
                                     order=None) for _ in range(6)]
    Ticket.objects.bulk_create(tickets)

    services.tickets_start(tickets, actor=None)

    assert [ticket.assignee for ticket in tickets] == [first, second] * 3
    assert sorted(increments) == sorted([(str(first.pk), 3), (str(second.pk), 3)])
    # What another process's next pick sees (loads counted before the batch was assigned, its picks on top).
    assert assignment.open_ticket_loads([first.pk, second.pk]) == {first.pk: 3, second.pk: 3}
    cache.clear()


def test_a_high_risk_ticket_goes_only_to_a_senior_agent(db):
    make_user("agent")  # idle, but not senior
    make_user("senior_agent", on_duty=False)  # idle senior, off duty
    senior = make_user("senior_agent")
    give_load(senior, 2)

    ticket = intake(threatens_exposure=True)

    assert ticket.risk_level == RiskLevel.HIGH
    assert ticket.assignee == senior


def test_a_high_risk_ticket_stays_unassigned_without_a_senior_on_duty(db):
    make_user("agent")
    make_user("senior_agent", on_duty=False)

    ticket = intake(threatens_exposure=True)

    assert ticket.assignee is None
    assert not events(ticket, "assigned")


def test_no_agent_on_duty_leaves_the_ticket_unassigned(db):
    make_user("agent", on_duty=False)
    make_user("senior_agent", on_duty=False)
    make_user("supervisor")

    ticket = intake()

    assert ticket.assignee is None
    assert not events(ticket, "assigned")


def test_auto_assignment_can_be_switched_off(settings, agent):
    settings.AUTO_ASSIGN_NEW_TICKETS = False

    ticket = intake(agent)

    assert ticket.assignee is None
    assert [e.action for e in TicketEvent.objects.filter(ticket=ticket)] == ["created", "sla_started"]


# Manual (re)assignment -------------------------------------------------------------------------


@pytest.fixture
def unassigned(settings, supervisor):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    return intake(supervisor)


def test_supervisor_reassigns_with_from_to_and_reason_on_the_timeline(supervisor, agent, senior, unassigned):
    ticket_assign(ticket=unassigned, actor=supervisor, assignee=agent)

    ticket = ticket_assign(ticket=unassigned, actor=supervisor, assignee=senior, reason="客户要求资深客服处理")

    assert ticket.assignee == senior
    (event,) = events(ticket, "reassigned")
    assert event.actor == supervisor
    assert event.changes == {"assignee": [agent.username, senior.username]}
    assert event.reason == "客户要求资深客服处理"


def test_assigning_the_same_person_again_records_nothing(supervisor, agent, unassigned):
    ticket_assign(ticket=unassigned, actor=supervisor, assignee=agent)
    before = snapshot(unassigned)

    ticket_assign(ticket=unassigned, actor=supervisor, assignee=agent, reason="再次分配")

    assert snapshot(unassigned) == before


def test_supervisor_can_put_a_ticket_back_in_the_queue(supervisor, agent, unassigned):
    ticket_assign(ticket=unassigned, actor=supervisor, assignee=agent)

    ticket = ticket_assign(ticket=unassigned, actor=supervisor, assignee=None, reason="休假")

    assert ticket.assignee is None
    assert events(ticket, "reassigned")[-1].changes == {"assignee": [agent.username, None]}


def test_a_high_risk_ticket_cannot_go_to_a_plain_agent(settings, supervisor, agent, senior):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    ticket = intake(supervisor, threatens_exposure=True)
    before = snapshot(ticket)

    with pytest.raises(ValidationError) as refused:
        ticket_assign(ticket=ticket, actor=supervisor, assignee=agent, reason="试试")

    assert "assignee" in refused.value.message_dict
    assert snapshot(ticket) == before
    assert ticket_assign(ticket=ticket, actor=supervisor, assignee=senior).assignee == senior


@pytest.mark.parametrize("role", ["department_staff", "admin", None])
def test_only_people_who_work_tickets_can_be_assignee(supervisor, unassigned, role):
    department = "warehouse" if role == "department_staff" else None
    outsider = make_user(role, department=department) if role else make_user("", department=None)
    before = snapshot(unassigned)

    with pytest.raises(ValidationError) as refused:
        ticket_assign(ticket=unassigned, actor=supervisor, assignee=outsider)

    assert "assignee" in refused.value.message_dict
    assert snapshot(unassigned) == before


def test_api_refuses_department_staff_as_assignee_with_400(supervisor, warehouse_staff, unassigned):
    client = APIClient()
    client.force_authenticate(supervisor)
    before = snapshot(unassigned)

    response = client.post(
        f"/api/v1/tickets/{unassigned.pk}/assign/", {"assignee": warehouse_staff.pk, "reason": "x"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "assignee" in response.json()["errors"]
    assert snapshot(unassigned) == before


# Take from the queue ---------------------------------------------------------------------------


def test_agent_takes_an_unassigned_ticket(agent, unassigned):
    ticket = ticket_take(ticket=unassigned, actor=agent)

    assert ticket.assignee == agent
    (event,) = events(ticket, "taken")
    assert (event.actor, event.changes) == (agent, {"assignee": [None, agent.username]})


def test_taking_an_already_taken_ticket_is_refused(agent, senior, unassigned):
    ticket_take(ticket=unassigned, actor=agent)
    before = snapshot(unassigned)

    with pytest.raises(TransitionRefused):
        ticket_take(ticket=unassigned, actor=senior)

    assert snapshot(unassigned) == before


def test_api_take_of_a_taken_ticket_answers_409_and_changes_nothing(agent, senior, unassigned):
    ticket_take(ticket=unassigned, actor=agent)
    client = APIClient()
    client.force_authenticate(senior)
    before = snapshot(unassigned)

    response = client.post(f"/api/v1/tickets/{unassigned.pk}/take/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "transition_refused"
    assert snapshot(unassigned) == before


# Selectors: the right rows, in a constant number of queries ------------------------------------


@pytest.fixture
def warehouse(db):
    return Department.objects.get(code="warehouse")


@pytest.fixture
def finance(db):
    return Department.objects.get(code="finance")


def test_tickets_assigned_to_lists_my_open_tickets_newest_first(agent, senior):
    mine = [TicketFactory(assignee=agent, status=status) for status in (Status.NEW, Status.WAITING_DEPARTMENT)]
    TicketFactory(assignee=agent, status=Status.RESOLVED)
    TicketFactory(assignee=senior, status=Status.IN_PROGRESS)
    TicketFactory(assignee=None)

    assert list(tickets_assigned_to(agent)) == mine[::-1]


def test_tickets_unassigned_lists_the_open_queue_oldest_first(agent):
    queue = [TicketFactory(status=status) for status in (Status.NEW, Status.TRIAGED, Status.WAITING_CUSTOMER)]
    TicketFactory(status=Status.CLOSED)
    TicketFactory(assignee=agent)

    assert list(tickets_unassigned()) == queue


def _subtask(ticket, department, *, status=Subtask.Status.OPEN, due_at=None, assignee=None) -> Subtask:
    return Subtask.objects.create(
        ticket=ticket, department=department, kind=Subtask.Kind.OTHER, description="x", status=status,
        due_at=due_at, assignee=assignee,
    )


def test_subtasks_of_department_lists_active_ones_earliest_due_first(warehouse, finance):
    ticket, now = TicketFactory(), timezone.now()
    undated = _subtask(ticket, warehouse)
    later = _subtask(ticket, warehouse, due_at=now + timedelta(days=2), status=Subtask.Status.IN_PROGRESS)
    sooner = _subtask(ticket, warehouse, due_at=now + timedelta(hours=1))
    _subtask(ticket, warehouse, status=Subtask.Status.DONE)
    _subtask(ticket, finance)

    assert list(subtasks_of_department(warehouse.pk)) == [sooner, later, undated]


def test_subtasks_overdue_lists_active_ones_past_due(warehouse, finance):
    ticket, now = TicketFactory(), timezone.now()
    late_wh = _subtask(ticket, warehouse, due_at=now - timedelta(hours=1))
    later_fin = _subtask(ticket, finance, due_at=now - timedelta(days=1), status=Subtask.Status.IN_PROGRESS)
    _subtask(ticket, warehouse, due_at=now + timedelta(hours=1))  # not due yet
    _subtask(ticket, warehouse, due_at=now - timedelta(hours=2), status=Subtask.Status.DONE)  # finished
    _subtask(ticket, warehouse)  # no due date

    assert list(subtasks_overdue(now=now)) == [later_fin, late_wh]
    assert list(subtasks_overdue(now=now, department_id=warehouse.pk)) == [late_wh]


def _touch_tickets(rows) -> None:
    for ticket in rows:
        _ = (ticket.number, ticket.customer.name, ticket.order, ticket.assignee and ticket.assignee.username)


def _touch_subtasks(rows) -> None:
    for subtask in rows:
        _ = (subtask.ticket.number, subtask.department.code, subtask.assignee and subtask.assignee.username)


@pytest.mark.parametrize("rows", [1, 8])
def test_selectors_use_one_query_whatever_the_number_of_rows(
    django_assert_num_queries, agent, warehouse_staff, warehouse, rows
):
    past = timezone.now() - timedelta(hours=1)
    for _ in range(rows):
        TicketFactory(assignee=agent, status=Status.IN_PROGRESS)
        ticket = TicketFactory(status=Status.NEW)
        _subtask(ticket, warehouse, due_at=past, assignee=warehouse_staff)
        _subtask(ticket, warehouse, due_at=past)

    reads = [
        (lambda: tickets_assigned_to(agent), _touch_tickets, rows),
        (tickets_unassigned, _touch_tickets, rows),
        (lambda: subtasks_of_department(warehouse.pk), _touch_subtasks, 2 * rows),
        (lambda: subtasks_overdue(department_id=warehouse.pk), _touch_subtasks, 2 * rows),
    ]
    for select, touch, expected in reads:
        with django_assert_num_queries(1):
            found = list(select())
            touch(found)
        assert len(found) == expected
