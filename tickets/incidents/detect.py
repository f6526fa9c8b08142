"""Incident detection (批量问题): group recent tickets sharing a product and a category into a suggested
incident, for a supervisor to confirm (tickets.incidents.services takes it from there).

Runs from the beat schedule (tickets.tasks.incident_detect_task) and is repeatable: an open incident for
the same product and category is reused, and a ticket already a member is not added again.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from orders.models import Product

from ..events import EventAction, events_record
from ..models import Incident, Ticket
from .services import _event


def incident_detect(*, now=None, min_tickets: int | None = None, window_hours: int | None = None) -> list[Incident]:
    """Suggest an incident wherever at least `min_tickets` tickets of the last `window_hours` share a
    product and a category (one aggregate query; an open incident for the pair is reused)."""
    now = now or timezone.now()
    min_tickets = min_tickets or settings.INCIDENT_MIN_TICKETS
    since = now - timedelta(hours=window_hours or settings.INCIDENT_WINDOW_HOURS)
    Through = Ticket.affected_items.through
    groups = (
        Through.objects.filter(ticket__created_at__gte=since)
        .exclude(ticket__category="")
        .values("orderitem__product_id", "ticket__category")
        .annotate(n=Count("ticket_id", distinct=True))
        .filter(n__gte=min_tickets)
    )
    found = []
    for group in groups:
        product_id, category = group["orderitem__product_id"], group["ticket__category"]
        found.append(_suggest(product_id, category, since, now))
    return found


def _open_incident_locked(product_id, category) -> Incident | None:
    # Locked first, like every incident write: a resolution committed meanwhile takes the row out of
    # "open", and the tickets are then grouped into a new suggestion, not into a closed record.
    return (
        Incident.objects.select_for_update()
        .filter(product_id=product_id, category=category, status__in=[Incident.Status.SUGGESTED,
                                                                     Incident.Status.CONFIRMED])
        .first()
    )


@transaction.atomic
def _suggest(product_id, category, since, now) -> Incident:
    incident = _open_incident_locked(product_id, category)
    if incident is None:
        product = Product.objects.get(pk=product_id)
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    title=f"{product.sku} {product.name}",
                    cause=Incident.Cause.PRODUCT_DEFECT,
                    product=product,
                    category=category,
                    window_start=since,
                    window_end=now,
                )
        except IntegrityError:  # another detection run made it a moment ago
            incident = _open_incident_locked(product_id, category)
    joining = list(
        Ticket.objects.filter(created_at__gte=since, category=category, affected_items__product_id=product_id)
        .exclude(incidents=incident)
        .distinct()
    )
    incident.tickets.add(*joining)
    events_record(
        [_event(ticket, actor=None, incident=incident, kind=EventAction.INCIDENT_JOINED) for ticket in joining]
    )
    incident.window_end = now
    incident.save(update_fields=["window_end"])
    return incident
