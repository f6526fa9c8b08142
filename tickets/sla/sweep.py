"""The SLA sweep: find what fell due, notify once, escalate, close silent resolved tickets.

Run every minute by Celery beat (tickets/tasks.py), safe to run twice at once or again after a
crash: each batch claims its tickets with SELECT … FOR UPDATE SKIP LOCKED inside one
transaction, so two sweeps never hold the same ticket, and a worker killed mid-batch rolls
the batch back for the next sweep to redo. Every notice carries a dedupe key that is unique
per recipient, so a moment already notified is never notified again. Queries per batch are
constant: the claim (which loads the batch too), the notices already sent and the departments holding
(for the tickets with a moment passed), and bulk writes: notices, events, the tickets whose SLA columns
moved (few: a ticket's next check, which moves every time, is a narrow row of its own, SLACheck).

Subtasks falling due: subtask_sweep.py; mailing the notices: mail.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Customer

from ..events import event_record, event_row, events_record_rows
from ..models import Message, Notification, RiskLevel, Status, Subtask, Ticket
from ..notes import note
from ..roles import Role
from .bulk import bulk_update_tickets, notifications_insert_rows, sla_checks_save
from .clock import FOLLOW_UP, SLA_COLUMNS, ScheduleCache, SLAContext, refresh_with_checks

MAX_ESCALATION = 2


@dataclass
class SweepResult:
    tickets: int = 0
    notifications: int = 0
    escalations: int = 0
    subtasks: int = 0
    auto_closed: int = 0
    emails: int = 0
    batches: int = 0
    details: list[str] = field(default_factory=list)


def _supervisors() -> list:
    return list(get_user_model().objects.filter(is_active=True, groups__name=Role.SUPERVISOR).distinct())


def sla_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> SweepResult:
    """Process every ticket whose next SLA check has passed, in bounded batches."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SLA_SWEEP_BATCH_SIZE
    result = SweepResult()
    supervisors = [user.pk for user in _supervisors()]
    context = SLAContext.load(now, ScheduleCache())
    while _sweep_batch(now=now, batch_size=batch_size, supervisors=supervisors, context=context, result=result):
        result.batches += 1
    return result


# What a sweep reads of a ticket (sla_refresh, running_clocks, the checks): a batch loads these columns only.
SWEPT_FIELDS = (
    *SLA_COLUMNS,
    "status", "priority", "type", "channel", "customer", "assignee", "risk_level", "escalation_level",
    "created_at", "first_response_at", "resolved_at", "followed_up_at", "platform_deadline_at",
)
# What a sweep may change on a ticket row: compared before and after, and only what moved is written (most
# often nothing: the next check, which always moves, has a row of its own).
WRITTEN_FIELDS = (*SLA_COLUMNS, "escalation_level")


@transaction.atomic
def _sweep_batch(*, now, batch_size, supervisors, context, result) -> bool:
    tickets = _claim_tickets(now, batch_size)
    if not tickets:
        return False
    written = [Ticket._meta.get_field(name).attname for name in WRITTEN_FIELDS]
    befores = [[getattr(ticket, attname) for attname in written] for ticket in tickets]
    checked = [(ticket, refresh_with_checks(ticket, now=now, context=context)) for ticket in tickets]
    # Most tickets of a batch are only rescheduled (the next check was a moment that since moved); the
    # notices already sent and the departments holding are read for those with a moment passed only.
    due = [ticket.pk for ticket, checks in checked
           if any(moment <= now for _clock, moments in checks or () for _percent, moment in moments)]
    known_keys, holders = set(), {}
    if due:
        known_keys = set(Notification.objects.filter(ticket_id__in=due).values_list("dedupe_key", flat=True))
        holders = _departments_holding(due)
    notifications, events, changed, changed_fields = [], [], [], set()
    for (ticket, checks), before in zip(checked, befores, strict=True):
        _check_ticket(ticket, checks, now, supervisors, known_keys, holders, notifications, events, result)
        moved = {name for name, attname, old in zip(WRITTEN_FIELDS, written, before, strict=True)
                 if getattr(ticket, attname) != old}
        if moved:
            changed.append(ticket)
            changed_fields |= moved
    # Notices and events as plain rows, one statement each: what the batch costs in Python was mostly
    # making and saving ~4 model instances of each per ticket.
    notifications_insert_rows(notifications)
    events_record_rows(events)
    # Only the tickets and columns that moved, in one statement; every ticket's next check in one more.
    bulk_update_tickets(changed, sorted(changed_fields))
    sla_checks_save(tickets)
    result.tickets += len(tickets)
    result.notifications += len(notifications)
    return True


def _claim_tickets(now, batch_size) -> list[Ticket]:
    """Claim the batch, the tickets whose next check has passed (row locks, SKIP LOCKED: another sweep takes
    the next ones), and load it in the same statement: its tickets with the SWEPT_FIELDS, their next check
    and their customer's tier and platform (what a policy matches on). Their policy is not loaded: the
    refresh matches it again from the context.

    Built from plain rows rather than through Ticket.objects.only(): for a deferred load Django looks
    every one of the ~60 fields up in the list of loaded ones, per row, and builds the customer the same
    way, which took longer than the clocks themselves. The instances are as only() makes them: the
    other fields load on access."""
    attnames = [Ticket._meta.get_field(name).attname for name in SWEPT_FIELDS]
    rows = (
        # The ticket rows are locked, as an agent's change locks them, not the customer's or the check's.
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sla_check__at__lte=now)
        .order_by("sla_check__at")
        .values_list("pk", "sla_check__at", *attnames, "customer__tier", "customer__platform")[:batch_size]
    )
    db = rows.db
    tickets = []
    for pk, check_at, *values, tier, platform in rows:
        ticket = _instance(Ticket, db, pk, **dict(zip(attnames, values, strict=True)))
        ticket.sla_next_check_at = check_at
        if ticket.customer_id is not None:
            ticket._state.fields_cache["customer"] = _instance(
                Customer, db, ticket.customer_id, tier=tier, platform=platform
            )
        tickets.append(ticket)
    return tickets


def _instance(model, db, pk, **values):
    """A model instance as loaded from the database with only `values`, given by attname (what
    Model.from_db makes)."""
    instance = model.__new__(model)
    instance._state = ModelState()
    instance._state.adding, instance._state.db = False, db
    instance.__dict__[model._meta.pk.attname] = pk
    instance.__dict__.update(values)
    return instance


def _departments_holding(ticket_ids) -> dict[int, list[tuple[str, str, str]]]:
    """Departments (code, name, English name) with active subtasks per ticket: a breach while they hold the
    case is theirs too."""
    holders: dict[int, list[tuple[str, str, str]]] = {}
    for ticket_id, *department in Subtask.objects.filter(
        ticket_id__in=ticket_ids, status__in=Subtask.ACTIVE_STATUSES
    ).values_list("ticket_id", "department__code", "department__name", "department__name_en"):
        holders.setdefault(ticket_id, []).append(tuple(department))
    return holders


def _check_ticket(ticket, checks, now, supervisors, known_keys, holders, notifications, events, result):
    """Notify and escalate for the moments of `checks` (the clocks sla_refresh just computed) that passed."""
    policy = ticket.sla_policy
    if policy is None:
        return
    high_risk = ticket.risk_level == RiskLevel.HIGH
    for clock, moments in checks:
        last_warning = max((p for p, _ in moments if p < 100), default=None)
        for percent, moment in moments:
            if moment > now:
                continue
            # Keyed on the clock's start and policy, not its due time: a pause moves the due time but
            # must not repeat a notice already sent; a restarted clock (reopen) or a new policy may.
            key = f"{clock.kind}:{percent}:{clock.started_at.isoformat()}:{policy.pk}:{ticket.pk}"
            if key in known_keys:
                continue
            known_keys.add(key)
            data = {"clock": clock.kind, "percent": percent, "due_at": clock.due_at.isoformat()}
            if clock.kind == FOLLOW_UP:
                kind, recipients, action = Notification.Kind.FOLLOW_UP_DUE, [ticket.assignee_id], "follow_up_due"
            elif percent == 100:
                kind, recipients, action = (
                    Notification.Kind.SLA_BREACH, [ticket.assignee_id, *supervisors], "sla_breached"
                )
                held = holders.get(ticket.pk, [])
                data["held_by"] = [code for code, _name, _name_en in held]
                if held:  # the notice's sentence names them in the reader's language (tickets/notification_text.py)
                    data["held_by_names"] = [[name, name_en] for _code, name, name_en in held]
            else:
                kind, recipients, action = Notification.Kind.SLA_WARNING, [ticket.assignee_id], "sla_warning"
                if ticket.assignee_id is None:
                    recipients = supervisors  # nobody on it yet: the supervisors must hear of it
            for recipient in dict.fromkeys(r for r in recipients if r is not None):
                notifications.append((recipient, kind, ticket.pk, data, key))
            events.append(
                event_row(
                    ticket_id=ticket.pk,
                    action=action,
                    changes={"sla": [None, data]},
                    reason=_reason(clock.kind, percent, tuple(data.get("held_by", ()))),
                )
            )
            # Escalate at breach; high-risk tickets one step earlier, at the last warning.
            escalates = clock.kind != FOLLOW_UP and (percent == 100 or (high_risk and percent == last_warning))
            if escalates and ticket.escalation_level < MAX_ESCALATION:
                old = ticket.escalation_level
                ticket.escalation_level += 1
                result.escalations += 1
                events.append(
                    event_row(
                        ticket_id=ticket.pk,
                        action="escalated",
                        changes={"escalation_level": [old, ticket.escalation_level]},
                        reason=_reason(clock.kind, percent, tuple(data.get("held_by", ()))),
                    )
                )
    # Everything up to now is handled: wait for the next future moment.
    future = [moment for _, moments in checks for _, moment in moments if moment > now]
    ticket.sla_next_check_at = min(future) if future and ticket.status != Status.WAITING_CUSTOMER else None


CLOCK_LABELS = {
    "first_response": gettext_noop("first response"),
    "next_response": gettext_noop("next response"),
    "resolution": gettext_noop("resolution"),
    "follow_up": gettext_noop("follow-up"),
}


# A catch-up writes tens of thousands of these from a handful of distinct ones, and a note renders its
# text (gettext) when made. Only its parts are stored (event_build), which no language changes.
@lru_cache(maxsize=1024)
def _reason(clock: str, percent: int, held: tuple[str, ...]) -> str:
    label = note(CLOCK_LABELS.get(clock, clock))
    if clock == FOLLOW_UP:
        return note("Follow-up with the customer is due.")
    if percent == 100:
        text = note("The %(clock)s target was breached.", clock=label)
        if held:
            text = text.then(note("Departments holding the case: %(departments)s.", departments=", ".join(held)))
        return text
    return note("%(percent)d%% of the %(clock)s target is used.", percent=percent, clock=label)


# Auto-close ----------------------------------------------------------------------------------------


def auto_close_silent_tickets(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Close resolved tickets whose customer has not answered for AUTO_CLOSE_DAYS (follow-up: silent)."""
    from ..workflow import Action, TransitionRefused, ticket_transition

    now = now or timezone.now()
    days = settings.AUTO_CLOSE_DAYS
    customer_wrote = Message.objects.filter(
        ticket=OuterRef("pk"), direction=Message.Direction.INBOUND, created_at__gt=OuterRef("resolved_at")
    )
    ids = list(
        Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=now - timedelta(days=days))
        .filter(~Exists(customer_wrote))
        .order_by("resolved_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    closed = 0
    for ticket_id in ids:
        try:
            with transaction.atomic():
                ticket = ticket_transition(
                    ticket=Ticket(pk=ticket_id),
                    action=Action.CLOSE,
                    actor=None,
                    reason=note("No reply from the customer within %(days)d days.", days=days),
                )
                event_record(
                    ticket=ticket, action="follow_up_recorded", changes={"follow_up_result": [None, "silent"]}
                )
                if ticket.assignee_id:
                    Notification.objects.get_or_create(
                        recipient_id=ticket.assignee_id,
                        dedupe_key=f"auto_closed:{ticket.pk}:{ticket.closed_at.isoformat()}",
                        defaults={"kind": Notification.Kind.AUTO_CLOSED, "ticket": ticket},
                    )
            closed += 1
        except TransitionRefused:
            continue  # someone closed or reopened it meanwhile: nothing to do
    return closed
