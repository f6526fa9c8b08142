"""The ticket state machine (tickets/workflow.py): allowed moves, refused moves, guards, timeline, atomicity."""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Department, Message, Status, Subtask, Ticket, TicketEvent
from tickets.subtasks import subtask_complete, subtask_create
from tickets.workflow import (
    ACTION_LABELS,
    MANUAL_ACTIONS,
    TRANSITIONS,
    Action,
    TicketReadOnly,
    TransitionRefused,
    ticket_transition,
)

ALLOWED = sorted(
    (action, source) for action, t in TRANSITIONS.items() if t.manual for source in t.sources
)
# Derived from the table, not hand-listed: every status x manual action the table does not allow.
FORBIDDEN = sorted(
    (action, status)
    for action in MANUAL_ACTIONS
    for status in Status.values
    if status not in TRANSITIONS[action].sources
)
REASONS = {Action.REOPEN: "客户回访仍不满意"}


def new_ticket(actor, **fields) -> Ticket:
    defaults = {
        "channel": "chat",
        "description": "收到的电饭煲不加热",
        "customer": CustomerFactory(),
        "type": "return_refund",
        "category": "product_quality",
    }
    return services.ticket_create(actor=actor, **{**defaults, **fields})


def move(ticket: Ticket, actor, *actions: str) -> Ticket:
    for action in actions:
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor, reason=REASONS.get(action, ""))
    return ticket


def hand_to_warehouse(ticket: Ticket, actor) -> Subtask:
    return subtask_create(
        ticket=ticket,
        actor=actor,
        department=Department.objects.get(code="warehouse"),
        kind=Subtask.Kind.INSPECT_RETURN,
        description="检查退回的电饭煲",
    )


def ticket_in(status: str, actor) -> Ticket:
    """A ticket brought to `status` through the workflow itself (never by writing the field)."""
    ticket = new_ticket(actor)
    paths = {
        Status.NEW: [],
        Status.TRIAGED: [Action.TRIAGE],
        Status.IN_PROGRESS: [Action.TRIAGE, Action.START],
        Status.WAITING_CUSTOMER: [Action.TRIAGE, Action.START, Action.WAIT_CUSTOMER],
        Status.WAITING_DEPARTMENT: [Action.TRIAGE, Action.START],
        Status.RESOLVED: [Action.TRIAGE, Action.START, Action.RESOLVE],
        Status.CLOSED: [Action.TRIAGE, Action.START, Action.RESOLVE, Action.CLOSE],
        Status.ARCHIVED: [Action.TRIAGE, Action.START, Action.RESOLVE, Action.CLOSE],
    }
    ticket = move(ticket, actor, *paths[status])
    if status == Status.WAITING_DEPARTMENT:
        hand_to_warehouse(ticket, actor)
    if status == Status.ARCHIVED:
        services.ticket_set_summary(
            ticket=ticket, actor=actor, root_cause="批次质量问题；退款并召回", summary="批次质量问题；退款并召回",
            what_worked="批次质量问题；退款并召回",
        )
        ticket = move(ticket, actor, Action.ARCHIVE)
    ticket.refresh_from_db()
    assert ticket.status == status
    return ticket


def test_the_table_covers_every_status_and_the_forbidden_set_is_not_empty():
    assert len(ALLOWED) == 9
    assert len(ALLOWED) + len(FORBIDDEN) == len(MANUAL_ACTIONS) * len(Status.values)


@pytest.mark.parametrize(
    ("action", "source", "target"),
    [
        (Action.TRIAGE, Status.NEW, Status.TRIAGED),
        (Action.START, Status.TRIAGED, Status.IN_PROGRESS),
        (Action.WAIT_CUSTOMER, Status.IN_PROGRESS, Status.WAITING_CUSTOMER),
        (Action.RESUME, Status.WAITING_CUSTOMER, Status.IN_PROGRESS),
        (Action.RESOLVE, Status.IN_PROGRESS, Status.RESOLVED),
        (Action.CLOSE, Status.RESOLVED, Status.CLOSED),
        (Action.ARCHIVE, Status.CLOSED, Status.ARCHIVED),
        (Action.REOPEN, Status.RESOLVED, Status.IN_PROGRESS),
        (Action.REOPEN, Status.CLOSED, Status.IN_PROGRESS),
    ],
)
def test_allowed_transition_moves_the_ticket_and_writes_one_event(agent, action, source, target):
    # Given a ticket in the source state (and, for archive, a summary written)
    ticket = ticket_in(source, agent)
    if action == Action.ARCHIVE:
        ticket = services.ticket_set_summary(
            ticket=ticket, actor=agent, root_cause="物流破损；补寄解决", summary="物流破损；补寄解决",
            what_worked="物流破损；补寄解决",
        )
    status_events = ticket.events.exclude(to_status="")
    events_before = status_events.count()

    # When the action is taken
    moved = ticket_transition(ticket=ticket, action=action, actor=agent, reason=REASONS.get(action, "好的"))

    # Then the ticket is in the target state, in the database too, with exactly one new status event
    # (SLA clock events — paused, resumed, recomputed — may follow it)
    assert moved.status == target
    assert Ticket.objects.get(pk=ticket.pk).status == target
    assert status_events.count() == events_before + 1
    event = status_events.latest("id")
    assert (event.action, event.from_status, event.to_status) == (action, source, target)
    assert event.actor == agent
    assert event.reason == REASONS.get(action, "好的")


def test_allowed_pairs_match_the_lifecycle_of_the_design():
    assert set(ALLOWED) == {
        (Action.TRIAGE, Status.NEW),
        (Action.START, Status.TRIAGED),
        (Action.WAIT_CUSTOMER, Status.IN_PROGRESS),
        (Action.RESUME, Status.WAITING_CUSTOMER),
        (Action.RESOLVE, Status.IN_PROGRESS),
        (Action.CLOSE, Status.RESOLVED),
        (Action.ARCHIVE, Status.CLOSED),
        (Action.REOPEN, Status.RESOLVED),
        (Action.REOPEN, Status.CLOSED),
    }


@pytest.mark.parametrize(("action", "status"), FORBIDDEN)
def test_forbidden_transition_is_refused_and_changes_nothing(agent, action, status):
    # Given a ticket in a state the action is not allowed from
    ticket = ticket_in(status, agent)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()

    # When the action is tried (with a reason, so only the state can refuse it)
    with pytest.raises(TransitionRefused) as refused:
        ticket_transition(ticket=ticket, action=action, actor=agent, reason="试试看")

    # Then nothing changed and the message names the current state and the action
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == status
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    assert refused.value.status == status
    assert refused.value.action == action
    # The message names the current state and the action in words people read (the codes are on the exception)
    assert str(Status(status).label) in str(refused.value)
    assert str(ACTION_LABELS[action]) in str(refused.value)


def test_unknown_action_is_refused(agent):
    ticket = ticket_in(Status.IN_PROGRESS, agent)

    with pytest.raises(TransitionRefused, match="unknown action"):
        ticket_transition(ticket=ticket, action="fly", actor=agent)

    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS


# Guards ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["type", "category"])
def test_triage_is_refused_until_the_ticket_is_classified(agent, missing):
    ticket = new_ticket(agent, **{missing: ""})

    with pytest.raises(TransitionRefused, match="classify") as refused:
        ticket_transition(ticket=ticket, action=Action.TRIAGE, actor=agent)

    assert missing in refused.value.reason
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_triage_is_allowed_once_classification_is_filled_in(agent):
    ticket = new_ticket(agent, type="", category="")
    services.ticket_classify(ticket=ticket, actor=agent, type="exchange", category="wrong_or_missing_item")

    assert ticket_transition(ticket=ticket, action=Action.TRIAGE, actor=agent).status == Status.TRIAGED


def test_archive_is_refused_without_a_summary(agent):
    ticket = ticket_in(Status.CLOSED, agent)

    with pytest.raises(TransitionRefused, match="summary"):
        ticket_transition(ticket=ticket, action=Action.ARCHIVE, actor=agent)

    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED


@pytest.mark.parametrize("source", [Status.RESOLVED, Status.CLOSED])
@pytest.mark.parametrize("reason", ["", "   "])
def test_reopen_is_refused_without_a_reason(agent, source, reason):
    ticket = ticket_in(source, agent)

    with pytest.raises(TransitionRefused, match="reason"):
        ticket_transition(ticket=ticket, action=Action.REOPEN, actor=agent, reason=reason)

    assert Ticket.objects.get(pk=ticket.pk).status == source


@pytest.mark.parametrize("action", [Action.WAIT_DEPARTMENT, Action.DEPARTMENT_DONE])
def test_people_cannot_move_a_ticket_through_department_states(agent, action):
    source = TRANSITIONS[action].sources
    ticket = ticket_in(next(iter(source)), agent)
    events_before = ticket.events.count()

    with pytest.raises(TransitionRefused, match="automatically"):
        ticket_transition(ticket=ticket, action=action, actor=agent)

    assert Ticket.objects.get(pk=ticket.pk).status in source
    assert ticket.events.count() == events_before


def test_starting_a_ticket_with_an_open_subtask_waits_on_the_department(agent):
    # Given a triaged ticket already handed to the warehouse
    ticket = ticket_in(Status.TRIAGED, agent)
    subtask = hand_to_warehouse(ticket, agent)

    # When the agent starts it, Then it waits on the department, and cannot be resolved
    ticket = move(ticket, agent, Action.START)
    assert ticket.status == Status.WAITING_DEPARTMENT
    with pytest.raises(TransitionRefused):
        ticket_transition(ticket=ticket, action=Action.RESOLVE, actor=agent)

    # And once the subtask is done, the agent has it back and resolving works
    subtask_complete(subtask=subtask, actor=agent, result="确认质量问题")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS
    assert ticket_transition(ticket=ticket, action=Action.RESOLVE, actor=agent).status == Status.RESOLVED


def test_resolve_guard_refuses_an_in_progress_ticket_with_an_open_subtask(agent):
    # Given (e.g. data from before the automatic waiting state) an in_progress ticket with an open subtask
    ticket = ticket_in(Status.TRIAGED, agent)
    hand_to_warehouse(ticket, agent)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.IN_PROGRESS)
    events_before = ticket.events.count()

    # When the agent resolves, Then the guard names the open subtask and nothing changes
    with pytest.raises(TransitionRefused, match="subtask"):
        ticket_transition(ticket=ticket, action=Action.RESOLVE, actor=agent)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS
    assert ticket.events.count() == events_before


def test_department_subtask_moves_the_ticket_to_waiting_department_and_back(agent, warehouse_staff):
    ticket = ticket_in(Status.IN_PROGRESS, agent)

    subtask = hand_to_warehouse(ticket, agent)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_DEPARTMENT

    subtask_complete(subtask=subtask, actor=warehouse_staff, result="已验货")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS
    assert list(ticket.events.filter(from_status__gt="").values_list("action", flat=True))[-2:] == [
        Action.WAIT_DEPARTMENT,
        Action.DEPARTMENT_DONE,
    ]


# Read-only archive -----------------------------------------------------------------------------

def test_archived_ticket_refuses_classification(agent):
    ticket = ticket_in(Status.ARCHIVED, agent)

    with pytest.raises(TicketReadOnly):
        services.ticket_classify(ticket=ticket, actor=agent, type="complaint")

    assert Ticket.objects.get(pk=ticket.pk).type == "return_refund"


def test_archived_ticket_refuses_messages(agent):
    ticket = ticket_in(Status.ARCHIVED, agent)

    with pytest.raises(TicketReadOnly):
        services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="您好")

    assert not ticket.messages.exists()


def test_archived_ticket_refuses_attachments(agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = ticket_in(Status.ARCHIVED, agent)
    photo = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "image/jpeg")

    with pytest.raises(TicketReadOnly):
        services.attachment_add(ticket=ticket, actor=agent, upload=photo)

    assert not ticket.attachments.exists()


def test_archived_ticket_refuses_every_transition(agent):
    ticket = ticket_in(Status.ARCHIVED, agent)

    for action in MANUAL_ACTIONS:
        with pytest.raises(TicketReadOnly):
            ticket_transition(ticket=ticket, action=action, actor=agent, reason="再看看")

    assert Ticket.objects.get(pk=ticket.pk).status == Status.ARCHIVED


# Lifecycle timestamps ----------------------------------------------------------------------------

def test_resolve_close_and_archive_stamp_their_times(agent):
    ticket = ticket_in(Status.IN_PROGRESS, agent)
    assert (ticket.resolved_at, ticket.closed_at, ticket.archived_at) == (None, None, None)

    with time_machine.travel("2025-06-18 10:00 +08:00", tick=False):
        ticket = move(ticket, agent, Action.RESOLVE)
    with time_machine.travel("2025-06-20 10:00 +08:00", tick=False):
        ticket = move(ticket, agent, Action.CLOSE)
    services.ticket_set_summary(
            ticket=ticket, actor=agent, root_cause="已退款", summary="已退款",
            what_worked="已退款",
        )
    with time_machine.travel("2025-06-21 10:00 +08:00", tick=False):
        ticket = move(ticket, agent, Action.ARCHIVE)

    ticket.refresh_from_db()
    assert ticket.resolved_at.isoformat() == "2025-06-18T02:00:00+00:00"
    assert ticket.closed_at.isoformat() == "2025-06-20T02:00:00+00:00"
    assert ticket.archived_at.isoformat() == "2025-06-21T02:00:00+00:00"
    assert ticket.status_changed_at == ticket.archived_at


@pytest.mark.parametrize("source", [Status.RESOLVED, Status.CLOSED])
def test_reopen_clears_resolved_and_closed_times(agent, source):
    ticket = ticket_in(source, agent)
    assert ticket.resolved_at is not None

    move(ticket, agent, Action.REOPEN)

    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)


# Atomicity -------------------------------------------------------------------------------------

def test_status_change_is_rolled_back_when_its_event_cannot_be_written(agent, monkeypatch):
    # Given a ticket in progress, and a timeline that fails right after the status row was saved
    ticket = ticket_in(Status.IN_PROGRESS, agent)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    seen_in_transaction = []

    def failing_record(**kwargs):
        seen_in_transaction.append(Ticket.objects.get(pk=ticket.pk).status)
        raise IntegrityError("timeline write failed")

    monkeypatch.setattr("tickets.workflow.event_record", failing_record)

    # When the agent resolves it
    with pytest.raises(IntegrityError):
        ticket_transition(ticket=ticket, action=Action.RESOLVE, actor=agent)
    monkeypatch.undo()

    # Then the status had been saved inside the transaction, and neither it nor an event survived
    assert seen_in_transaction == [Status.RESOLVED]
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.IN_PROGRESS
    assert fresh.resolved_at is None
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


# Messages drive the clock ----------------------------------------------------------------------

def test_customer_writing_resumes_a_ticket_waiting_for_them(agent):
    ticket = ticket_in(Status.WAITING_CUSTOMER, agent)

    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="照片发您了")

    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS
    event = ticket.events.exclude(to_status="").latest("id")
    assert (event.action, event.from_status, event.to_status) == (
        Action.RESUME, Status.WAITING_CUSTOMER, Status.IN_PROGRESS
    )


@pytest.mark.parametrize("direction", [Message.Direction.OUTBOUND, Message.Direction.NOTE])
def test_our_own_messages_do_not_resume_a_ticket_waiting_for_the_customer(agent, direction):
    ticket = ticket_in(Status.WAITING_CUSTOMER, agent)

    services.message_add(ticket=ticket, actor=agent, direction=direction, body="请提供照片")

    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_CUSTOMER


def test_first_outbound_message_sets_first_response_once(agent):
    ticket = new_ticket(agent)
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="在吗")
    services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.NOTE, body="内部备注")
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None

    with time_machine.travel("2025-06-18 09:00 +08:00", tick=False):
        first = services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="您好")
    with time_machine.travel("2025-06-18 11:00 +08:00", tick=False):
        services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="已处理")

    assert Ticket.objects.get(pk=ticket.pk).first_response_at == first.created_at
    assert ticket.events.filter(action="first_response").count() == 1
