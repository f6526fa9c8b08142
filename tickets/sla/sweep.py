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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Message, Notification, RiskLevel, Status, Subtask, Ticket, TicketEvent
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
    TicketEvent.objects.bulk_create(events)
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
                TicketEvent(
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
                    TicketEvent(
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
    "first_response": _("first response"),
    "next_response": _("next response"),
    "resolution": _("resolution"),
    "follow_up": _("follow-up"),
}


def _reason(clock: str, percent: int, data: dict) -> str:
    label = str(CLOCK_LABELS.get(clock, clock))
    if clock == FOLLOW_UP:
        return _("Follow-up with the customer is due.")
    if percent == 100:
        held = data.get("held_by")
        text = _("The %(clock)s target was breached.") % {"clock": label}
        if held:
            text += " " + _("Departments holding the case: %(departments)s.") % {"departments": ", ".join(held)}
        return text
    return _("%(percent)d%% of the %(clock)s target is used.") % {"percent": percent, "clock": label}


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
        events.append(TicketEvent(ticket_id=subtask.ticket_id, action=action, changes={"subtask": [None, data]}))
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    TicketEvent.objects.bulk_create(events)
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
                    reason=_("No reply from the customer within %(days)d days.") % {"days": days},
                )
                TicketEvent.objects.create(
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


def notifications_send_emails(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Mail notifications not yet sent. A claim older than the timeout (a worker died) is retried,
    so a notice may be mailed twice in that case but is never lost."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(email_sent_at__isnull=True)
            .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT))
            .select_related("recipient", "ticket")
            .order_by("created_at")[:batch_size]
        )
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(email_claimed_at=now)
    sent = 0
    for notification in batch:
        address = notification.recipient.email
        if address:
            try:
                send_mail(
                    subject=f"[{notification.ticket.number}] {notification.get_kind_display()}",
                    message=_notification_text(notification),
                    from_email=None,
                    recipient_list=[address],
                )
            except OSError:
                logger.warning("mail to %s failed; will retry", address, exc_info=True)
                Notification.objects.filter(pk=notification.pk).update(email_claimed_at=None)
                continue
            sent += 1
        Notification.objects.filter(pk=notification.pk).update(email_sent_at=timezone.now())
    return sent


def _notification_text(notification: Notification) -> str:
    data = notification.data or {}
    lines = [f"{notification.get_kind_display()}: {notification.ticket.number}"]
    if "clock" in data:
        lines.append(_reason(data["clock"], data.get("percent", 100), data))
    if "due_at" in data:
        lines.append(_("Due: %(due)s") % {"due": timezone.localtime(datetime.fromisoformat(data["due_at"]))})
    return "\n".join(lines)
