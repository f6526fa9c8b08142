"""The SLA sweep: find what fell due, notify once, escalate, close silent resolved tickets.

Run every minute by Celery beat (tickets/tasks.py), safe to run twice at once or again after a
crash: each batch claims its tickets with SELECT … FOR UPDATE SKIP LOCKED inside one
transaction, so two sweeps never hold the same ticket, and a worker killed mid-batch rolls
the batch back for the next sweep to redo. Every notice carries a dedupe key that is unique
per recipient, so a moment already notified is never notified again. What fell due is read from
each ticket's plan (SLACheck.plan, written by every refresh: tickets/sla/clock.py sla_plan), not
recomputed; a ticket without one, or past a big-promo start or end, is recomputed. Queries per batch
are constant: the claim and the batch's load, the load of the tickets to recompute, the notices
already sent (for the tickets with a moment passed) and the departments holding (for those with a
breach not yet notified), and bulk writes: notices, events, the tickets whose SLA columns moved (few:
a ticket's next check, which moves every time, is a narrow row of its own), the next checks.

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
from .clock import (
    ADVANCED_FIELDS,
    FOLLOW_UP,
    SLA_COLUMNS,
    ScheduleCache,
    SLAContext,
    epoch_us,
    from_epoch_us,
    plan_advance,
    sla_recompute,
)

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


# What the claim reads of a ticket: what its notices and escalation need and what its moments move.
CLAIMED_FIELDS = ("status", "sla_policy", "assignee", "risk_level", "escalation_level", *ADVANCED_FIELDS)
# What a recompute reads of a ticket (sla_refresh, running_clocks): the tickets without a plan load these too.
RECOMPUTED_FIELDS = (
    *SLA_COLUMNS,
    "status", "priority", "type", "channel", "customer", "assignee", "risk_level", "escalation_level",
    "created_at", "first_response_at", "resolved_at", "followed_up_at", "platform_deadline_at",
)


@transaction.atomic
def _sweep_batch(*, now, batch_size, supervisors, context, result) -> bool:
    tickets = _claim_tickets(now, batch_size)
    if tickets is None:
        return False
    now_us = epoch_us(now)
    # Most tickets' plans stand: their moments are read from the check row, no clock is computed. The others
    # (no plan yet, or a big-promo start or end passed, which may change their policy) are loaded and recomputed.
    stale = [ticket for ticket in tickets if not _plan_stands(ticket, now_us)]
    recomputed = _load_for_recompute(stale)
    tickets = [recomputed.get(ticket.pk, ticket) for ticket in tickets]
    written = {ticket.pk: RECOMPUTED_WRITTEN if ticket.pk in recomputed else PLANNED_WRITTEN for ticket in tickets}
    befores = {ticket.pk: [getattr(ticket, attname) for _name, attname in written[ticket.pk]] for ticket in tickets}
    for ticket in tickets:
        if ticket.pk in recomputed:
            sla_recompute(ticket, now=now, context=context)
        else:
            plan_advance(ticket, ticket.sla_plan, now_us)
    # The notices already sent are read for the tickets with a moment passed only, and the departments holding
    # for those with a breach not yet notified (most moments a catch-up passes were notified before).
    due = [ticket.pk for ticket in tickets if ticket.sla_plan is not None and _passed(ticket.sla_plan, now_us)]
    known_keys = set()
    if due:
        known_keys = set(Notification.objects.filter(ticket_id__in=due).values_list("dedupe_key", flat=True))
    breaching = [ticket.pk for ticket in tickets if ticket.sla_plan is not None
                 and any(key not in known_keys for key in _breach_keys(ticket, ticket.sla_plan, now_us))]
    holders = _departments_holding(breaching) if breaching else {}
    notifications, events = [], []
    changed = {True: ([], set()), False: ([], set())}  # recomputed or not: their instances hold different fields
    for ticket in tickets:
        _check_ticket(ticket, now_us, supervisors, known_keys, holders, notifications, events, result)
        moved = {name for (name, attname), old in zip(written[ticket.pk], befores[ticket.pk], strict=True)
                 if getattr(ticket, attname) != old}
        if moved:
            changed_tickets, changed_fields = changed[ticket.pk in recomputed]
            changed_tickets.append(ticket)
            changed_fields |= moved
    # Notices and events as plain rows, one statement each: what the batch costs in Python was mostly
    # making and saving ~4 model instances of each per ticket.
    notifications_insert_rows(notifications)
    events_record_rows(events)
    # Only the tickets and columns that moved; the next checks, with the new plans of the recomputed.
    for changed_tickets, changed_fields in changed.values():
        bulk_update_tickets(changed_tickets, sorted(changed_fields))
    sla_checks_save(list(recomputed.values()))
    sla_checks_save([ticket for ticket in tickets if ticket.pk not in recomputed], plans=False)
    result.tickets += len(tickets)
    result.notifications += len(notifications)
    return True


def _names(*fields):
    return tuple((name, Ticket._meta.get_field(name).attname) for name in fields)


# What a sweep may change on a ticket (compared before and after: only what moved is written), by name and
# attname: as it went through its plan, or recomputed.
PLANNED_WRITTEN = _names(*ADVANCED_FIELDS, "escalation_level")
RECOMPUTED_WRITTEN = _names(*SLA_COLUMNS, "escalation_level")


def _plan_stands(ticket: Ticket, now_us: int) -> bool:
    plan = ticket.sla_plan
    return (plan is not None and plan["policy"] == ticket.sla_policy_id
            and (plan["recheck"] is None or plan["recheck"] > now_us) and ticket.status != Status.WAITING_CUSTOMER)


def _passed(plan: dict, now_us: int) -> bool:
    return any(moment <= now_us for _kind, _started, _due, moments in plan["clocks"] for _percent, moment in moments)


def _notice_key(ticket, plan, kind, percent, started) -> str:
    # Keyed on the clock's start and policy, not its due time: a pause moves the due time but must not
    # repeat a notice already sent; a restarted clock (reopen) or a new policy may.
    return f"{kind}:{percent}:{started}:{plan['policy']}:{ticket.pk}"


def _breach_keys(ticket, plan, now_us):
    for kind, started, _due, moments in plan["clocks"]:
        percent, moment = moments[-1]
        if kind != FOLLOW_UP and moment <= now_us:
            yield _notice_key(ticket, plan, kind, percent, started)


def _claim_tickets(now, batch_size) -> list[Ticket] | None:
    """Claim the batch, the tickets whose next check has passed (row locks, SKIP LOCKED: another sweep takes
    the next ones), then load it: its tickets with the CLAIMED_FIELDS, their next check and its plan.

    Loaded in a second statement: the claim's snapshot may predate another sweep's commit of the same
    tickets (it released them as the claim reached them), and only the ticket rows are locked (as an agent's
    change locks them; every writer of a check holds its ticket's lock), so a check is read again once its
    ticket is held, and a ticket no longer due is left out. Built from plain rows rather than through
    Ticket.objects.only(): for a deferred load Django looks every one of the ~60 fields up in the list of
    loaded ones, per row. The instances are as only() makes them: the other fields load on access."""
    claimed = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sla_check__at__lte=now)
        .order_by("sla_check__at")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not claimed:
        return None
    attnames = [Ticket._meta.get_field(name).attname for name in CLAIMED_FIELDS]
    rows = (
        Ticket.objects.filter(pk__in=claimed, sla_check__at__lte=now)
        .values_list("pk", "sla_check__at", "sla_check__plan", *attnames)
    )
    db = rows.db
    tickets = []
    for pk, check_at, plan, *values in rows:
        ticket = _instance(Ticket, db, pk, **dict(zip(attnames, values, strict=True)))
        ticket.sla_next_check_at, ticket.sla_plan = check_at, plan
        tickets.append(ticket)
    return tickets


def _load_for_recompute(tickets: list[Ticket]) -> dict[int, Ticket]:
    """The claimed tickets (locked already) with what a recompute reads, and their customer's tier and
    platform (what a policy matches on)."""
    if not tickets:
        return {}
    attnames = [Ticket._meta.get_field(name).attname for name in RECOMPUTED_FIELDS]
    rows = Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).values_list(
        "pk", *attnames, "customer__tier", "customer__platform"
    )
    db = rows.db
    loaded = {}
    for pk, *values, tier, platform in rows:
        ticket = loaded[pk] = _instance(Ticket, db, pk, **dict(zip(attnames, values, strict=True)))
        if ticket.customer_id is not None:
            ticket._state.fields_cache["customer"] = _instance(
                Customer, db, ticket.customer_id, tier=tier, platform=platform
            )
    return loaded


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
    """Departments (code, name, English name) with active subtasks per ticket, each once however many subtasks
    it holds: a breach while they hold the case is theirs too."""
    holders: dict[int, dict[tuple[str, str, str], None]] = {}
    for ticket_id, *department in Subtask.objects.filter(
        ticket_id__in=ticket_ids, status__in=Subtask.ACTIVE_STATUSES
    ).order_by("department__code").values_list("ticket_id", "department__code", "department__name",
                                               "department__name_en"):
        holders.setdefault(ticket_id, {})[tuple(department)] = None
    return {ticket_id: list(departments) for ticket_id, departments in holders.items()}


def _check_ticket(ticket, now_us, supervisors, known_keys, holders, notifications, events, result):
    """Notify and escalate for the moments of the ticket's plan that passed; its next check is the first to come."""
    plan = ticket.sla_plan
    if plan is None:  # no policy, nothing running, or paused: nothing to look at
        ticket.sla_next_check_at = None
        return
    high_risk = ticket.risk_level == RiskLevel.HIGH
    future = [plan["recheck"]] if plan["recheck"] is not None else []
    for kind, started, due, moments in plan["clocks"]:
        last_warning = max((p for p, _ in moments if p < 100), default=None)
        for percent, moment in moments:
            if moment > now_us:
                future.append(moment)
                continue
            key = _notice_key(ticket, plan, kind, percent, started)
            if key in known_keys:
                continue
            known_keys.add(key)
            data = {"clock": kind, "percent": percent, "due_at": due}
            if kind == FOLLOW_UP:
                notice, recipients, action = Notification.Kind.FOLLOW_UP_DUE, [ticket.assignee_id], "follow_up_due"
            elif percent == 100:
                notice, recipients, action = (
                    Notification.Kind.SLA_BREACH, [ticket.assignee_id, *supervisors], "sla_breached"
                )
                held = holders.get(ticket.pk, [])
                data["held_by"] = [code for code, _name, _name_en in held]
                if held:  # the notice's sentence names them in the reader's language (tickets/notification_text.py)
                    data["held_by_names"] = [[name, name_en] for _code, name, name_en in held]
            else:
                notice, recipients, action = Notification.Kind.SLA_WARNING, [ticket.assignee_id], "sla_warning"
                if ticket.assignee_id is None:
                    recipients = supervisors  # nobody on it yet: the supervisors must hear of it
            for recipient in dict.fromkeys(r for r in recipients if r is not None):
                notifications.append((recipient, notice, ticket.pk, data, key))
            reason = _reason(kind, percent, tuple(data.get("held_by", ())))
            events.append(event_row(ticket_id=ticket.pk, action=action, changes={"sla": [None, data]}, reason=reason))
            # Escalate at breach; high-risk tickets one step earlier, at the last warning.
            escalates = kind != FOLLOW_UP and (percent == 100 or (high_risk and percent == last_warning))
            if escalates and ticket.escalation_level < MAX_ESCALATION:
                old = ticket.escalation_level
                ticket.escalation_level += 1
                result.escalations += 1
                events.append(event_row(ticket_id=ticket.pk, action="escalated",
                                        changes={"escalation_level": [old, ticket.escalation_level]}, reason=reason))
    # Everything up to now is handled: wait for the next moment to come.
    ticket.sla_next_check_at = from_epoch_us(min(future)) if future else None


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
