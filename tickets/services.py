"""Every write to a ticket except its status (that is tickets/workflow.py).

Services are keyword-only, own their transaction, write the timeline event inside it and
return the object. Views, serializers and tasks validate input and call one of these.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from orders.models import Order, OrderItem

from .assignment import AUTO_ASSIGN_REASON, agent_for_new_ticket, assignment_event
from .models import Attachment, Message, Priority, RiskLevel, Status, Tag, Ticket, TicketEvent
from .search import SEARCH_TEXT_FIELDS, ticket_search_text
from .sla.clock import SLA_FIELDS, sla_after_change, sla_refresh
from .suggestions import CaseFacts, suggest
from .uploads import validate_upload
from .workflow import Action, ensure_version, ensure_writable, ticket_transition

# What a person may edit on a ticket after intake (status, assignee and money have their own services).
CLASSIFICATION_FIELDS = (
    "type", "category", "responsibility", "product_model", "symptom", "frequency", "description",
    "customer_request", "requested_amount", "purchase_date", "threatens_exposure", "platform_intervention",
)


def _recent_contacts(ticket: Ticket) -> int:
    since = timezone.now() - timedelta(days=settings.REPEAT_CONTACT_DAYS)
    return Ticket.objects.filter(customer_id=ticket.customer_id, created_at__gte=since).exclude(pk=ticket.pk).count()


# What _apply_suggestions sets.
SUGGESTED_FIELDS = ("priority", "priority_reasons", "risk_level", "risk_reasons")


def _apply_suggestions(ticket: Ticket) -> dict:
    """Re-suggest priority and risk unless a person has set them; return the changes made."""
    customer = ticket.customer
    suggestion = suggest(
        CaseFacts(
            ticket_type=ticket.type,
            channel=ticket.channel,
            threatens_exposure=ticket.threatens_exposure,
            platform_intervention=ticket.platform_intervention,
            customer_is_vip=customer.is_vip,
            customer_is_difficult=customer.is_difficult,
            recent_contacts=_recent_contacts(ticket),
            amount=ticket.requested_amount,
            amount_threshold=settings.RISK_AMOUNT_THRESHOLD,
        )
    )
    changes = {}
    if not ticket.priority_overridden:
        if ticket.priority != suggestion.priority:
            changes["priority"] = [ticket.priority, suggestion.priority]
        ticket.priority, ticket.priority_reasons = suggestion.priority, suggestion.priority_reasons
    if not ticket.risk_overridden:
        if ticket.risk_level != suggestion.risk:
            changes["risk_level"] = [ticket.risk_level, suggestion.risk]
        ticket.risk_level, ticket.risk_reasons = suggestion.risk, suggestion.risk_reasons
    return changes


def _items_of_order(order: Order | None, items: Iterable[OrderItem]) -> list[OrderItem]:
    items = list(items)
    if items and order is None:
        raise ValidationError({"affected_items": _("Affected items need the order they belong to.")})
    foreign = [item.pk for item in items if item.order_id != order.pk] if items else []
    if foreign:
        raise ValidationError(
            {
                "affected_items": _("Items %(ids)s are not part of order %(order)s.")
                % {"ids": ", ".join(map(str, foreign)), "order": order.external_number}
            }
        )
    return items


@transaction.atomic
def ticket_create(
    *,
    actor,
    channel: str,
    description: str,
    customer: Customer | None = None,
    order: Order | None = None,
    affected_items: Iterable[OrderItem] = (),
    tags: Iterable[str] = (),
    **fields,
) -> Ticket:
    """Take in a case (受理). `fields` are further Ticket fields (type, customer_request, ...)."""
    if customer is None and order is None:
        raise ValidationError({"customer": _("Name the customer or the order.")})
    if customer is None:
        customer = order.customer
    elif order is not None and order.customer_id != customer.pk:
        raise ValidationError({"order": _("Order %(order)s belongs to another customer.") % {"order": order}})
    items = _items_of_order(order, affected_items)
    if not description.strip():
        raise ValidationError({"description": _("Record the customer's own words.")})

    ticket = Ticket(channel=channel, description=description, customer=customer, order=order, **fields)
    ticket.search_text = ticket_search_text(ticket)
    # The check constraints hold by the field validators (choices, not negative); asking the database for
    # each would cost three round trips per constraint on every intake. The database still enforces them.
    ticket.full_clean(exclude=["number", "customer", "order"], validate_constraints=False)
    ticket.save()
    # What follows from the new row (number, suggestions, SLA clocks, assignee) is written back in one
    # UPDATE with its events in one INSERT: each UPDATE rewrites the row in all the ticket indexes.
    ticket.number = f"AS{ticket.pk:08d}"
    events = [TicketEvent(ticket=ticket, actor=actor, action="created", to_status=Status.NEW,
                          changes={"channel": [None, channel], **_apply_suggestions(ticket)})]
    ticket.resolution_started_at = ticket.created_at
    sla_changes = sla_refresh(ticket)
    if sla_changes:
        events.append(TicketEvent(ticket=ticket, actor=actor, action="sla_started", changes=sla_changes,
                                  reason=_("SLA clocks started at intake.")))
    agent = agent_for_new_ticket(ticket)
    if agent is not None:
        events.append(assignment_event(ticket, actor=None, assignee=agent, action="assigned",
                                       reason=AUTO_ASSIGN_REASON))
        ticket.assignee = agent
    ticket.save(update_fields=["number", *SUGGESTED_FIELDS, *SLA_FIELDS, "assignee", "updated_at"])
    TicketEvent.objects.bulk_create(events)
    if items:
        ticket.affected_items.set(items)
    if tags:
        ticket.tags.set(_tags_named(tags))
    return ticket


def _tags_named(names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({name.strip() for name in names if name.strip()})
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=cleaned)}
    missing = [Tag(name=name) for name in cleaned if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=cleaned))


@transaction.atomic
def ticket_classify(
    *, ticket: Ticket, actor, tags: Iterable[str] | None = None, reason: str = "", expected_version=None, **fields
) -> Ticket:
    """Set type, category, responsibility and the recorded facts; priority and risk are re-suggested."""
    unknown = set(fields) - set(CLASSIFICATION_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("customer").get(pk=ticket.pk)
    ensure_writable(ticket, "classify")
    ensure_version(ticket, expected_version)
    changes = {}
    for name, value in fields.items():
        if getattr(ticket, name) != value:
            changes[name] = [getattr(ticket, name), value]
            setattr(ticket, name, value)
    if changes.keys() & set(SEARCH_TEXT_FIELDS):  # the customer's words changed: re-cut them for search
        ticket.search_text = ticket_search_text(ticket)
    ticket.full_clean(exclude=["number", "customer", "order"])
    changes.update(_apply_suggestions(ticket))
    if tags is not None:
        old = sorted(ticket.tags.values_list("name", flat=True))
        new_tags = _tags_named(tags)
        if old != sorted(t.name for t in new_tags):
            ticket.tags.set(new_tags)
            changes["tags"] = [old, sorted(t.name for t in new_tags)]
    if not changes:
        return ticket
    ticket.save()
    TicketEvent.objects.create(ticket=ticket, actor=actor, action="classified", changes=changes, reason=reason)
    sla_after_change(ticket, actor=actor, reason=_("Classification changed."))
    return ticket


@transaction.atomic
def ticket_override_priority(*, ticket: Ticket, actor, priority: str, reason: str) -> Ticket:
    return _override(
        ticket=ticket, actor=actor, field="priority", value=priority, allowed=Priority.values, reason=reason
    )


@transaction.atomic
def ticket_override_risk(*, ticket: Ticket, actor, risk_level: str, reason: str) -> Ticket:
    return _override(
        ticket=ticket, actor=actor, field="risk_level", value=risk_level, allowed=RiskLevel.values, reason=reason
    )


def _override(*, ticket, actor, field, value, allowed, reason) -> Ticket:
    """A person overrides a suggested value; the rules stop touching it and the timeline says why."""
    if value not in allowed:
        raise ValidationError({field: _("Choose one of %(values)s.") % {"values": ", ".join(allowed)}})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why you override the suggestion.")})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, f"override {field}")
    flag = "priority_overridden" if field == "priority" else "risk_overridden"
    old = getattr(ticket, field)
    setattr(ticket, field, value)
    setattr(ticket, flag, True)
    ticket.save(update_fields=[field, flag, "updated_at"])
    TicketEvent.objects.create(ticket=ticket, actor=actor, action=flag, changes={field: [old, value]}, reason=reason)
    sla_after_change(ticket, actor=actor, reason=reason)
    return ticket


@transaction.atomic
def message_add(*, ticket: Ticket, actor, direction: str, body: str, channel: str = "") -> Message:
    """Record a message. The first reply to the customer stamps first response; a customer
    writing while we wait on them resumes the ticket (DESIGN: resume is automatic)."""
    if not body.strip():
        raise ValidationError({"body": _("The message is empty.")})
    if direction not in Message.Direction.values:
        raise ValidationError({"direction": _("Unknown direction.")})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, "add message")
    message = Message.objects.create(
        ticket=ticket, direction=direction, channel=channel or ticket.channel, body=body, author=actor
    )
    if direction == Message.Direction.OUTBOUND:
        # Our answer stops the response clocks that were running.
        was_first = ticket.first_response_at is None
        if was_first:
            ticket.first_response_at = message.created_at
            ticket.save(update_fields=["first_response_at", "updated_at"])
            TicketEvent.objects.create(ticket=ticket, actor=actor, action="first_response")
        if was_first or ticket.next_response_started_at is not None:
            ticket.next_response_started_at = None
            sla_after_change(ticket, actor=actor, reason=_("Answered the customer."))
    elif direction == Message.Direction.INBOUND:
        if ticket.status == Status.WAITING_CUSTOMER:
            ticket = ticket_transition(
                ticket=ticket, action=Action.RESUME, actor=None, reason=_("The customer replied.")
            )
        if ticket.is_open and ticket.first_response_at and ticket.next_response_started_at is None:
            # The customer wrote again: a next response is owed (DESIGN: next response after the customer writes).
            ticket.next_response_started_at = message.created_at
            sla_after_change(ticket, actor=None, action="sla_started", reason=_("The customer wrote: a reply is due."))
    return message


@transaction.atomic
def attachment_add(*, ticket: Ticket, actor, upload, message: Message | None = None, subtask=None) -> Attachment:
    content_type = validate_upload(upload)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, "attach evidence")
    attachment = Attachment(
        ticket=ticket,
        message=message,
        subtask=subtask,
        original_name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        uploaded_by=actor,
    )
    attachment.file.save(upload.name, upload, save=False)
    attachment.save()
    TicketEvent.objects.create(
        ticket=ticket, actor=actor, action="attachment_added", changes={"file": [None, attachment.original_name]}
    )
    return attachment


@transaction.atomic
def ticket_set_summary(
    *, ticket: Ticket, actor, root_cause: str | None = None, summary: str | None = None, what_worked: str | None = None
) -> Ticket:
    """The closing summary (root cause, what was done, what worked); archive requires all three.
    A part not given (None) keeps what is written."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, "write summary")
    given = {"root_cause": root_cause, "summary": summary, "what_worked": what_worked}
    parts = {field: getattr(ticket, field) if value is None else value.strip() for field, value in given.items()}
    if not any(parts.values()):
        raise ValidationError({"summary": _("The summary is empty.")})
    changed = {field: [getattr(ticket, field)[:200], value[:200]]
               for field, value in parts.items() if getattr(ticket, field) != value}
    for field in changed:
        setattr(ticket, field, parts[field])
    ticket.save(update_fields=[*changed, "updated_at"])
    TicketEvent.objects.create(ticket=ticket, actor=actor, action="summary_written", changes=changed)
    return ticket


@transaction.atomic
def ticket_create_with_evidence(*, actor, evidence=None, **fields) -> Ticket:
    """Intake with the customer's first photo or video: both or neither."""
    ticket = ticket_create(actor=actor, **fields)
    if evidence:
        attachment_add(ticket=ticket, actor=actor, upload=evidence)
    return ticket


@transaction.atomic
def message_add_with_attachment(*, ticket: Ticket, actor, direction: str, body: str, upload=None) -> Message:
    message = message_add(ticket=ticket, actor=actor, direction=direction, body=body)
    if upload:
        attachment_add(ticket=ticket, actor=actor, upload=upload, message=message)
    return message


@transaction.atomic
def tickets_bulk_update(
    *, ticket_ids: list[int], actor, action: str, assignee=None, priority: str = "", tag: str = "", reason: str = ""
) -> int:
    """A supervisor's bulk action on a queue selection: all tickets change, or none (one transaction)."""
    from .assignment import ticket_assign

    tickets = list(Ticket.objects.filter(pk__in=ticket_ids).order_by("pk"))
    for ticket in tickets:
        if action == "assign":
            ticket_assign(ticket=ticket, actor=actor, assignee=assignee, reason=reason)
        elif action == "priority":
            ticket_override_priority(ticket=ticket, actor=actor, priority=priority, reason=reason)
        elif action == "tag":
            names = [*ticket.tags.values_list("name", flat=True), tag]
            ticket_classify(ticket=ticket, actor=actor, tags=names, reason=reason)
        else:
            raise ValidationError({"action": _("Unknown bulk action.")})
    return len(tickets)
