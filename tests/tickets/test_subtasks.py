"""Department subtasks (tickets/subtasks.py): the relay from agent to departments and back.

A ticket waits on departments while any subtask is open (waiting_department), goes back to the
agent when the last one closes (done, rejected or cancelled), and cannot be resolved before.
Every change writes a TicketEvent on the parent ticket.
"""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.models import Department, Message, Status, Subtask, Ticket, TicketEvent
from tickets.subtasks import (
    SubtaskRefused,
    subtask_cancel,
    subtask_complete,
    subtask_create,
    subtask_reject,
    subtask_start,
)
from tickets.workflow import TransitionRefused, ticket_transition


def new_ticket(actor, *actions: str) -> Ticket:
    ticket = services.ticket_create(
        actor=actor,
        channel="chat",
        description="退回的电饭煲不加热",
        customer=CustomerFactory(),
        type="return_refund",
        category="product_quality",
    )
    for action in actions:
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor)
    return ticket


def hand_over(ticket: Ticket, actor, department: str = "warehouse", **kwargs) -> Subtask:
    return subtask_create(
        ticket=ticket,
        actor=actor,
        department=Department.objects.get(code=department),
        kind=kwargs.pop("kind", Subtask.Kind.INSPECT_RETURN),
        description=kwargs.pop("description", "检查退回的商品"),
        **kwargs,
    )


def status_of(ticket: Ticket) -> str:
    return Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)


def events_of(ticket: Ticket) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("id"))


def last_event(ticket: Ticket) -> TicketEvent:
    """The newest event that is not SLA clock bookkeeping (those follow status changes)."""
    return TicketEvent.objects.filter(ticket=ticket).exclude(action__startswith="sla_").order_by("-id").first()


@pytest.fixture
def in_progress(agent):
    return new_ticket(agent, "triage", "start")


# Opening subtasks --------------------------------------------------------------------------------


def test_first_subtask_moves_an_in_progress_ticket_to_waiting_department(agent, in_progress):
    before = len(events_of(in_progress))

    subtask = hand_over(in_progress, agent)

    assert subtask.status == Subtask.Status.OPEN and subtask.created_by == agent
    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    created, waiting = events_of(in_progress)[before:]
    assert created.action == "subtask_created"
    assert created.changes == {
        "subtask": [None, subtask.pk],
        "department": [None, "warehouse"],
        "kind": [None, "inspect_return"],
    }
    assert (waiting.action, waiting.from_status, waiting.to_status) == (
        "wait_department",
        Status.IN_PROGRESS,
        Status.WAITING_DEPARTMENT,
    )
    assert waiting.actor == agent


def test_second_subtask_keeps_the_ticket_waiting_without_another_status_event(agent, in_progress):
    hand_over(in_progress, agent, "warehouse")
    before = len(events_of(in_progress))

    hand_over(in_progress, agent, "finance", kind=Subtask.Kind.REFUND_PAYMENT, description="退款")

    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    assert [e.action for e in events_of(in_progress)[before:]] == ["subtask_created"]


def test_completing_one_of_two_subtasks_keeps_the_ticket_waiting(agent, warehouse_staff, in_progress):
    warehouse = hand_over(in_progress, agent, "warehouse")
    hand_over(in_progress, agent, "finance", kind=Subtask.Kind.REFUND_PAYMENT, description="退款")
    before = len(events_of(in_progress))

    subtask_complete(subtask=warehouse, actor=warehouse_staff, result="外观完好，可二次销售")

    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    (event,) = events_of(in_progress)[before:]
    assert event.action == "subtask_complete"
    assert event.changes["status"] == [Subtask.Status.OPEN, Subtask.Status.DONE]
    assert event.reason == "外观完好，可二次销售"


def test_completing_the_last_subtask_returns_the_ticket_to_in_progress(
    agent, warehouse_staff, finance_staff, in_progress
):
    warehouse = hand_over(in_progress, agent, "warehouse")
    finance = hand_over(in_progress, agent, "finance", kind=Subtask.Kind.REFUND_PAYMENT, description="退款")
    subtask_complete(subtask=warehouse, actor=warehouse_staff, result="验货通过")
    before = len(events_of(in_progress))

    subtask_complete(subtask=finance, actor=finance_staff, result="已退款 199 元")

    assert status_of(in_progress) == Status.IN_PROGRESS
    completed, done = events_of(in_progress)[before:]
    assert completed.action == "subtask_complete"
    assert (done.action, done.from_status, done.to_status, done.actor) == (
        "department_done",
        Status.WAITING_DEPARTMENT,
        Status.IN_PROGRESS,
        finance_staff,
    )
    finance.refresh_from_db()
    assert finance.status == Subtask.Status.DONE and finance.finished_at is not None


def test_start_marks_the_subtask_in_progress_and_takes_it_for_the_actor(agent, warehouse_staff, in_progress):
    subtask = hand_over(in_progress, agent)

    subtask_start(subtask=subtask, actor=warehouse_staff)

    subtask.refresh_from_db()
    assert subtask.status == Subtask.Status.IN_PROGRESS
    assert subtask.assignee == warehouse_staff and subtask.started_at is not None
    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    event = last_event(in_progress)
    assert event.action == "subtask_start"
    assert event.changes == {
        "subtask": [subtask.pk, subtask.pk],
        "status": [Subtask.Status.OPEN, Subtask.Status.IN_PROGRESS],
        "department": ["warehouse", "warehouse"],
    }


# Reject and cancel: closing with a reason --------------------------------------------------------

CLOSERS = {
    "reject": (subtask_reject, Subtask.Status.REJECTED),
    "cancel": (subtask_cancel, Subtask.Status.CANCELLED),
}


@pytest.mark.parametrize("move", CLOSERS)
@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_and_cancel_require_a_reason_and_change_nothing_without(
    agent, warehouse_staff, in_progress, move, reason
):
    subtask = hand_over(in_progress, agent)
    before = len(events_of(in_progress))
    service, _target = CLOSERS[move]

    with pytest.raises(ValidationError) as refused:
        service(subtask=subtask, actor=warehouse_staff, reason=reason)

    assert "reason" in refused.value.message_dict
    subtask.refresh_from_db()
    assert subtask.status == Subtask.Status.OPEN and subtask.result == "" and subtask.finished_at is None
    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    assert len(events_of(in_progress)) == before


@pytest.mark.parametrize("move", CLOSERS)
def test_reject_and_cancel_give_the_case_back_with_the_reason(agent, warehouse_staff, in_progress, move):
    subtask = hand_over(in_progress, agent)
    before = len(events_of(in_progress))
    service, target = CLOSERS[move]

    service(subtask=subtask, actor=warehouse_staff, reason="退回商品有人为损坏")

    subtask.refresh_from_db()
    assert (subtask.status, subtask.result) == (target, "退回商品有人为损坏")
    assert status_of(in_progress) == Status.IN_PROGRESS  # the last open subtask closed
    closed, done = events_of(in_progress)[before:]
    assert (closed.action, closed.reason) == (f"subtask_{move}", "退回商品有人为损坏")
    assert closed.changes["status"] == [Subtask.Status.OPEN, target]
    assert done.action == "department_done"


@pytest.mark.parametrize("move", CLOSERS)
def test_reject_or_cancel_of_one_of_two_keeps_the_ticket_waiting(agent, warehouse_staff, in_progress, move):
    subtask = hand_over(in_progress, agent, "warehouse")
    hand_over(in_progress, agent, "finance", kind=Subtask.Kind.REFUND_PAYMENT, description="退款")
    service, _target = CLOSERS[move]

    service(subtask=subtask, actor=warehouse_staff, reason="不需要了")

    assert status_of(in_progress) == Status.WAITING_DEPARTMENT
    assert not TicketEvent.objects.filter(ticket=in_progress, action="department_done").exists()


# Resolve is guarded ------------------------------------------------------------------------------


def test_customer_reply_with_a_subtask_open_resumes_into_waiting_department_and_resolve_is_refused(
    agent, in_progress
):
    # Given a subtask handed over while waiting for the customer (the ticket stays waiting_customer),
    ticket = ticket_transition(ticket=in_progress, action="wait_customer", actor=agent)
    hand_over(ticket, agent)
    assert status_of(ticket) == Status.WAITING_CUSTOMER
    # when the customer writes back, the ticket resumes, but the department still has the case;
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="我已经寄回了")
    assert status_of(ticket) == Status.WAITING_DEPARTMENT
    resume = last_event(ticket)
    assert (resume.action, resume.from_status, resume.to_status) == (
        "resume",
        Status.WAITING_CUSTOMER,
        Status.WAITING_DEPARTMENT,
    )
    before = len(events_of(ticket))

    # then resolving is refused and changes nothing.
    with pytest.raises(TransitionRefused):
        ticket_transition(ticket=ticket, action="resolve", actor=agent)

    assert status_of(ticket) == Status.WAITING_DEPARTMENT
    assert len(events_of(ticket)) == before


def test_resolve_is_refused_while_a_subtask_is_open_even_when_in_progress(agent, in_progress):
    # Given an in_progress ticket with an open subtask (data from before resume learnt to wait on
    # departments; the services no longer produce this state),
    hand_over(in_progress, agent)
    Ticket.objects.filter(pk=in_progress.pk).update(status=Status.IN_PROGRESS)
    before = len(events_of(in_progress))

    # when the agent resolves, then the subtask guard refuses and nothing changes.
    with pytest.raises(TransitionRefused) as refused:
        ticket_transition(ticket=in_progress, action="resolve", actor=agent)

    assert refused.value.reason.startswith("1 department subtask")
    assert status_of(in_progress) == Status.IN_PROGRESS
    assert len(events_of(in_progress)) == before
    assert Ticket.objects.get(pk=in_progress.pk).resolved_at is None


def test_resolve_is_allowed_once_the_subtask_is_done(agent, warehouse_staff, in_progress):
    subtask = hand_over(in_progress, agent)
    subtask_complete(subtask=subtask, actor=warehouse_staff, result="验货通过")

    ticket = ticket_transition(ticket=in_progress, action="resolve", actor=agent)

    assert ticket.status == Status.RESOLVED


# Moves that skip a step --------------------------------------------------------------------------


def _bring_to(subtask: Subtask, status: str, actor) -> None:
    if status == Subtask.Status.IN_PROGRESS:
        subtask_start(subtask=subtask, actor=actor)
    elif status == Subtask.Status.DONE:
        subtask_complete(subtask=subtask, actor=actor, result="完成")
    elif status == Subtask.Status.REJECTED:
        subtask_reject(subtask=subtask, actor=actor, reason="拒绝")
    elif status == Subtask.Status.CANCELLED:
        subtask_cancel(subtask=subtask, actor=actor, reason="取消")


MOVES = {
    "start": lambda s, a: subtask_start(subtask=s, actor=a),
    "complete": lambda s, a: subtask_complete(subtask=s, actor=a, result="再次完成"),
    "reject": lambda s, a: subtask_reject(subtask=s, actor=a, reason="再次拒绝"),
    "cancel": lambda s, a: subtask_cancel(subtask=s, actor=a, reason="再次取消"),
}


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (Subtask.Status.DONE, "complete"),
        (Subtask.Status.CANCELLED, "start"),
        (Subtask.Status.IN_PROGRESS, "start"),
        (Subtask.Status.DONE, "start"),
        (Subtask.Status.DONE, "reject"),
        (Subtask.Status.REJECTED, "complete"),
        (Subtask.Status.CANCELLED, "cancel"),
    ],
)
def test_a_move_that_skips_a_step_is_refused_and_changes_nothing(agent, warehouse_staff, in_progress, status, move):
    subtask = hand_over(in_progress, agent)
    _bring_to(subtask, status, warehouse_staff)
    subtask.refresh_from_db()
    row_before = Subtask.objects.filter(pk=subtask.pk).values().get()
    ticket_status, events_before = status_of(in_progress), len(events_of(in_progress))

    with pytest.raises(SubtaskRefused) as refused:
        MOVES[move](subtask, warehouse_staff)

    assert refused.value.status == status
    assert Subtask.objects.filter(pk=subtask.pk).values().get() == row_before
    assert status_of(in_progress) == ticket_status
    assert len(events_of(in_progress)) == events_before


# Where subtasks may be created -------------------------------------------------------------------


@pytest.mark.parametrize("actions", [(), ("triage", "start", "resolve")], ids=["new", "resolved"])
def test_no_subtask_before_triage_or_after_resolution(agent, actions):
    ticket = new_ticket(agent, *actions)
    before = len(events_of(ticket))

    with pytest.raises(TransitionRefused):
        hand_over(ticket, agent)

    assert not Subtask.objects.filter(ticket=ticket).exists()
    assert len(events_of(ticket)) == before


def test_subtask_on_a_triaged_ticket_is_allowed_and_keeps_its_status(agent):
    ticket = new_ticket(agent, "triage")

    hand_over(ticket, agent)

    assert status_of(ticket) == Status.TRIAGED
    assert last_event(ticket).action == "subtask_created"


def test_assignee_must_belong_to_the_department(agent, warehouse_staff, finance_staff, in_progress):
    with pytest.raises(ValidationError) as refused:
        hand_over(in_progress, agent, "warehouse", assignee=finance_staff)
    assert "assignee" in refused.value.message_dict
    assert not Subtask.objects.filter(ticket=in_progress).exists()

    subtask = hand_over(in_progress, agent, "warehouse", assignee=warehouse_staff)
    assert subtask.assignee == warehouse_staff


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("kind", {"kind": "teleport"}), ("description", {"description": "  "})],
)
def test_kind_and_description_are_checked(agent, in_progress, field, kwargs):
    with pytest.raises(ValidationError) as refused:
        hand_over(in_progress, agent, **kwargs)

    assert field in refused.value.message_dict
    assert status_of(in_progress) == Status.IN_PROGRESS
    assert not Subtask.objects.filter(ticket=in_progress).exists()


# Through the API ---------------------------------------------------------------------------------


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


def _post_subtask(api, ticket, **data):
    payload = {"department": "warehouse", "kind": "inspect_return", "description": "检查退回的商品", **data}
    return api.post(f"/api/v1/tickets/{ticket.pk}/subtasks/", payload, format="json")


def test_api_creates_a_subtask(api, in_progress):
    response = _post_subtask(api, in_progress)

    assert response.status_code == 201, response.content
    assert response.json()["department"] == "warehouse"
    assert status_of(in_progress) == Status.WAITING_DEPARTMENT


def test_api_refuses_an_unknown_department(api, in_progress):
    before = len(events_of(in_progress))

    response = _post_subtask(api, in_progress, department="marketing")

    assert response.status_code == 404, response.content  # a well-formed reference to nothing
    assert "department" in response.json()["errors"]
    assert not Subtask.objects.exists()
    assert len(events_of(in_progress)) == before and status_of(in_progress) == Status.IN_PROGRESS


def test_api_refuses_an_assignee_outside_the_department(api, finance_staff, in_progress):
    before = len(events_of(in_progress))

    response = _post_subtask(api, in_progress, assignee=finance_staff.pk)

    assert response.status_code == 400, response.content
    assert "assignee" in response.json()["errors"]
    assert not Subtask.objects.exists()
    assert len(events_of(in_progress)) == before and status_of(in_progress) == Status.IN_PROGRESS


@pytest.mark.parametrize("actions", [(), ("triage", "start", "resolve")], ids=["new", "resolved"])
def test_api_refuses_a_subtask_on_a_new_or_resolved_ticket_with_409(api, agent, actions):
    ticket = new_ticket(agent, *actions)
    before = len(events_of(ticket))

    response = _post_subtask(api, ticket)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "transition_refused"
    assert not Subtask.objects.exists()
    assert len(events_of(ticket)) == before


def test_api_refuses_completing_a_done_subtask_with_409(agent, in_progress):
    staff = make_user("department_staff", username="wh9", department="warehouse")
    subtask = hand_over(in_progress, agent)
    subtask_complete(subtask=subtask, actor=staff, result="验货通过")
    client = APIClient()
    client.force_authenticate(staff)
    before = len(events_of(in_progress))

    response = client.post(f"/api/v1/subtasks/{subtask.pk}/transitions/", {"action": "complete"}, format="json")

    assert response.status_code == 409, response.content
    assert len(events_of(in_progress)) == before
