"""Incidents (批量问题): confirm with one agreed reply, act on every member ticket at once, and reach
the customers who have not contacted us yet (seed 003: contact them before they complain). Detection,
which suggests the incidents, is in tickets/incidents/detect.py.

Who is reached is the incident's own scope: its product's orders placed (or shipped) within its
affected range, less the orders a supervisor excluded; never a customer who only bought before or
after the bad batch. Each customer gets the agreed reply once per incident: an IncidentContact row
(unique on incident and customer) is claimed in the same transaction as the ticket and the message,
so a second click, two supervisors at once or a retried task send nothing new.
A resolved (or dismissed) incident is a record: every service here refuses to change it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderItem, Product

from ..events import EventAction, event_build, events_record
from ..models import OPEN_STATUSES, Channel, Incident, IncidentContact, Message, Notification, Ticket, TicketEvent
from ..notes import Note
from ..notifications import notify_about_ticket
from ..outbound.sms import customer_link_text, sms_refusal
from ..policies import can_manage_incidents
from ..replies import render_reply, reply_placeholders
from ..services import message_add, ticket_create
from ..workflow import Action, TransitionRefused, ticket_transition


class IncidentRefused(ValidationError):
    """The incident itself refuses (not confirmed yet, resolved, dismissed): a bulk action stops there."""


@dataclass
class BulkReport:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # ticket (or order) id -> why
    skipped: dict[int, str] = field(default_factory=dict)  # already done before: nothing sent again


@dataclass(frozen=True)
class IncidentPreview:
    """What a proactive run would do, counted before anything is sent."""

    affected_from: datetime
    affected_to: datetime
    order_time: str
    orders: int  # the product's orders in the range (cancelled ones never count)
    customers: int
    in_contact_customers: int  # of those customers: a member ticket already, or the agreed reply sent
    excluded_orders: int  # in the range, ruled out by a supervisor
    to_contact_customers: int  # proactive tickets the next run opens (one per customer)
    to_contact_orders: int
    replied_customers: int  # customers the agreed reply reached in this incident (member or proactive)
    proactive_tickets: int  # of those, on a ticket we opened


# Access to the incident's own state ---------------------------------------------------------------


def _refuse_unless_open(incident: Incident) -> None:
    if incident.status == Incident.Status.RESOLVED:
        raise IncidentRefused({"status": _("This incident is resolved: it can no longer be changed.")})
    if incident.status == Incident.Status.DISMISSED:
        raise IncidentRefused({"status": _("This incident was dismissed: it can no longer be changed.")})


def _lock(incident: Incident, *, confirmed: bool = False) -> Incident:
    """The incident's row, locked until the caller's transaction ends, and checked.

    Every write on an incident takes this lock first (then member tickets, never the other way
    round): resolving waits for a reply or proactive ticket in flight, and whatever comes after
    the resolution reads it and refuses.
    """
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    _refuse_unless_open(locked)
    if confirmed and locked.status != Incident.Status.CONFIRMED:
        raise IncidentRefused({"status": _("Confirm the incident and its agreed reply first.")})
    return locked


def _why(refusal: Exception) -> str:
    return "; ".join(refusal.messages) if isinstance(refusal, ValidationError) else str(refusal)


def _event(ticket: Ticket, *, actor, incident: Incident, kind: EventAction) -> TicketEvent:
    return event_build(
        ticket=ticket, actor=actor, action=kind.value, changes={"incident": [None, incident.pk]}, reason=incident.title
    )


# Confirmation and scope ---------------------------------------------------------------------------


@transaction.atomic
def incident_confirm(*, incident: Incident, actor, agreed_reply: str, plan: str = "") -> Incident:
    incident = _lock(incident)
    if not agreed_reply.strip():
        raise ValidationError({"agreed_reply": _("Write the agreed reply every customer will get.")})
    # The scope the supervisor saw is the scope that is reached: detection keeps stretching the
    # window while complaints come in, the affected range no longer follows it once confirmed.
    affected_from, affected_to = incident.affected_range
    Incident.status_flow.move(incident, Incident.Status.CONFIRMED, agreed_reply=agreed_reply, plan=plan,
                              confirmed_by=actor, affected_from=affected_from, affected_to=affected_to)
    return incident


@transaction.atomic
def incident_set_scope(
    *, incident: Incident, actor, affected_from: datetime | None, affected_to: datetime | None, affected_order_time: str
) -> Incident:
    """Which orders the incident reaches: placed (or shipped) from `affected_from` to `affected_to`.
    An empty end falls back to the incident's window."""
    incident = _lock(incident)
    if affected_order_time not in Incident.OrderTime.values:
        raise ValidationError({"affected_order_time": _("Choose placed or shipped.")})
    incident.affected_from, incident.affected_to, incident.affected_order_time = (
        affected_from,
        affected_to,
        affected_order_time,
    )
    start, end = incident.affected_range
    if start > end:
        raise ValidationError({"affected_to": _("The affected range must not end before it starts.")})
    incident.save(update_fields=["affected_from", "affected_to", "affected_order_time"])
    return incident


@transaction.atomic
def incident_update_exclusions(
    *, incident: Incident, actor, exclude: Iterable[int] = (), include: Iterable[int] = ()
) -> Incident:
    """Rule orders of the affected range out (they never get a proactive ticket), or take them back in."""
    incident = _lock(incident)
    excluding = list(incident_affected_orders(incident).filter(pk__in=list(exclude)).values_list("pk", flat=True))
    including = list(incident.excluded_orders.filter(pk__in=list(include)).values_list("pk", flat=True))
    if not excluding and not including:
        raise ValidationError({"orders": _("Choose orders from the list.")})
    incident.excluded_orders.add(*excluding)
    incident.excluded_orders.remove(*including)
    return incident


def incident_notify_suggested(*, incident: Incident, ticket: Ticket, text: Note) -> None:
    """Tell every active supervisor that detection suggested `incident` (`ticket`: its first member, which
    the notice is filed under). Keyed on the incident: a later run that extends it tells nobody again."""
    notify_about_ticket(
        ticket=ticket, kind=Notification.Kind.INCIDENT_SUGGESTED, data={"incident": incident.pk, "note": text.parts},
        key=f"incident-suggested:{incident.pk}", assignee=False, supervisors=True,
    )


@transaction.atomic
def incident_edit(*, incident: Incident, actor, title: str, product: Product | None) -> Incident:
    """Rename the incident or point it at another product (one opened by hand takes both from its tickets)."""
    _refuse_supervisor(actor)
    incident = _lock(incident)
    if not title.strip():
        raise ValidationError({"title": _("Give the incident a title.")})
    incident.title, incident.product = title.strip(), product
    try:
        with transaction.atomic():
            incident.save(update_fields=["title", "product"])
    except IntegrityError:
        raise ValidationError({"product": _(
            "Another open incident covers this product and category: add the tickets to it instead.")}) from None
    return incident


# Opened by hand from chosen tickets ---------------------------------------------------------------


def _refuse_supervisor(actor) -> None:
    if not can_manage_incidents(actor):
        raise PermissionDenied


def _in_other_incident(ticket_ids: list[int], *, but: Incident | None = None) -> dict[int, str]:
    """Chosen tickets already members of another open incident: ticket id -> why (they are left alone)."""
    Through = Incident.tickets.through
    rows = Through.objects.filter(ticket_id__in=ticket_ids, incident__status__in=[
        Incident.Status.SUGGESTED, Incident.Status.CONFIRMED])
    if but is not None:
        rows = rows.exclude(incident_id=but.pk)
    return {
        ticket_id: _("Already in the incident “%(incident)s”: left there.") % {"incident": title}
        for ticket_id, title in rows.values_list("ticket_id", "incident__title").order_by("ticket_id")
    }


def _join(incident: Incident, tickets: list[Ticket], *, actor) -> None:
    incident.tickets.add(*tickets)
    events_record([_event(ticket, actor=actor, incident=incident, kind=EventAction.INCIDENT_JOINED)
                   for ticket in tickets])


def _chosen(ticket_ids: list[int], report: BulkReport) -> list[Ticket]:
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids).order_by("created_at", "pk"))
    found = {ticket.pk for ticket in tickets}
    for missing in sorted(set(ticket_ids) - found):
        report.refused[missing] = _("No such ticket.")
    return tickets


@transaction.atomic
def incident_open_from_tickets(*, ticket_ids: list[int], actor) -> tuple[Incident, BulkReport]:
    """Open an incident from tickets a supervisor chose on the queue, in one transaction. Its product
    and category are the ones most of the tickets share (their affected items), its title the product's
    (both editable on its page). Tickets already in another open incident are reported and left there;
    when none is left, or another open incident covers the same product and category, nothing is made."""
    _refuse_supervisor(actor)
    report = BulkReport()
    report.refused.update(_in_other_incident(ticket_ids))
    tickets = [t for t in _chosen(ticket_ids, report) if t.pk not in report.refused]
    if not tickets:
        raise ValidationError(_("Every chosen ticket is already in an open incident (or does not exist)."))
    ids = [t.pk for t in tickets]
    Through = Ticket.affected_items.through
    top = (Through.objects.filter(ticket_id__in=ids).values("orderitem__product_id")
           .annotate(n=Count("ticket_id", distinct=True)).order_by("-n", "orderitem__product_id").first())
    product = Product.objects.get(pk=top["orderitem__product_id"]) if top else None
    categories = [t.category for t in tickets if t.category]
    category = max(sorted(set(categories)), key=categories.count) if categories else ""
    title = f"{product.sku} {product.name}" if product else _("Incident from %(count)d tickets") % {"count": len(ids)}
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=title[:200],
                cause=Incident.Cause.PRODUCT_DEFECT if product else Incident.Cause.OTHER,
                origin=Incident.Origin.MANUAL,
                evidence={"tickets": len(ids), "by": actor.get_username()},
                product=product,
                category=category,
                window_start=tickets[0].created_at,
                window_end=tickets[-1].created_at,
            )
    except IntegrityError:
        other = Incident.objects.filter(product=product, category=category, status__in=[
            Incident.Status.SUGGESTED, Incident.Status.CONFIRMED]).first()
        raise ValidationError(_("The open incident “%(incident)s” already covers this product and category: "
                                "add the tickets to it instead.") % {"incident": other.title if other else "—"}
                              ) from None
    _join(incident, tickets, actor=actor)
    report.done.extend(ids)
    return incident, report


@transaction.atomic
def incident_add_tickets(*, incident: Incident, ticket_ids: list[int], actor) -> BulkReport:
    """Add tickets a supervisor chose to an open incident (suggested or confirmed), in one transaction;
    members already are skipped, tickets in another open incident reported and left there."""
    _refuse_supervisor(actor)
    incident = _lock(incident)
    report = BulkReport()
    report.refused.update(_in_other_incident(ticket_ids, but=incident))
    members = set(incident.tickets.filter(pk__in=ticket_ids).values_list("pk", flat=True))
    joining = []
    for ticket in _chosen(ticket_ids, report):
        if ticket.pk in report.refused:
            continue
        if ticket.pk in members:
            report.skipped[ticket.pk] = _("Already a member of this incident.")
            continue
        joining.append(ticket)
    _join(incident, joining, actor=actor)
    report.done.extend(t.pk for t in joining)
    return report


# Who is affected ----------------------------------------------------------------------------------


def incident_affected_orders(incident: Incident) -> QuerySet[Order]:
    """The incident's product's orders placed (or shipped) within its affected range; cancelled
    orders never reached the customer. No product: no scope (a courier incident reaches its members only)."""
    if incident.product_id is None:
        return Order.objects.none()
    start, end = incident.affected_range
    at = "shipped_at" if incident.affected_order_time == Incident.OrderTime.SHIPPED else "placed_at"
    return (
        Order.objects.filter(**{f"{at}__gte": start, f"{at}__lte": end})
        .exclude(status=Order.Status.CANCELLED)
        .filter(Exists(OrderItem.objects.filter(order=OuterRef("pk"), product_id=incident.product_id)))
    )


def _with_contact_flags(orders: QuerySet[Order], incident: Incident) -> QuerySet[Order]:
    Excluded = Incident.excluded_orders.through
    return orders.alias(
        excluded=Exists(Excluded.objects.filter(incident_id=incident.pk, order_id=OuterRef("pk"))),
        member=Exists(Ticket.objects.filter(incidents=incident, customer_id=OuterRef("customer_id"))),
        reached=Exists(IncidentContact.objects.filter(incident=incident, customer_id=OuterRef("customer_id"))),
    )


IN_CONTACT = Q(member=True) | Q(reached=True)
TO_CONTACT = Q(excluded=False, member=False, reached=False)


def incident_unreached_orders(*, incident: Incident) -> QuerySet[Order]:
    """Affected orders, not excluded, whose customers have no member ticket and have not been reached."""
    return (
        _with_contact_flags(incident_affected_orders(incident), incident)
        .filter(TO_CONTACT)
        .select_related("customer")
        .order_by("placed_at", "id")
    )


def incident_excluded_orders(incident: Incident) -> QuerySet[Order]:
    return incident.excluded_orders.select_related("customer").order_by("placed_at", "id")


def incident_preview(*, incident: Incident) -> IncidentPreview:
    """The counts a supervisor reads before sending anything (two queries)."""
    start, end = incident.affected_range
    counts = _with_contact_flags(incident_affected_orders(incident), incident).aggregate(
        orders=Count("pk"),
        customers=Count("customer_id", distinct=True),
        in_contact_customers=Count("customer_id", distinct=True, filter=IN_CONTACT),
        excluded_orders=Count("pk", filter=Q(excluded=True)),
        to_contact_customers=Count("customer_id", distinct=True, filter=TO_CONTACT),
        to_contact_orders=Count("pk", filter=TO_CONTACT),
    )
    contacts = IncidentContact.objects.filter(incident=incident, replied_at__isnull=False).aggregate(
        replied_customers=Count("pk"), proactive_tickets=Count("pk", filter=Q(proactive=True))
    )
    return IncidentPreview(
        affected_from=start, affected_to=end, order_time=incident.affected_order_time, **counts, **contacts
    )


def incidents_of_ticket(ticket: Ticket) -> list[Incident]:
    """The incidents a ticket belongs to, for its page (one query)."""
    return list(Incident.objects.filter(tickets=ticket).only("pk", "title", "status").order_by("-created_at", "-id"))


# Sending: once per customer and incident ----------------------------------------------------------


def _claim(incident: Incident, *, customer_id: int, actor, proactive: bool) -> IncidentContact | None:
    """Insert the customer's contact row, or None when it exists: the unique constraint, not a read
    before the write, decides. On PostgreSQL a concurrent claim waits for the first transaction and
    then fails; if that one rolled back (nothing sent), this claim goes through."""
    try:
        with transaction.atomic():
            return IncidentContact.objects.create(
                incident=incident, customer_id=customer_id, proactive=proactive, created_by=actor
            )
    except IntegrityError:
        return None


def _send_agreed_reply(incident: Incident, *, ticket: Ticket, actor, contact: IncidentContact) -> None:
    message = message_add(
        ticket=ticket,
        actor=actor,
        direction=Message.Direction.OUTBOUND,
        body=render_reply(incident.agreed_reply, reply_placeholders(ticket, actor)),
    )
    _event(ticket, actor=actor, incident=incident, kind=EventAction.INCIDENT_REPLY_SENT).save()
    contact.ticket, contact.replied_at = ticket, message.created_at
    contact.save(update_fields=["ticket", "replied_at"])


def _already_replied(ticket_number: str | None = None) -> str:
    if ticket_number is None:  # another run reached the customer after this one read its list
        return _("The customer got the agreed reply from another run a moment ago.")
    return _("The customer already got the agreed reply (ticket %(ticket)s).") % {"ticket": ticket_number}


def incident_reply_all(*, incident: Incident, actor) -> BulkReport:
    """Send the agreed reply on every open member ticket whose customer has not had it in this incident.
    Each ticket in its own transaction; refusals are reported, not fatal."""
    with transaction.atomic():
        _lock(incident, confirmed=True)
    report = BulkReport()
    replied = dict(IncidentContact.objects.filter(incident=incident).values_list("customer_id", "ticket__number"))
    members = incident.tickets.filter(status__in=OPEN_STATUSES).select_related("customer", "order").order_by("pk")
    for ticket in members:
        if ticket.customer_id in replied:
            report.skipped[ticket.pk] = _already_replied(replied[ticket.customer_id])
            continue
        with transaction.atomic():
            locked = _lock(incident, confirmed=True)
            try:
                with transaction.atomic():  # a refused ticket leaves no claim behind: nothing was sent
                    contact = _claim(locked, customer_id=ticket.customer_id, actor=actor, proactive=False)
                    if contact is not None:
                        _send_agreed_reply(locked, ticket=ticket, actor=actor, contact=contact)
            except (TransitionRefused, ValidationError) as refusal:
                report.refused[ticket.pk] = _why(refusal)
                continue
        if contact is None:  # reached by a concurrent run since the list was read
            report.skipped[ticket.pk] = _already_replied()
            continue
        replied[ticket.customer_id] = ticket.number
        report.done.append(ticket.pk)
    return report


def _still_reachable(incident: Incident, order: Order) -> bool:
    # Read again under the incident's lock: the range, the exclusions and the members may have changed
    # since the list was read (another supervisor, another run, detection).
    return incident_unreached_orders(incident=incident).filter(pk=order.pk).exists()


def _text_link(ticket: Ticket, *, actor, site: str) -> None:
    """A proactive ticket reaches the customer on no channel of its own: their link goes by SMS when it can.
    A refusal (the number's texts for the hour used up) is noted on the ticket; the run goes on."""
    if not site or sms_refusal(ticket):
        return
    try:
        with transaction.atomic():
            customer_link_text(ticket=ticket, actor=actor, site=site)
    except ValidationError as refusal:
        message_add(ticket=ticket, actor=None, direction=Message.Direction.NOTE,
                    body=_("The customer link was not texted: %(why)s") % {"why": _why(refusal)})


def _open_proactive_ticket(incident: Incident, *, order: Order, actor, site: str = "") -> Ticket | None:
    contact = _claim(incident, customer_id=order.customer_id, actor=actor, proactive=True)
    if contact is None:
        return None
    ticket = ticket_create(
        actor=actor,
        channel=Channel.OTHER,
        order=order,
        affected_items=OrderItem.objects.filter(order=order, product_id=incident.product_id),
        description=_("Proactive contact about: %(incident)s") % {"incident": incident.title},
        category=incident.category,
    )
    incident.tickets.add(ticket)
    _event(ticket, actor=actor, incident=incident, kind=EventAction.INCIDENT_PROACTIVE_OPENED).save()
    _send_agreed_reply(incident, ticket=ticket, actor=actor, contact=contact)
    _text_link(ticket, actor=actor, site=site)
    return ticket


def incident_open_proactive(*, incident: Incident, actor, limit: int = 500, site: str = "") -> BulkReport:
    """Open a ticket for each customer of the affected orders not yet in contact, with the agreed reply
    sent first: one ticket per customer (their earliest affected order), at most `limit` per run. `site`
    (the desk's address, e.g. https://desk.example.com/): the customer's link is texted too when SMS can.
    Each customer in its own transaction; the next run goes on where this one stopped."""
    with transaction.atomic():
        incident = _lock(incident, confirmed=True)
    report = BulkReport()
    seen: set[int] = set()
    for order in incident_unreached_orders(incident=incident):
        if len(report.done) >= limit:
            break
        if order.customer_id in seen:
            continue
        seen.add(order.customer_id)
        try:
            with transaction.atomic():
                locked = _lock(incident, confirmed=True)
                if not _still_reachable(locked, order):
                    report.skipped[order.pk] = _("Excluded, out of range or in contact by now.")
                    continue
                ticket = _open_proactive_ticket(locked, order=order, actor=actor, site=site)
        except IncidentRefused:
            raise
        except (TransitionRefused, ValidationError) as refusal:
            report.refused[order.pk] = _why(refusal)
            continue
        if ticket is None:
            report.skipped[order.pk] = _already_replied()
        else:
            report.done.append(ticket.pk)
    return report


# Resolution -------------------------------------------------------------------------------------


@transaction.atomic
def incident_resolve_all(*, incident: Incident, actor, reason: str) -> BulkReport:
    """Resolve every open member ticket, then the incident once none is left open (who and when recorded).

    The incident's row stays locked throughout: a reply or proactive run in flight finishes first, and
    whatever comes later reads "resolved" and refuses. A member that cannot be resolved (still new, a
    department still working) is reported and keeps the incident confirmed; nothing else is undone.
    """
    incident = _lock(incident, confirmed=True)
    report = BulkReport()
    for ticket in incident.tickets.filter(status__in=OPEN_STATUSES).order_by("pk"):
        try:
            with transaction.atomic():
                ticket_transition(ticket=ticket, action=Action.RESOLVE, actor=actor, reason=reason)
                _event(ticket, actor=actor, incident=incident, kind=EventAction.INCIDENT_RESOLVED).save()
            report.done.append(ticket.pk)
        except (TransitionRefused, ValidationError) as refusal:
            report.refused[ticket.pk] = _why(refusal)
    if not incident.tickets.filter(status__in=OPEN_STATUSES).exists():
        Incident.status_flow.move(incident, Incident.Status.RESOLVED, resolved_by=actor, resolved_at=timezone.now())
    return report
