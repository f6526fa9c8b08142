"""Department subtasks: the relay from agent to warehouse, logistics, finance, tech support.

Every change locks the parent ticket first, then the subtask: two departments finishing at
the same moment are serialised on the ticket row, so the last one to finish is the one that
sees no active subtask left and moves the ticket out of waiting_department (exactly once).
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.services import refund_mark_failed, refund_mark_paid

from .events import event_record
from .models import Department, Notification, Priority, Status, Subtask, Ticket
from .notes import note
from .sla.clock import ScheduleCache
from .workflow import Action, TransitionRefused, ensure_version, ticket_lock_for_write, ticket_transition

# action -> (allowed from, target)
SUBTASK_TRANSITIONS = {
    "start": ((Subtask.Status.OPEN,), Subtask.Status.IN_PROGRESS),
    "complete": (Subtask.ACTIVE_STATUSES, Subtask.Status.DONE),
    "reject": (Subtask.ACTIVE_STATUSES, Subtask.Status.REJECTED),
    "cancel": (Subtask.ACTIVE_STATUSES, Subtask.Status.CANCELLED),
}
# A ticket in these states may get new subtasks (not before triage, not after resolution).
_SUBTASK_TICKET_STATES = (Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_DEPARTMENT)


# The department hears "due soon" when this share of the time until the due time is used.
DUE_SOON_SHARE = 0.8


class SubtaskRefused(TransitionRefused):
    pass


def has_active_subtasks(ticket: Ticket) -> bool:
    return ticket.subtasks.filter(status__in=Subtask.ACTIVE_STATUSES).exists()


def _check_assignee(department: Department, assignee) -> None:
    if (
        assignee is not None
        and getattr(getattr(assignee, "staff_profile", None), "department_id", None) != department.pk
    ):
        raise ValidationError(
            {"assignee": _("%(user)s is not in %(department)s.") % {"user": assignee, "department": department}}
        )


# The department's target shrinks with the case's urgency: a P1 case's subtask is due in a quarter of it.
PRIORITY_SHARE = {Priority.P1: 0.25, Priority.P2: 0.5, Priority.P3: 1.0, Priority.P4: 1.0}


def subtask_default_due(*, ticket: Ticket, department: Department, now: datetime) -> datetime:
    """When a subtask the agent gave no due time is due: the department's own target (so a late hand-back
    is the department's), scaled by the ticket's priority, counted in the department's working hours."""
    seconds = department.subtask_target_hours * 3600 * PRIORITY_SHARE.get(ticket.priority, 1.0)
    if department.calendar_id is None:
        return now + timedelta(seconds=seconds)
    return ScheduleCache().get(department.calendar).add(now, seconds)


def subtask_create_refusal(ticket: Ticket) -> str | None:
    """Why no subtask may be handed over now (the page shows it instead of a form that would be refused)."""
    if ticket.status not in _SUBTASK_TICKET_STATES:
        return _("subtasks can be handed over once the ticket is triaged, until it is resolved")
    return None


@transaction.atomic
def subtask_create(
    *, ticket: Ticket, actor, department: Department, kind: str, description: str, due_at=None, assignee=None,
    upload=None,
) -> Subtask:
    """Hand work to a department; `upload` is a file for it (a photo, a label), checked like all evidence.
    The department also sees every file of the case on its subtask page."""
    from .services import attachment_add

    ticket = ticket_lock_for_write(ticket, action="create subtask")
    refusal = subtask_create_refusal(ticket)
    if refusal:
        raise TransitionRefused(status=ticket.status, action="create subtask", reason=refusal)
    if kind not in Subtask.Kind.values:
        raise ValidationError({"kind": _("Unknown subtask kind.")})
    if not description.strip():
        raise ValidationError({"description": _("Say what the department should do.")})
    _check_assignee(department, assignee)
    now = timezone.now()
    if due_at is None:
        due_at = subtask_default_due(ticket=ticket, department=department, now=now)
    if due_at <= now:
        raise ValidationError({"due_at": _("The due time must be in the future.")})
    subtask = Subtask.objects.create(
        ticket=ticket,
        department=department,
        kind=kind,
        description=description,
        due_at=due_at,
        due_soon_at=now + (due_at - now) * DUE_SOON_SHARE,
        assignee=assignee,
        created_by=actor,
    )
    event_record(
        ticket=ticket,
        actor=actor,
        action="subtask_created",
        changes={"subtask": [None, subtask.pk], "department": [None, department.code], "kind": [None, kind]},
    )
    if upload:
        attachment_add(ticket=ticket, actor=actor, upload=upload, subtask=subtask)
    if ticket.status == Status.IN_PROGRESS:
        ticket_transition(
            ticket=ticket,
            action=Action.WAIT_DEPARTMENT,
            actor=actor,
            manual=False,
            reason=note("Handed to %(department)s.", department=str(department)),
        )
    return subtask


@transaction.atomic
def _subtask_move(*, subtask: Subtask, actor, action: str, result: str = "", expected_version=None) -> Subtask:
    ticket = ticket_lock_for_write(subtask.ticket_id, action=f"{action} subtask")
    subtask = Subtask.objects.select_for_update(of=("self",)).select_related("department").get(pk=subtask.pk)
    ensure_version(subtask, expected_version)
    sources, target = SUBTASK_TRANSITIONS[action]
    if subtask.status not in sources:
        raise SubtaskRefused(
            status=subtask.status,
            action=f"{action} subtask",
            reason=_("only allowed from %(sources)s")
            % {"sources": ", ".join(str(Subtask.Status(s).label) for s in sources)},
        )
    if action in ("reject", "cancel") and not result.strip():
        raise ValidationError({"reason": _("Say why.")})
    from_status = subtask.status
    now = timezone.now()
    subtask.status = target
    fields = ["status", "updated_at"]
    if action == "start":
        subtask.started_at = now
        fields.append("started_at")
        if subtask.assignee_id is None:
            subtask.assignee = actor
            fields.append("assignee")
    else:
        subtask.finished_at = now
        subtask.result = result
        fields += ["finished_at", "result"]
    subtask.save(update_fields=fields)
    event_record(
        ticket=ticket,
        actor=actor,
        action=f"subtask_{action}",
        changes={
            "subtask": [subtask.pk, subtask.pk],
            "status": [from_status, target],
            "department": [subtask.department.code, subtask.department.code],
        },
        reason=result,
    )
    _after_move(ticket=ticket, subtask=subtask, actor=actor, action=action, result=result)
    return subtask


def _after_move(*, ticket: Ticket, subtask: Subtask, actor, action: str, result: str) -> None:
    """What a subtask's move means for its refund, the agent and the ticket (same transaction)."""
    if subtask.refund_id and action != "start":
        # Finance's answer is the refund's fate: done means paid, rejected or cancelled means not paid.
        if action == "complete":
            refund_mark_paid(refund=subtask.refund)
        else:
            refund_mark_failed(refund=subtask.refund, reason=result)
    if action == "reject" and ticket.assignee_id:
        # The case goes back to the agent with the department's reason.
        Notification.objects.get_or_create(
            recipient_id=ticket.assignee_id,
            dedupe_key=f"subtask_rejected:{subtask.pk}",
            defaults={
                "kind": Notification.Kind.SUBTASK_REJECTED,
                "ticket": ticket,
                "subtask": subtask,
                "data": {"department": subtask.department.code, "reason": result},
            },
        )
    if (
        subtask.status not in Subtask.ACTIVE_STATUSES
        and ticket.status == Status.WAITING_DEPARTMENT
        and not has_active_subtasks(ticket)
    ):
        # The last department is done (or gave the case back): the agent takes over again.
        ticket_transition(
            ticket=ticket,
            action=Action.DEPARTMENT_DONE,
            actor=actor,
            manual=False,
            reason=note("All department subtasks are finished."),
        )


def subtask_start(*, subtask: Subtask, actor) -> Subtask:
    return _subtask_move(subtask=subtask, actor=actor, action="start")


def subtask_complete(*, subtask: Subtask, actor, result: str = "") -> Subtask:
    return _subtask_move(subtask=subtask, actor=actor, action="complete", result=result)


def subtask_reject(*, subtask: Subtask, actor, reason: str) -> Subtask:
    """The department gives the case back (e.g. the item was damaged by the customer), with why."""
    return _subtask_move(subtask=subtask, actor=actor, action="reject", result=reason)


def subtask_cancel(*, subtask: Subtask, actor, reason: str) -> Subtask:
    return _subtask_move(subtask=subtask, actor=actor, action="cancel", result=reason)


@transaction.atomic
def subtask_act(
    *, subtask: Subtask, actor, action: str, result: str = "", upload=None, expected_version=None
) -> Subtask:
    """A department's answer (inbox or API): the move and its evidence together, or neither.
    `result` is what was found or done; for reject and cancel it is the reason."""
    from .services import attachment_add

    if action not in SUBTASK_TRANSITIONS:
        raise ValidationError({"action": _("Unknown action.")})
    subtask = _subtask_move(subtask=subtask, actor=actor, action=action, result=result,
                            expected_version=expected_version)
    if upload:
        attachment_add(ticket=subtask.ticket, actor=actor, upload=upload, subtask=subtask)
    return subtask
