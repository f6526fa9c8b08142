"""Every write to a ticket except its status (that is tickets/workflow.py).

Services are keyword-only, own their transaction, write the timeline event inside it and
return the object. Views, serializers and tasks validate input and call one of these.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.limits import validate_text_length
from customers.models import Customer
from customers.services import Caller, customer_find_or_create
from orders.models import Order, OrderItem

from .assignment import AUTO_ASSIGN_NOTE, NewTicketAgents, assignment_event
from .events import event_build, event_record, events_record
from .models import Attachment, Message, Priority, RiskLevel, Status, Tag, Ticket
from .notes import note
from .outbound.service import deliveries_plan
from .search import SEARCH_TEXT_FIELDS, ticket_search_text
from .sla.bulk import bulk_update_tickets, sla_checks_save
from .sla.clock import SLA_COLUMNS, SLAContext, sla_after_change, sla_refresh
from .suggestions import CaseFacts, exposure_words_in, suggest
from .uploads import validate_upload
from .workflow import Action, ticket_lock_for_write, ticket_transition

# What a person may edit on a ticket after intake (status, assignee and money have their own services).
CLASSIFICATION_FIELDS = (
    "type", "category", "responsibility", "product_model", "symptom", "frequency", "description",
    "customer_request", "requested_amount", "purchase_date", "threatens_exposure", "platform_intervention",
)


def _repeat_contacts(ticket: Ticket) -> int:
    """The customer's earlier tickets about the same matter within REPEAT_CONTACT_DAYS: the same order, or
    without one the same type and category. An unclassified contact without an order repeats nothing."""
    if ticket.order_id is not None:
        same_matter = Q(order_id=ticket.order_id)
    elif ticket.type and ticket.category:
        same_matter = Q(order__isnull=True, type=ticket.type, category=ticket.category)
    else:
        return 0
    since = timezone.now() - timedelta(days=settings.REPEAT_CONTACT_DAYS)
    earlier = Ticket.objects.filter(same_matter, customer_id=ticket.customer_id, created_at__gte=since)
    return earlier.exclude(pk=ticket.pk).count()


def _same_matter(ticket) -> tuple | None:
    """What _repeat_contacts matches a ticket on (None: an unclassified contact without an order)."""
    if ticket.order_id is not None:
        return ("order", ticket.order_id)
    return ("classified", ticket.type, ticket.category) if ticket.type and ticket.category else None


def _repeat_contacts_of_new(tickets: list[Ticket]) -> dict[int, int]:
    """_repeat_contacts of tickets just inserted, in one query for a whole batch: a ticket counts the matching
    tickets made before it (a lower id), as if the batch had been taken in one ticket after the other."""
    asked = [ticket for ticket in tickets if _same_matter(ticket) is not None]
    earlier_ids: dict[tuple, list[int]] = {}
    if asked:
        since = timezone.now() - timedelta(days=settings.REPEAT_CONTACT_DAYS)
        same_order = Q(order_id__in={ticket.order_id for ticket in asked if ticket.order_id is not None})
        same_class = Q(order__isnull=True, type__in={ticket.type for ticket in asked},
                       category__in={ticket.category for ticket in asked})
        earlier = Ticket.objects.filter(same_order | same_class, created_at__gte=since,
                                        customer_id__in={ticket.customer_id for ticket in asked})
        for row in earlier.values_list("pk", "customer_id", "order_id", "type", "category", named=True):
            earlier_ids.setdefault((row.customer_id, _same_matter(row)), []).append(row.pk)
    return {ticket.pk: sum(pk < ticket.pk for pk in earlier_ids.get((ticket.customer_id, _same_matter(ticket)), ()))
            for ticket in tickets}


# What _apply_suggestions sets.
SUGGESTED_FIELDS = ("priority", "priority_reasons", "risk_level", "risk_reasons")


def _apply_suggestions(ticket: Ticket, *, repeat_contacts: int | None = None) -> dict:
    """Re-suggest priority and risk unless a person has set them; return the changes made. `repeat_contacts`:
    counted already (a batch of new tickets counts them in one query)."""
    customer = ticket.customer
    suggestion = suggest(
        CaseFacts(
            ticket_type=ticket.type,
            channel=ticket.channel,
            threatens_exposure=ticket.threatens_exposure,
            platform_intervention=ticket.platform_intervention,
            customer_is_vip=customer.is_vip,
            customer_is_difficult=customer.is_difficult,
            exposure_words=exposure_words_in(ticket.description, ticket.customer_request),
            repeat_contacts=_repeat_contacts(ticket) if repeat_contacts is None else repeat_contacts,
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
    caller: Caller | None = None,
    order: Order | None = None,
    affected_items: Iterable[OrderItem] = (),
    tags: Iterable[str] = (),
    evidence=None,
    type: str = "",  # noqa: A002 - the ticket's own field name
    category: str = "",
    customer_request: str = "",
    requested_amount: Decimal | None = None,
    product_model: str = "",
    purchase_date: date | None = None,
    symptom: str = "",
    frequency: str = "",
    threatens_exposure: bool = False,
    platform_intervention: bool = False,
    platform_deadline_at: datetime | None = None,
    external_source: str = "",
    external_id: str = "",
    owner=None,
) -> Ticket:
    """Take in a case (受理): the customer (named, found by the caller's phone, or new), the order and its
    affected items, the customer's words and the facts recorded, the first evidence, the events — all in
    one transaction, for the browser, the API, the platform webhook and the desk's own proactive tickets.
    A new ticket always starts as new (its status is not an argument). Long only by its signature: every
    fact an intake records is a keyword. `owner`: the agent who took the contact keeps the case; None
    (machine intake, or the agent's choice) leaves it to automatic assignment."""
    if customer is None and order is None and caller is not None:
        customer = customer_find_or_create(name=caller.name, phone=caller.phone, platform=caller.platform)
    if customer is None and order is None:
        raise ValidationError({"customer": _("Name the customer or the order.")})
    if customer is None:
        customer = order.customer
    items = _items_of_order(order, affected_items)
    ticket = ticket_build(
        channel=channel, description=description, customer=customer, order=order, type=type, category=category,
        customer_request=customer_request, requested_amount=requested_amount, product_model=product_model,
        purchase_date=purchase_date, symptom=symptom, frequency=frequency, threatens_exposure=threatens_exposure,
        platform_intervention=platform_intervention, platform_deadline_at=platform_deadline_at,
        external_source=external_source, external_id=external_id,
    )
    ticket.save()
    tickets_start([ticket], actor=actor, owner=owner)
    if items:
        ticket.affected_items.set(items)
    if tags:
        ticket.tags.set(_tags_named(tags))
    if evidence:
        attachment_add(ticket=ticket, actor=actor, upload=evidence)
    return ticket


def ticket_build(
    *,
    channel: str,
    description: str,
    customer: Customer,
    order: Order | None,
    type: str = "",  # noqa: A002 - the ticket's own field name
    category: str = "",
    customer_request: str = "",
    requested_amount: Decimal | None = None,
    product_model: str = "",
    purchase_date: date | None = None,
    symptom: str = "",
    frequency: str = "",
    threatens_exposure: bool = False,
    platform_intervention: bool = False,
    platform_deadline_at: datetime | None = None,
    external_source: str = "",
    external_id: str = "",
) -> Ticket:
    """A new ticket checked and ready to insert (no query): ticket_create's for one, the intake worker's for a
    batch (bulk_create); then tickets_start gives them what follows from the new rows."""
    if order is not None and order.customer_id != customer.pk:
        raise ValidationError({"order": _("Order %(order)s belongs to another customer.") % {"order": order}})
    if not description.strip():
        raise ValidationError({"description": _("Record the customer's own words.")})
    validate_text_length(description, field="description")
    ticket = Ticket(
        channel=channel, description=description, customer=customer, order=order, type=type, category=category,
        customer_request=customer_request, requested_amount=requested_amount, product_model=product_model,
        purchase_date=purchase_date, symptom=symptom, frequency=frequency, threatens_exposure=threatens_exposure,
        platform_intervention=platform_intervention, platform_deadline_at=platform_deadline_at,
        external_source=external_source, external_id=external_id,
    )
    ticket.search_text = ticket_search_text(ticket)
    # The check constraints hold by the field validators (choices, not negative); asking the database for
    # each would cost three round trips per constraint on every intake. The database still enforces them.
    ticket.full_clean(exclude=["number", "customer", "order"], validate_constraints=False)
    return ticket


def tickets_start(tickets: list[Ticket], *, actor, owner=None) -> None:
    """What follows from new ticket rows, inserted in the caller's transaction: the number, the suggested
    priority and risk, the SLA clocks, the assignee (`owner`, or the least-loaded agent) and their events.
    The same rules for one ticket (ticket_create) and for a batch (the intake worker): written back in one
    UPDATE and one INSERT of events however many tickets there are (each UPDATE rewrites the row in all the
    ticket indexes; per-ticket statements would make a batch cost what single intakes cost)."""
    repeats = _repeat_contacts_of_new(tickets)
    now = timezone.now()
    context = SLAContext.load(now)
    agents = NewTicketAgents()
    events = []
    for ticket in tickets:
        ticket.number = f"AS{ticket.pk:08d}"
        events.append(event_build(ticket=ticket, actor=actor, action="created", to_status=Status.NEW,
                                  changes={"channel": [None, ticket.channel],
                                           **_apply_suggestions(ticket, repeat_contacts=repeats[ticket.pk])}))
        ticket.resolution_started_at = ticket.created_at
        ticket.sla_next_check_at = None  # a new row has no check yet (not looked up)
        sla_changes = sla_refresh(ticket, now=now, context=context)
        if sla_changes:
            events.append(event_build(ticket=ticket, actor=actor, action="sla_started", changes=sla_changes,
                                      reason=note("SLA clocks started at intake.")))
        if owner is not None:
            events.append(assignment_event(ticket, actor=owner, assignee=owner, action="taken_at_intake", reason=""))
            ticket.assignee = owner
        elif (agent := agents.pick(ticket)) is not None:
            events.append(assignment_event(ticket, actor=None, assignee=agent, action="assigned",
                                           reason=note(AUTO_ASSIGN_NOTE)))
            ticket.assignee = agent
        # As save() would: a new version, the time of the change.
        ticket.version += 1
        ticket.updated_at = timezone.now()
    agents.count_picks()
    bulk_update_tickets(tickets, ["number", *SUGGESTED_FIELDS, *SLA_COLUMNS, "assignee", "version", "updated_at"])
    sla_checks_save(tickets)
    events_record(events)


def messages_add_at_intake(messages: list[tuple[Ticket, str]]) -> None:
    """The first evidence of tickets just made (the intake worker's batch), as message_add records an inbound
    message: on a new ticket no clock starts or resumes (nothing was answered yet), so each is only its row,
    all in one INSERT."""
    rows = []
    for ticket, body in messages:
        validate_text_length(body, field="body")
        rows.append(Message(ticket=ticket, direction=Message.Direction.INBOUND, channel=ticket.channel, body=body))
    Message.objects.bulk_create(rows)


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
    for name in ("description", "customer_request", "symptom"):
        if fields.get(name):
            validate_text_length(fields[name], field=name)
    ticket = ticket_lock_for_write(ticket, action="classify", expected_version=expected_version, related=("customer",))
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
    event_record(ticket=ticket, actor=actor, action="classified", changes=changes, reason=reason)
    sla_after_change(ticket, actor=actor, reason=note("Classification changed."))
    return ticket


@transaction.atomic
def ticket_override_priority(*, ticket: Ticket, actor, priority: str, reason: str, expected_version=None) -> Ticket:
    return _override(ticket=ticket, actor=actor, field="priority", value=priority, allowed=Priority.values,
                     reason=reason, expected_version=expected_version)


@transaction.atomic
def ticket_override_risk(*, ticket: Ticket, actor, risk_level: str, reason: str, expected_version=None) -> Ticket:
    return _override(ticket=ticket, actor=actor, field="risk_level", value=risk_level, allowed=RiskLevel.values,
                     reason=reason, expected_version=expected_version)


@transaction.atomic
def ticket_override(
    *, ticket: Ticket, actor, reason: str, priority: str = "", risk_level: str = "", expected_version=None
) -> Ticket:
    """Priority and/or risk set by a person from one form: both saved, or neither."""
    if priority:
        ticket = ticket_override_priority(ticket=ticket, actor=actor, priority=priority, reason=reason,
                                          expected_version=expected_version)
        expected_version = None if expected_version is None else ticket.version
    if risk_level:
        ticket = ticket_override_risk(ticket=ticket, actor=actor, risk_level=risk_level, reason=reason,
                                      expected_version=expected_version)
    return ticket


def _override(*, ticket, actor, field, value, allowed, reason, expected_version) -> Ticket:
    """A person overrides a suggested value; the rules stop touching it and the timeline says why."""
    if value not in allowed:
        raise ValidationError({field: _("Choose one of %(values)s.") % {"values": ", ".join(allowed)}})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why you override the suggestion.")})
    ticket = ticket_lock_for_write(ticket, action=f"override {field}", expected_version=expected_version)
    flag = "priority_overridden" if field == "priority" else "risk_overridden"
    old = getattr(ticket, field)
    setattr(ticket, field, value)
    setattr(ticket, flag, True)
    ticket.save(update_fields=[field, flag, "updated_at"])
    event_record(ticket=ticket, actor=actor, action=flag, changes={field: [old, value]}, reason=reason)
    sla_after_change(ticket, actor=actor, reason=reason)
    return ticket


@transaction.atomic
def message_add(*, ticket: Ticket, actor, direction: str, body: str, channel: str = "") -> Message:
    """Record a message. The first reply to the customer stamps first response; a customer
    writing while we wait on them resumes the ticket (DESIGN: resume is automatic)."""
    if not body.strip():
        raise ValidationError({"body": _("The message is empty.")})
    validate_text_length(body, field="body")
    if direction not in Message.Direction.values:
        raise ValidationError({"direction": _("Unknown direction.")})
    ticket = ticket_lock_for_write(ticket, action="add message")
    message = Message.objects.create(
        ticket=ticket, direction=direction, channel=channel or ticket.channel, body=body, author=actor
    )
    if direction == Message.Direction.OUTBOUND:
        # Our answer stops the response clocks that were running.
        was_first = ticket.first_response_at is None
        if was_first:
            ticket.first_response_at = message.created_at
            ticket.save(update_fields=["first_response_at", "updated_at"])
            event_record(ticket=ticket, actor=actor, action="first_response")
        if was_first or ticket.next_response_started_at is not None:
            ticket.next_response_started_at = None
            sla_after_change(ticket, actor=actor, reason=note("Answered the customer."))
        deliveries_plan(message)  # sent after commit (tickets/outbound)
    elif direction == Message.Direction.INBOUND:
        if ticket.status == Status.WAITING_CUSTOMER:
            ticket = ticket_transition(
                ticket=ticket, action=Action.RESUME, actor=None, reason=note("The customer replied.")
            )
        if ticket.is_open and ticket.first_response_at and ticket.next_response_started_at is None:
            # The customer wrote again: a next response is owed (DESIGN: next response after the customer writes).
            ticket.next_response_started_at = message.created_at
            sla_after_change(ticket, actor=None, action="sla_started",
                             reason=note("The customer wrote: a reply is due."))
    return message


@transaction.atomic
def attachment_add(*, ticket: Ticket, actor, upload, message: Message | None = None, subtask=None) -> Attachment:
    content_type = validate_upload(upload)
    ticket = ticket_lock_for_write(ticket, action="attach evidence")
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
    event_record(
        ticket=ticket, actor=actor, action="attachment_added", changes={"file": [None, attachment.original_name]}
    )
    return attachment


@transaction.atomic
def ticket_set_summary(
    *, ticket: Ticket, actor, root_cause: str | None = None, summary: str | None = None,
    what_worked: str | None = None, expected_version=None,
) -> Ticket:
    """The closing summary (root cause, what was done, what worked); archive requires all three.
    A part not given (None) keeps what is written."""
    ticket = ticket_lock_for_write(ticket, action="write summary", expected_version=expected_version)
    given = {"root_cause": root_cause, "summary": summary, "what_worked": what_worked}
    parts = {field: getattr(ticket, field) if value is None else value.strip() for field, value in given.items()}
    if not any(parts.values()):
        raise ValidationError({"summary": _("The summary is empty.")})
    changed = {field: [getattr(ticket, field)[:200], value[:200]]
               for field, value in parts.items() if getattr(ticket, field) != value}
    for field in changed:
        setattr(ticket, field, parts[field])
    ticket.save(update_fields=[*changed, "updated_at"])
    event_record(ticket=ticket, actor=actor, action="summary_written", changes=changed)
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
