"""The SLA sweep: find what fell due, notify once, escalate, close silent resolved tickets.

Run every minute by Celery beat (tickets/tasks.py), safe to run twice at once or again after a
crash: each batch claims its tickets with SELECT … FOR UPDATE SKIP LOCKED inside one
transaction, so two sweeps never hold the same ticket, and a worker killed mid-batch rolls
the batch back for the next sweep to redo. Every notice carries a dedupe key that is unique
per recipient, so a moment already notified is never notified again. Queries per batch are
constant: the claim, one load, one look-up of known keys, and bulk writes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..events import event_build, event_record, events_record
from ..models import Message, Notification, RiskLevel, Status, Subtask, Ticket
from ..notes import note
from ..roles import Role
from .bulk import bulk_update_tickets
from .clock import FOLLOW_UP, SLA_FIELDS, ScheduleCache, SLAContext, refresh_with_checks
from .models import SLAPolicy

logger = logging.getLogger(__name__)
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
    *SLA_FIELDS,
    "status", "priority", "type", "channel", "customer", "assignee", "risk_level", "escalation_level",
    "created_at", "first_response_at", "resolved_at", "followed_up_at", "platform_deadline_at",
    "customer__tier", "customer__platform",
)


@transaction.atomic
def _sweep_batch(*, now, batch_size, supervisors, context, result) -> bool:
    ids = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return False
    tickets = list(Ticket.objects.filter(pk__in=ids).select_related("customer").only(*SWEPT_FIELDS))
    _attach_policies(tickets, context)
    known_keys = set(Notification.objects.filter(ticket_id__in=ids).values_list("dedupe_key", flat=True))
    holders = _departments_holding(ids)
    notifications, events, changed_fields = [], [], {"sla_next_check_at", "sla_state"}
    for ticket in tickets:
        escalation = ticket.escalation_level
        changes, checks = refresh_with_checks(ticket, now=now, context=context)
        changed_fields |= set(changes)
        _check_ticket(ticket, checks, now, supervisors, known_keys, holders, notifications, events, result)
        if ticket.escalation_level != escalation:
            changed_fields.add("escalation_level")
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    events_record(events)
    # Only the columns that moved, in one statement (Django's bulk_update writes a CASE per column per row).
    bulk_update_tickets(tickets, sorted(changed_fields))
    result.tickets += len(tickets)
    result.notifications += len(notifications)
    return True


def _attach_policies(tickets, context) -> None:
    """Each ticket's current policy from the context (one object per policy, not one per row); a policy
    no longer active is read once per batch."""
    policies = {policy.pk: policy for policy in context.policies}
    missing = {t.sla_policy_id for t in tickets if t.sla_policy_id is not None} - set(policies)
    if missing:
        policies.update(SLAPolicy.objects.in_bulk(missing))
    for ticket in tickets:
        if ticket.sla_policy_id is not None:
            ticket.sla_policy = policies[ticket.sla_policy_id]


def _departments_holding(ticket_ids) -> dict[int, list[str]]:
    """Departments with active subtasks per ticket: a breach while they hold the case is theirs too."""
    holders: dict[int, list[str]] = {}
    for ticket_id, code in Subtask.objects.filter(
        ticket_id__in=ticket_ids, status__in=Subtask.ACTIVE_STATUSES
    ).values_list("ticket_id", "department__code"):
        holders.setdefault(ticket_id, []).append(code)
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
                data["held_by"] = holders.get(ticket.pk, [])
            else:
                kind, recipients, action = Notification.Kind.SLA_WARNING, [ticket.assignee_id], "sla_warning"
                if ticket.assignee_id is None:
                    recipients = supervisors  # nobody on it yet: the supervisors must hear of it
            for recipient in dict.fromkeys(r for r in recipients if r is not None):
                notifications.append(
                    Notification(recipient_id=recipient, kind=kind, ticket=ticket, data=data, dedupe_key=key)
                )
            events.append(
                event_build(
                    ticket=ticket,
                    action=action,
                    changes={"sla": [None, data]},
                    reason=_reason(clock.kind, percent, data),
                )
            )
            # Escalate at breach; high-risk tickets one step earlier, at the last warning.
            escalates = clock.kind != FOLLOW_UP and (percent == 100 or (high_risk and percent == last_warning))
            if escalates and ticket.escalation_level < MAX_ESCALATION:
                old = ticket.escalation_level
                ticket.escalation_level += 1
                result.escalations += 1
                events.append(
                    event_build(
                        ticket=ticket,
                        action="escalated",
                        changes={"escalation_level": [old, ticket.escalation_level]},
                        reason=_reason(clock.kind, percent, data),
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


def _reason(clock: str, percent: int, data: dict) -> str:
    label = note(CLOCK_LABELS.get(clock, clock))
    if clock == FOLLOW_UP:
        return note("Follow-up with the customer is due.")
    if percent == 100:
        held = data.get("held_by")
        text = note("The %(clock)s target was breached.", clock=label)
        if held:
            text = text.then(note("Departments holding the case: %(departments)s.", departments=", ".join(held)))
        return text
    return note("%(percent)d%% of the %(clock)s target is used.", percent=percent, clock=label)


# Subtasks ----------------------------------------------------------------------------------------


def subtask_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Tell a department once when its subtask is due soon and once when it is overdue."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SLA_SWEEP_BATCH_SIZE
    total = 0
    for stamp_field, moment_field, kind in (
        ("due_soon_notified_at", "due_soon_at", Notification.Kind.SUBTASK_DUE_SOON),
        ("overdue_notified_at", "due_at", Notification.Kind.SUBTASK_OVERDUE),
    ):
        while count := _subtask_batch(now, batch_size, stamp_field, moment_field, kind):
            total += count
    return total


@transaction.atomic
def _subtask_batch(now, batch_size, stamp_field, moment_field, kind) -> int:
    ids = list(
        Subtask.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=Subtask.ACTIVE_STATUSES, **{f"{stamp_field}__isnull": True, f"{moment_field}__lte": now})
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    # Claim: a conditional UPDATE, so a second sweep finds nothing left to announce.
    Subtask.objects.filter(pk__in=ids, **{f"{stamp_field}__isnull": True}).update(**{stamp_field: now})
    subtasks = list(Subtask.objects.filter(pk__in=ids).select_related("department", "assignee"))
    staff_by_department: dict[int, list] = {}
    for user in (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__department_id__in={s.department_id for s in subtasks})
        .select_related("staff_profile")
    ):
        staff_by_department.setdefault(user.staff_profile.department_id, []).append(user)
    notifications, events = [], []
    action = "subtask_overdue" if kind == Notification.Kind.SUBTASK_OVERDUE else "subtask_due_soon"
    for subtask in subtasks:
        recipients = [subtask.assignee] if subtask.assignee else staff_by_department.get(subtask.department_id, [])
        data = {"subtask": subtask.pk, "department": subtask.department.code, "due_at": subtask.due_at.isoformat()}
        key = f"{kind}:{subtask.pk}:{subtask.due_at.isoformat()}"
        notifications += [
            Notification(
                recipient=r, kind=kind, ticket_id=subtask.ticket_id, subtask=subtask, data=data, dedupe_key=key
            )
            for r in recipients
        ]
        events.append(event_build(ticket_id=subtask.ticket_id, action=action, changes={"subtask": [None, data]}))
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    events_record(events)
    return len(subtasks)


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


# E-mail ----------------------------------------------------------------------------------------------

EMAIL_CLAIM_TIMEOUT = timedelta(minutes=10)
EMAIL_BATCH_SIZE = 100
# One run drains the backlog for at most this long: below the task's soft time limit (200 s) and about
# the beat interval (60 s), so runs seldom overlap; when they do, SKIP LOCKED splits the work.
EMAIL_RUN_SECONDS = 50


def notifications_send_emails(
    *,
    now: datetime | None = None,
    batch_size: int = EMAIL_BATCH_SIZE,
    seconds: float = EMAIL_RUN_SECONDS,
    rate: float | None = None,
) -> int:
    """Mail unsent notifications, batch after batch, until none is left or `seconds` have passed.

    Each batch is claimed in a short transaction of its own and sent over one mail-server connection,
    at most `rate` (NOTIFICATION_EMAIL_RATE) a second. A notice is marked sent only after it went out,
    so none is lost: a worker that died mid-batch leaves its claims to time out (EMAIL_CLAIM_TIMEOUT)
    and be mailed again, that batch perhaps twice. A notice whose sending failed keeps its claim and is
    tried again after the timeout; when the server cannot be reached the rest of the batch is released
    and the run ends. Returns the number of e-mails sent.
    """
    pacer = _Pacer(settings.NOTIFICATION_EMAIL_RATE if rate is None else rate)
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline:
        batch = _email_batch_claim(now=now or timezone.now(), batch_size=batch_size)
        if not batch:
            break
        count, finished = _email_batch_send(batch, pacer=pacer, deadline=deadline)
        sent += count
        if not finished:
            break
    return sent


@transaction.atomic
def _email_batch_claim(*, now: datetime, batch_size: int) -> list[Notification]:
    # SKIP LOCKED: a run on another worker at the same moment takes the next batch, never this one; the
    # claim stamp committed with it keeps these out of every later claim until it times out. Ids first,
    # from the unsent index alone: joined to users and tickets, PostgreSQL chose to read and sort the whole
    # backlog for each batch when its statistics were older than a burst (160 ms a batch at 30,000).
    ids = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(email_sent_at__isnull=True)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return []
    Notification.objects.filter(pk__in=ids).update(email_claimed_at=now)
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related("recipient", "ticket")
        .only("kind", "data", "recipient__email", "ticket__number")
        .order_by("created_at", "pk")
    )


def _email_batch_send(batch: list[Notification], *, pacer: _Pacer, deadline: float) -> tuple[int, bool]:
    """Send a claimed batch over one connection, then mark what went out in one UPDATE and release what
    was not tried. Returns (e-mails sent, whether the whole batch was tried)."""
    labels = {kind: str(label) for kind, label in Notification.Kind.choices}  # get_kind_display: slow
    done: list[int] = []  # mailed, or nothing to mail (the recipient has no address)
    untried: list[int] = []
    sent = 0
    connection = None
    try:
        for index, notification in enumerate(batch):
            address = notification.recipient.email
            if not address:
                done.append(notification.pk)
                continue
            if time.monotonic() >= deadline:
                untried = [n.pk for n in batch[index:]]
                break
            if connection is None:
                try:
                    connection = get_connection()
                    connection.open()
                except OSError:
                    logger.warning("mail server unreachable; %d notices wait for the next run",
                                   len(batch) - index, exc_info=True)
                    connection = None
                    untried = [n.pk for n in batch[index:]]
                    break
            pacer.wait()
            try:
                label = labels.get(notification.kind, notification.kind)
                connection.send_messages([_notification_email(notification, address, label)])
            except Exception:  # refused, the server went away, or a notice that cannot be written
                # Not the whole run: one bad notice must not hold up everyone else's.
                logger.warning("mail to %s failed; tried again after %s", address, EMAIL_CLAIM_TIMEOUT, exc_info=True)
                _close_quietly(connection)
                connection = None  # the next notice opens a fresh one (or finds the server gone)
                continue
            done.append(notification.pk)
            sent += 1
    finally:
        Notification.objects.filter(pk__in=done).update(email_sent_at=timezone.now())
        if untried:
            Notification.objects.filter(pk__in=untried).update(email_claimed_at=None)
        _close_quietly(connection)
    return sent, not untried


def _close_quietly(connection) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except OSError:  # QUIT on a connection that already broke
        logger.debug("mail connection did not close cleanly", exc_info=True)


class _Pacer:
    """At most `rate` sends a second, evenly spaced (0: no limit)."""

    def __init__(self, rate: float):
        self.interval = 1 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval


def _notification_email(notification: Notification, address: str, label: str) -> EmailMessage:
    return EmailMessage(
        subject=f"[{notification.ticket.number}] {label}",
        body=_notification_text(notification, label),
        to=[address],
        # Which notice this is, for tracing a complaint (and for the tests that count deliveries).
        headers={"X-Aftersales-Notification": str(notification.pk)},
    )


def _notification_text(notification: Notification, label: str) -> str:
    data = notification.data or {}
    lines = [f"{label}: {notification.ticket.number}"]
    if "clock" in data:
        lines.append(_reason(data["clock"], data.get("percent", 100), data))
    if "due_at" in data:
        lines.append(_("Due: %(due)s") % {"due": timezone.localtime(datetime.fromisoformat(data["due_at"]))})
    return "\n".join(lines)
