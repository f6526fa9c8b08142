"""Writes that move many tickets' SLA clocks at once (a policy or calendar edit)."""

from django.db import transaction
from django.utils import timezone

from ..events import event_build, events_record
from ..models import OPEN_STATUSES, Status, Ticket
from .bulk import bulk_update_tickets, sla_checks_save
from .clock import SLA_COLUMNS, ScheduleCache, SLAContext, sla_refresh

BATCH = 1000


@transaction.atomic
def sla_refresh_open_tickets(*, actor=None, reason: str = "") -> int:
    """Recompute every ticket with a running clock, in the same transaction as the edit that moved
    them (DESIGN: due times are stored and recomputed on every change). Returns how many changed."""
    now = timezone.now()
    context = SLAContext.load(now, ScheduleCache())
    changed = 0
    queryset = (
        Ticket.objects.filter(status__in=[*OPEN_STATUSES, Status.RESOLVED])
        .select_related("customer", "sla_check", "sla_policy")  # the refresh compares the policy it had
        .order_by("pk")
    )
    last_pk = 0
    while batch := list(queryset.filter(pk__gt=last_pk)[:BATCH]):
        last_pk = batch[-1].pk
        moved, events = [], []
        for ticket in batch:
            changes = sla_refresh(ticket, now=now, context=context)
            if changes:
                moved.append(ticket)
                events.append(
                    event_build(ticket=ticket, actor=actor, action="sla_recomputed", changes=changes, reason=reason)
                )
        bulk_update_tickets(moved, SLA_COLUMNS)  # Django's bulk_update (a CASE per column) took minutes at 30,000
        sla_checks_save(moved)
        events_record(events)
        changed += len(moved)
    return changed
