"""The ticket state machine: the ONLY place a ticket's status changes.

The transition table below is the whole lifecycle of DESIGN.md. `ticket_transition` locks
the ticket row, re-checks the state under the lock, saves with `update_fields` and writes
the TicketEvent in the same transaction, so a status never changes without its timeline
entry and two people acting at once cannot both move the ticket from the same state.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.states import ActionRefused, StaleVersion

from .events import EventAction, event_record
from .followup.selectors import close_outcome_of
from .models import Status, Subtask, Ticket
from .sla.clock import sla_on_status_change


class Action:
    TRIAGE = "triage"
    START = "start"
    WAIT_CUSTOMER = "wait_customer"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    ARCHIVE = "archive"
    REOPEN = "reopen"
    # Entered and left automatically as department subtasks open and close; never by hand.
    WAIT_DEPARTMENT = "wait_department"
    DEPARTMENT_DONE = "department_done"


# The buttons' names are the timeline's names for the same moves.
ACTION_LABELS = {value: EventAction(value).label for name, value in vars(Action).items() if name.isupper()}


STATUS_LABELS = dict(Status.choices)


def _label(labels: dict, code: str) -> str:
    return str(labels.get(code, code))


class TransitionRefused(ActionRefused):
    """A transition that may not happen now; nothing was changed."""

    code = "transition_refused"

    def __init__(self, *, status: str, action: str, reason: str):
        super().__init__(
            _("Cannot %(action)s a ticket that is %(status)s: %(reason)s")
            % {"action": _label(ACTION_LABELS, action), "status": _label(STATUS_LABELS, status), "reason": reason},
            status=status, action=action, reason=reason,
        )


def ensure_version(obj, expected: int | None) -> None:
    """Refuse a write based on a stale copy (the caller holds the row lock)."""
    if expected is not None and obj.version != expected:
        raise StaleVersion(current=obj.version, expected=expected)


class TicketReadOnly(TransitionRefused):
    """Archived tickets are evidence: nothing about them changes any more."""

    code = "read_only"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    manual: bool = True
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(Action.TRIAGE, frozenset({Status.NEW}), Status.TRIAGED),
        Transition(Action.START, frozenset({Status.TRIAGED}), Status.IN_PROGRESS),
        Transition(Action.WAIT_CUSTOMER, frozenset({Status.IN_PROGRESS}), Status.WAITING_CUSTOMER),
        Transition(Action.RESUME, frozenset({Status.WAITING_CUSTOMER}), Status.IN_PROGRESS),
        Transition(Action.RESOLVE, frozenset({Status.IN_PROGRESS}), Status.RESOLVED),
        Transition(Action.CLOSE, frozenset({Status.RESOLVED}), Status.CLOSED),
        Transition(Action.ARCHIVE, frozenset({Status.CLOSED}), Status.ARCHIVED),
        # The customer is not satisfied (回访 found the problem remains): back to work, with why.
        Transition(Action.REOPEN, frozenset({Status.RESOLVED, Status.CLOSED}), Status.IN_PROGRESS, needs_reason=True),
        Transition(Action.WAIT_DEPARTMENT, frozenset({Status.IN_PROGRESS}), Status.WAITING_DEPARTMENT, manual=False),
        Transition(Action.DEPARTMENT_DONE, frozenset({Status.WAITING_DEPARTMENT}), Status.IN_PROGRESS, manual=False),
    )
}
MANUAL_ACTIONS = tuple(a for a, t in TRANSITIONS.items() if t.manual)


def _needs_classification(ticket: Ticket) -> str | None:
    missing = [
        str(label)
        for field, label in (("type", gettext_lazy("type")), ("category", gettext_lazy("category")))
        if not getattr(ticket, field)
    ]
    if missing:
        return _("classify the ticket first (missing: %(fields)s)") % {"fields": ", ".join(missing)}
    return None


def _needs_summary(ticket: Ticket) -> str | None:
    if not all(part.strip() for part in (ticket.root_cause, ticket.summary, ticket.what_worked)):
        return _("write the closing summary (root cause, what was done, what worked) first")
    return None


def _active_subtask_count(ticket: Ticket) -> int:
    if "subtasks" in getattr(ticket, "_prefetched_objects_cache", {}):  # the ticket page's: no query
        return sum(1 for subtask in ticket.subtasks.all() if subtask.status in Subtask.ACTIVE_STATUSES)
    return ticket.subtasks.filter(status__in=Subtask.ACTIVE_STATUSES).count()


def _no_active_subtasks(ticket: Ticket) -> str | None:
    # A case is not solved while a department still works on it (seed 000: the relay must finish).
    count = _active_subtask_count(ticket)
    if count:
        return _("%(count)d department subtask(s) still open") % {"count": count}
    return None


# Guards run under the row lock; each returns why the move is refused, or None.
GUARDS: dict[str, tuple[Callable[[Ticket], str | None], ...]] = {
    Action.TRIAGE: (_needs_classification,),
    Action.RESOLVE: (_no_active_subtasks,),
    Action.ARCHIVE: (_needs_summary,),
}

# Lifecycle timestamps each target sets; reopening clears the later ones (the events keep history).
_TIMESTAMP_ON_ENTRY = {Status.RESOLVED: "resolved_at", Status.CLOSED: "closed_at", Status.ARCHIVED: "archived_at"}


def ensure_writable(ticket: Ticket, action: str) -> None:
    if ticket.is_read_only:
        raise TicketReadOnly(
            status=ticket.status, action=action, reason=_("archived tickets are read-only")
        )


def ticket_lock_for_write(
    ticket: Ticket | int, *, action: str, expected_version: int | None = None, related: tuple[str, ...] = ()
) -> Ticket:
    """The ticket's row, locked for the rest of the caller's transaction, after the two checks every
    write makes: an archived ticket is read-only, and a writer who saw an older version is refused
    (StaleVersion) instead of silently overwriting someone else's change. Every ticket service starts here."""
    ticket_id = ticket if isinstance(ticket, int) else ticket.pk
    locked = Ticket.objects.select_for_update(of=("self",)).select_related(*related).get(pk=ticket_id)
    ensure_writable(locked, action)
    ensure_version(locked, expected_version)
    return locked


@transaction.atomic
def ticket_close_outcome_refresh(*, ticket: Ticket) -> Ticket:
    """A closed ticket's follow-up outcome after a late answer (closed as silent, then the customer spoke)."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    outcome = close_outcome_of(locked, resolved_at=locked.resolved_at)
    if locked.status == Status.CLOSED and locked.close_outcome != outcome:
        event_record(
            ticket=locked, action="close_outcome_changed", changes={"close_outcome": [locked.close_outcome, outcome]}
        )
        locked.close_outcome = outcome
        locked.save(update_fields=["close_outcome", "updated_at"])
    return locked


def refusal_reason(ticket: Ticket, action: str, *, reason: str = "") -> str | None:
    """Why `action` may not happen to `ticket` now, or None if it may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _("unknown action; use one of %(actions)s") % {"actions": ", ".join(MANUAL_ACTIONS)}
    if ticket.is_read_only:
        return _("archived tickets are read-only")
    if ticket.status not in transition.sources:
        return _("only allowed from %(sources)s") % {
            "sources": ", ".join(sorted(str(Status(s).label) for s in transition.sources))
        }
    if transition.needs_reason and not reason.strip():
        return _("a reason is required")
    for guard in GUARDS.get(action, ()):
        refusal = guard(ticket)
        if refusal:
            return refusal
    return None


def blocked_actions(ticket: Ticket) -> list[tuple[str, str]]:
    """The next moves the ticket's status allows but a rule still holds back, with what to do first (the
    page says "triage: classify the type and category first" instead of showing nothing)."""
    blocked = []
    for action in MANUAL_ACTIONS:
        if ticket.is_read_only or ticket.status not in TRANSITIONS[action].sources:
            continue
        refusal = next(filter(None, (guard(ticket) for guard in GUARDS.get(action, ()))), None)
        if refusal:
            blocked.append((action, refusal))
    return blocked


def available_actions(ticket: Ticket) -> list[str]:
    """The manual actions a person could take now (for buttons); reasons are asked for on use."""
    return [
        action
        for action in MANUAL_ACTIONS
        if refusal_reason(ticket, action, reason="-") is None
    ]


@transaction.atomic
def ticket_transition(
    *, ticket: Ticket, action: str, actor=None, reason: str = "", manual: bool = True, expected_version=None
) -> Ticket:
    """Move `ticket` by `action`; raise TransitionRefused (changing nothing) when not allowed.

    `manual=True` (people, the API) refuses the automatic department actions.
    """
    # Lock first, then decide: the state we check is the state we change.
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_version(locked, expected_version)
    transition = TRANSITIONS.get(action)
    if transition is not None and manual and not transition.manual:
        raise TransitionRefused(
            status=locked.status, action=action, reason=_("this happens automatically with department subtasks")
        )
    refusal = refusal_reason(locked, action, reason=reason)
    if refusal:
        cls = TicketReadOnly if locked.is_read_only else TransitionRefused
        raise cls(status=locked.status, action=action, reason=refusal)

    now = timezone.now()
    from_status = locked.status
    target = transition.target
    if target == Status.IN_PROGRESS and action != Action.DEPARTMENT_DONE and _active_subtask_count(locked):
        # Subtasks handed over earlier (while triaged or waiting on the customer) are still open:
        # the case waits on departments, not on the agent.
        target = Status.WAITING_DEPARTMENT
    locked.status = target
    locked.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if target in _TIMESTAMP_ON_ENTRY:
        setattr(locked, _TIMESTAMP_ON_ENTRY[target], now)
        fields.append(_TIMESTAMP_ON_ENTRY[target])
    if action == Action.REOPEN:
        locked.resolved_at = locked.closed_at = locked.followed_up_at = None
        locked.reopen_count += 1
        locked.close_outcome = ""
        fields += ["resolved_at", "closed_at", "followed_up_at", "reopen_count", "close_outcome"]
    if target == Status.CLOSED:
        locked.close_outcome = close_outcome_of(locked, resolved_at=locked.resolved_at)
        fields.append("close_outcome")
    locked.save(update_fields=fields)
    event_record(
        ticket=locked,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=target,
        reason=reason,
    )
    sla_on_status_change(locked, from_status=from_status, actor=actor, now=now)
    return locked
