"""Incident detection (批量问题): suggest an incident for a supervisor to confirm (tickets.incidents.services
takes it from there). Two rules, run one after the other by the beat task (tickets.tasks.incident_detect_task):

- the burst rule (`incident_detect`): at least INCIDENT_MIN_TICKETS tickets of the last
  INCIDENT_WINDOW_HOURS share a product and a category;
- the trend rule (`incident_detect_trends`): a product's fault (product-quality) tickets rise. The last
  INCIDENT_TREND_DAYS are split in two equal halves (two weeks by default); the product is suggested
  when the recent half counts at least INCIDENT_TREND_MIN tickets and at least INCIDENT_TREND_FACTOR
  times the earlier half (2 → 6 rises; 6 → 6 is flat; 1 → 4 rises but is too few to say).

Both are repeatable: an open incident for the same product and category is reused by the burst rule
(its new tickets join it) and left alone by the trend rule, and a ticket already a member is not added
again. Every supervisor is told once per new suggestion (a notification keyed on the incident), never
again when a later run extends it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from orders.models import Product

from ..events import EventAction, events_record
from ..models import Category, Incident, Ticket
from ..notes import note
from .services import _event, incident_notify_suggested

OPEN = [Incident.Status.SUGGESTED, Incident.Status.CONFIRMED]


def incident_detect(*, now=None, min_tickets: int | None = None, window_hours: int | None = None) -> list[Incident]:
    """Suggest an incident wherever at least `min_tickets` tickets of the last `window_hours` share a
    product and a category (one aggregate query; an open incident for the pair is reused), then run the
    trend rule. Returns the incidents suggested or extended."""
    now = now or timezone.now()
    min_tickets = min_tickets or settings.INCIDENT_MIN_TICKETS
    hours = window_hours or settings.INCIDENT_WINDOW_HOURS
    since = now - timedelta(hours=hours)
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
        found.append(_suggest(product_id, category, since, now, count=group["n"], hours=hours))
    return found + incident_detect_trends(now=now)


def _open_incident_locked(product_id, category) -> Incident | None:
    # Locked first, like every incident write: a resolution committed meanwhile takes the row out of
    # "open", and the tickets are then grouped into a new suggestion, not into a closed record.
    return (
        Incident.objects.select_for_update()
        .filter(product_id=product_id, category=category, status__in=OPEN)
        .first()
    )


def _category_label(category: str):
    # The label's English source (the msgid), so the notice reads in each supervisor's own language.
    label = Category(category).label
    return note(label._args[0]) if hasattr(label, "_args") else str(label)


@transaction.atomic
def _suggest(product_id, category, since, now, *, count: int, hours: int) -> Incident:
    incident = _open_incident_locked(product_id, category)
    created = False
    if incident is None:
        product = Product.objects.get(pk=product_id)
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    title=f"{product.sku} {product.name}",
                    cause=Incident.Cause.PRODUCT_DEFECT,
                    origin=Incident.Origin.BURST,
                    evidence={"hours": hours, "count": count},
                    product=product,
                    category=category,
                    window_start=since,
                    window_end=now,
                )
            created = True
        except IntegrityError:  # another detection run made it a moment ago
            incident = _open_incident_locked(product_id, category)
    joining = list(
        Ticket.objects.filter(created_at__gte=since, category=category, affected_items__product_id=product_id)
        .exclude(incidents=incident)
        .distinct()
        .order_by("created_at", "pk")
    )
    incident.tickets.add(*joining)
    events_record(
        [_event(ticket, actor=None, incident=incident, kind=EventAction.INCIDENT_JOINED) for ticket in joining]
    )
    incident.window_end = now
    incident.save(update_fields=["window_end"])
    if created and joining:
        incident_notify_suggested(incident=incident, ticket=joining[0], text=note(
            "Suspected batch problem: %(product)s, %(count)d %(category)s tickets within %(hours)d hours",
            product=incident.title, count=count, category=_category_label(category), hours=hours,
        ))
    return incident


# The trend rule ------------------------------------------------------------------------------------


def incident_detect_trends(
    *, now=None, days: int | None = None, factor: float | None = None, min_tickets: int | None = None
) -> list[Incident]:
    """Suggest a "trend" incident for every product whose fault (product-quality) tickets rise: over the
    last `days` (INCIDENT_TREND_DAYS, 14) split in two equal halves, the recent half counts at least
    `min_tickets` (INCIDENT_TREND_MIN, 5) and at least `factor` (INCIDENT_TREND_FACTOR, 2.0) times the
    earlier half. An earlier half of 0 with enough recent tickets counts as rising.

    One grouped query counts both halves for every product; a product that already has an open incident
    for its fault tickets (suggested or confirmed, whichever rule or person opened it), or one closed
    after the recent half began (a supervisor has looked at these tickets), is left alone. The recent
    half's tickets join the new incident.
    """
    now = now or timezone.now()
    days = days or settings.INCIDENT_TREND_DAYS
    factor = factor or settings.INCIDENT_TREND_FACTOR
    min_tickets = min_tickets or settings.INCIDENT_TREND_MIN
    start = now - timedelta(days=days)
    middle = now - timedelta(days=days) / 2
    Through = Ticket.affected_items.through
    rows = list(
        Through.objects.filter(ticket__created_at__gte=start, ticket__created_at__lt=now,
                               ticket__category=Category.PRODUCT_QUALITY)
        .values("orderitem__product_id")
        .annotate(
            recent=Count("ticket_id", distinct=True, filter=Q(ticket__created_at__gte=middle)),
            before=Count("ticket_id", distinct=True, filter=Q(ticket__created_at__lt=middle)),
        )
        .filter(recent__gte=min_tickets)
        .order_by("orderitem__product_id")
    )
    rising = {row["orderitem__product_id"]: row for row in rows if row["recent"] >= factor * row["before"]}
    if not rising:
        return []
    seen = set(
        Incident.objects.filter(product_id__in=rising, category=Category.PRODUCT_QUALITY)
        .filter(Q(status__in=OPEN) | Q(window_end__gte=middle))
        .values_list("product_id", flat=True)
    )
    found = []
    for product_id, row in rising.items():
        if product_id in seen:
            continue
        periods = [
            {"from": start.isoformat(), "to": middle.isoformat(), "count": row["before"]},
            {"from": middle.isoformat(), "to": now.isoformat(), "count": row["recent"]},
        ]
        evidence = {"days": days, "factor": factor, "min": min_tickets, "periods": periods}
        incident = _suggest_trend(product_id, evidence, start=start, middle=middle, now=now)
        if incident is not None:
            found.append(incident)
    return found


@transaction.atomic
def _suggest_trend(product_id, evidence: dict, *, start, middle, now) -> Incident | None:
    if _open_incident_locked(product_id, Category.PRODUCT_QUALITY) is not None:
        return None  # opened since the counts were read (a burst, a person, another run)
    product = Product.objects.get(pk=product_id)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=f"{product.sku} {product.name}",
                cause=Incident.Cause.PRODUCT_DEFECT,
                origin=Incident.Origin.TREND,
                evidence=evidence,
                product=product,
                category=Category.PRODUCT_QUALITY,
                window_start=start,
                window_end=now,
            )
    except IntegrityError:  # another detection run made one a moment ago
        return None
    joining = list(
        Ticket.objects.filter(created_at__gte=middle, created_at__lt=now, category=Category.PRODUCT_QUALITY,
                              affected_items__product_id=product_id)
        .distinct()
        .order_by("created_at", "pk")
    )
    incident.tickets.add(*joining)
    events_record(
        [_event(ticket, actor=None, incident=incident, kind=EventAction.INCIDENT_JOINED) for ticket in joining]
    )
    before, recent = (period["count"] for period in evidence["periods"])
    half = evidence["days"] / 2
    incident_notify_suggested(incident=incident, ticket=joining[0], text=note(
        "Suspected batch problem: %(product)s, fault tickets rose from %(before)d to %(recent)d "
        "(the %(half)g days before against the last %(half)g days)",
        product=incident.title, before=before, recent=recent, half=half,
    ))
    return incident
