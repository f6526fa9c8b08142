"""Incidents (批量问题): detect, confirm with one agreed reply, act on every member ticket at once,
and reach the customers who have not contacted us yet (seed 003: contact them before they complain)."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderItem, Product

from .models import OPEN_STATUSES, Channel, Incident, Message, Ticket, TicketEvent
from .replies import render_reply, reply_placeholders
from .services import message_add, ticket_create
from .workflow import TransitionRefused, ticket_transition


@dataclass
class BulkReport:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # ticket id -> why


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


@transaction.atomic
def _suggest(product_id, category, since, now) -> Incident:
    incident = Incident.objects.filter(
        product_id=product_id, category=category, status__in=[Incident.Status.SUGGESTED, Incident.Status.CONFIRMED]
    ).first()
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
            incident = Incident.objects.get(
                product_id=product_id,
                category=category,
                status__in=[Incident.Status.SUGGESTED, Incident.Status.CONFIRMED],
            )
    members = Ticket.objects.filter(
        created_at__gte=since, category=category, affected_items__product_id=product_id
    ).distinct()
    incident.tickets.add(*members)
    Incident.objects.filter(pk=incident.pk).update(window_end=now)
    return incident


@transaction.atomic
def incident_confirm(*, incident: Incident, actor, agreed_reply: str, plan: str = "") -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status not in (Incident.Status.SUGGESTED, Incident.Status.CONFIRMED):
        raise ValidationError({"status": _("This incident is closed.")})
    if not agreed_reply.strip():
        raise ValidationError({"agreed_reply": _("Write the agreed reply every customer will get.")})
    incident.status, incident.agreed_reply, incident.plan, incident.confirmed_by = (
        Incident.Status.CONFIRMED,
        agreed_reply,
        plan,
        actor,
    )
    incident.save()
    return incident


def _for_each_member(incident: Incident, action) -> BulkReport:
    """Each member ticket in its own transaction; refusals are reported, not fatal."""
    report = BulkReport()
    for ticket in incident.tickets.select_related("customer", "order").filter(status__in=OPEN_STATUSES):
        try:
            with transaction.atomic():
                action(ticket)
                TicketEvent.objects.create(
                    ticket=ticket, action="incident_action", changes={"incident": [None, incident.pk]}
                )
            report.done.append(ticket.pk)
        except (TransitionRefused, ValidationError) as refusal:
            report.refused[ticket.pk] = str(refusal)
    return report


def incident_reply_all(*, incident: Incident, actor) -> BulkReport:
    if incident.status != Incident.Status.CONFIRMED:
        raise ValidationError({"status": _("Confirm the incident and its agreed reply first.")})
    return _for_each_member(
        incident,
        lambda t: message_add(
            ticket=t,
            actor=actor,
            direction=Message.Direction.OUTBOUND,
            body=render_reply(incident.agreed_reply, reply_placeholders(t, actor)),
        ),
    )


def incident_resolve_all(*, incident: Incident, actor, reason: str) -> BulkReport:
    report = _for_each_member(
        incident, lambda t: ticket_transition(ticket=t, action="resolve", actor=actor, reason=reason)
    )
    if not incident.tickets.filter(status__in=OPEN_STATUSES).exists():
        Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.RESOLVED)
    return report


def incident_unreached_orders(*, incident: Incident, days: int = 30):
    """Orders with the incident's product, placed recently, whose customers have not opened a ticket."""
    since = incident.window_end - timedelta(days=days)
    contacted = Ticket.objects.filter(customer=OuterRef("customer"), incidents=incident)
    return (
        Order.objects.filter(placed_at__gte=since, items__product_id=incident.product_id)
        .filter(~Exists(contacted))
        .select_related("customer")
        .distinct()
        .order_by("placed_at")
    )


def incident_open_proactive(*, incident: Incident, actor, limit: int = 500) -> BulkReport:
    """Open a ticket for each customer not yet in contact, with the agreed reply sent first."""
    if incident.status != Incident.Status.CONFIRMED:
        raise ValidationError({"status": _("Confirm the incident and its agreed reply first.")})
    report = BulkReport()
    for order in incident_unreached_orders(incident=incident)[:limit]:
        with transaction.atomic():
            items = OrderItem.objects.filter(order=order, product_id=incident.product_id)
            ticket = ticket_create(
                actor=actor,
                channel=Channel.OTHER,
                order=order,
                affected_items=items,
                description=_("Proactive contact about: %(incident)s") % {"incident": incident.title},
                category=incident.category,
            )
            message_add(
                ticket=ticket,
                actor=actor,
                direction=Message.Direction.OUTBOUND,
                body=render_reply(incident.agreed_reply, reply_placeholders(ticket, actor)),
            )
            incident.tickets.add(ticket)
        report.done.append(ticket.pk)
    return report
