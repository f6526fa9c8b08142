"""Platform after-sales events arriving by machine (POST /api/v1/intake/).

Each source signs the raw body with its shared secret: HMAC-SHA256 over "<timestamp>.<body>"
(the timestamp header limits replays to a few minutes). An event is stored once per platform and
after-sales id: the same event delivered twice, or by two workers at once, gives the same ticket.
A later event for the same after-sales id is an update of that case (the buyer changed the amount, the
platform moved its deadline, the buyer cancelled): applied to the ticket as timeline events, once —
the same update delivered again finds nothing left to change.

The integration also reports through here what the buyer writes in the platform's chat (kind "message": an
inbound message on the case, once per platform message id) and what became of a reply we posted (kind
"delivery": tickets/outbound/reports.py). A chat line never opens a ticket: the after-sales event does.
"""

import hashlib
import hmac
import json
import logging
import time
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from aftersales.celery import enqueue
from aftersales.limits import validate_text_length
from customers.models import Customer
from orders.models import Order

from .events import EventAction, event_record
from .models import Channel, IntakeEvent, IntakeSource, Message, Status, Ticket, TicketType
from .notes import note
from .services import message_add, messages_add_at_intake, ticket_build, tickets_start
from .sla.clock import sla_after_change
from .workflow import ticket_lock_for_write

logger = logging.getLogger(__name__)

SIGNATURE_MAX_AGE_SECONDS = 300
# Events per worker transaction: big enough that a burst costs a few statements per batch, small enough that a
# batch commits (and its tickets can be opened) well within a second.
INTAKE_BATCH_SIZE = settings.INTAKE_BATCH_SIZE
# Set while an intake task is queued and not started (intake_schedule); it expires in case that task is lost.
INTAKE_QUEUED_KEY, INTAKE_QUEUED_SECONDS = "intake:queued", 10
# The platform's state of the after-sales request, as far as the desk acts on it.
PLATFORM_REQUESTED, PLATFORM_CANCELLED = "requested", "cancelled"

# Platform type codes normalised to ours (DOMAIN.md); our own values are accepted as they are.
PLATFORM_TYPES = {
    "douyin": {
        "0": TicketType.RETURN_REFUND,
        "1": TicketType.REFUND_ONLY,
        "2": TicketType.REFUND_ONLY,
        "3": TicketType.EXCHANGE,
        "6": TicketType.PRICE_DIFFERENCE,
        "7": TicketType.RESHIP,
    },
    "pinduoduo": {
        "2": TicketType.REFUND_ONLY,
        "3": TicketType.RETURN_REFUND,
        "4": TicketType.EXCHANGE,
        "5": TicketType.RESHIP,
        "6": TicketType.REPAIR,
    },
    "jd": {"10": TicketType.RETURN_REFUND, "20": TicketType.EXCHANGE, "30": TicketType.REPAIR},
}


class SignatureInvalid(Exception):
    pass


def intake_verify(*, source_name: str, timestamp: str, signature: str, body: bytes) -> IntakeSource:
    """The active source whose secret signed this body recently; SignatureInvalid otherwise."""
    source = IntakeSource.objects.filter(name=source_name, is_active=True).first()
    if source is None:
        raise SignatureInvalid(_("Unknown or inactive intake source."))
    signature_check(secret=source.secret, timestamp=timestamp, signature=signature, body=body)
    return source


def signature_check(*, secret: str, timestamp: str, signature: str, body: bytes) -> None:
    """SignatureInvalid unless `secret` signed this body within SIGNATURE_MAX_AGE_SECONDS (every signed webhook
    the desk receives: intake, inbound mail)."""
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        raise SignatureInvalid(_("Missing or malformed timestamp.")) from None
    if age > SIGNATURE_MAX_AGE_SECONDS:
        raise SignatureInvalid(_("The timestamp is too old or in the future."))
    if not hmac.compare_digest(sign(secret=secret, timestamp=timestamp, body=body), signature or ""):
        raise SignatureInvalid(_("The signature does not match."))


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def normalise_type(platform: str, raw: str) -> str:
    raw = str(raw).strip()
    if raw in TicketType.values:
        return raw
    mapped = PLATFORM_TYPES.get(platform, {}).get(raw)
    if mapped is None:
        raise ValidationError(
            {"type": _("Unknown after-sales type %(type)s for %(platform)s.") % {"type": raw, "platform": platform}}
        )
    return mapped


def _ensure_own_platform(source: IntakeSource, data: dict) -> None:
    if data["platform"] != source.platform:
        raise ValidationError(
            {"platform": _("This source may only send %(platform)s events.") % {"platform": source.platform}}
        )


class ChatRefused(Exception):
    """A chat line the desk cannot file: its case is closed, or the order has several open cases."""


def _not_found(field: str, text: str) -> ValidationError:
    return ValidationError({field: ValidationError(text, code="does_not_exist")})


def _case_for_chat(data: dict) -> Ticket:
    """The case a chat line belongs to: the after-sales id's ticket, or the one open case on the order."""
    platform = data["platform"]
    if data.get("aftersale_id"):
        ticket = _existing(data) or Ticket.objects.filter(
            external_source=platform, external_id=data["aftersale_id"]).order_by("-pk").first()
        if ticket is None:
            raise _not_found("aftersale_id", _("No case with this after-sales id from %(platform)s.")
                             % {"platform": platform})
        if not ticket.customer_may_write:
            raise ChatRefused(_("Case %(number)s is closed: the message was not added. A new problem is a new "
                                "after-sales request.") % {"number": ticket.number})
        return ticket
    on_order = list(Ticket.objects.filter(order__platform=platform, order__external_number=data["order_id"])
                    .order_by("-created_at", "-pk"))
    if not on_order:
        raise _not_found("order_id", _("No case for this %(platform)s order.") % {"platform": platform})
    open_cases = [ticket for ticket in on_order if ticket.customer_may_write]
    if not open_cases:
        raise ChatRefused(_("Every case of this order is closed: the message was not added."))
    if len(open_cases) > 1:
        # Filing it on the wrong one is worse than asking: the integration knows the after-sales id.
        raise ChatRefused(_("This order has %(count)d open cases: give the after-sales id.")
                          % {"count": len(open_cases)})
    return open_cases[0]


@transaction.atomic
def intake_message_receive(*, source: IntakeSource, data: dict) -> tuple[Message, bool]:
    """A line the buyer wrote in the platform's chat: an inbound message on its case (resuming a ticket that
    waited on the customer, as any customer message does). Returns (message, created); the same platform
    message id again returns the message stored the first time."""
    _ensure_own_platform(source, data)
    ticket = _case_for_chat(data)
    # The ticket's lock makes two reports of the same line take turns: the second finds the first's message.
    ticket = ticket_lock_for_write(ticket, action="add chat message")
    existing = ticket.messages.filter(external_id=data["message_id"]).first()
    if existing is not None:
        return existing, False
    body = data["text"]
    if data.get("evidence_urls"):
        body += "\n" + _("Evidence from the platform:") + "\n" + "\n".join(data["evidence_urls"])
    message = message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body=body,
                          channel=Channel.PLATFORM)
    # Shown where the buyer wrote it in the conversation (never before the case, never in the future); the
    # reply clock message_add started runs from now, when the desk could first read it.
    shown_at = min(max(data["sent_at"], ticket.created_at), message.created_at)
    Message.objects.filter(pk=message.pk).update(external_id=data["message_id"], created_at=shown_at)
    message.external_id, message.created_at = data["message_id"], shown_at
    return message, True


def intake_accept(*, source: IntakeSource, data: dict, payload: dict) -> tuple[IntakeEvent, bool]:
    """Store a validated after-sales event once per platform and after-sales id (INSERT … ON CONFLICT DO
    NOTHING: two workers storing the same event at once store one). Returns (event, stored): stored is False
    when the event was there already; the caller then answers with what that event became (intake_repeat).
    A new event's ticket is made by a worker (intake_events_process), queued once this commits."""
    _ensure_own_platform(source, data)
    # What would refuse the event when its ticket is made is refused now, with nothing stored (a 400).
    normalise_type(data["platform"], data["type"])
    if data.get("evidence_urls"):
        validate_text_length(_evidence_text(data), field="evidence_urls")
    mine = IntakeEvent(source=source, platform=data["platform"], external_id=data["aftersale_id"], payload=payload,
                       data=_to_json(data))
    if _insert_once(mine):
        transaction.on_commit(intake_schedule)
        return mine, True
    # Only what the answer needs: a SELECT of the ticket's eighty columns costs more to build than the INSERT.
    event = (IntakeEvent.objects.only("receipt", "state", "errors", "ticket_id")
             .get(platform=data["platform"], external_id=data["aftersale_id"]))
    return event, False


def _insert_once(event: IntakeEvent) -> bool:
    """Insert the event unless its platform + after-sales id is stored already; True when this one was stored
    (its pk set). On PostgreSQL one statement, INSERT … ON CONFLICT DO NOTHING RETURNING id (the webhook's
    usual case, a new event, then needs no second look-up); elsewhere (SQLite, the embedded desk) the ORM's
    insert ignoring conflicts, then a look-up of the receipt kept."""
    if connection.vendor != "postgresql":
        IntakeEvent.objects.bulk_create([event], ignore_conflicts=True)
        kept = IntakeEvent.objects.filter(platform=event.platform, external_id=event.external_id).values_list(
            "pk", "receipt").first()
        if kept is None or kept[1] != event.receipt:  # the receipt we drew is not the one kept: stored before
            return False
        event.pk = kept[0]
        return True
    fields = [field for field in IntakeEvent._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(IntakeEvent._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT (platform, external_id) DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding, event._state.db = False, connection.alias
    return True


def intake_schedule() -> None:
    """Queue the intake worker, once for a burst: while a task is queued and has not started yet, the events
    that follow are its work too (it clears the mark before it reads what is pending). Broker or cache down:
    the events wait, pending, for the beat's sweep (intake_sweep_task)."""
    # By name, as tickets/outbound does: tickets.tasks imports the features, which the core must not.
    intake_process_task = import_string("tickets.tasks.intake_process_task")
    # It starts INTAKE_GATHER_MS after the burst's first event: the events of that moment are one batch.
    countdown = settings.INTAKE_GATHER_MS / 1000 or None
    if cache.add(INTAKE_QUEUED_KEY, 1, INTAKE_QUEUED_SECONDS) and not enqueue(intake_process_task,
                                                                                countdown=countdown):
        cache.delete(INTAKE_QUEUED_KEY)


def intake_repeat(*, event: IntakeEvent, data: dict) -> tuple[IntakeEvent, bool]:
    """A later delivery for an event already stored (the same event again, or an update of its case).
    Its ticket exists: the update is applied now (ticket_platform_update). Not yet: the update waits on the
    event and is applied right after the ticket is made. Returns (event, whether the ticket changed now)."""
    if event.state == IntakeEvent.State.PENDING:
        with transaction.atomic():
            # The worker holds this lock while it makes the ticket: once we have it, the event is either still
            # pending (the update waits with it) or done (applied below to the ticket made meanwhile).
            # Not select_related("ticket"): after the wait PostgreSQL re-reads the locked event, but a ticket the
            # worker made meanwhile is not in this statement's snapshot, so the join would give no ticket.
            event = IntakeEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
            update = _to_json(data)
            if event.state == IntakeEvent.State.PENDING:
                if update != event.data and update not in event.updates:
                    event.updates.append(update)
                    event.save(update_fields=["updates"])
                # A worker claiming meanwhile skipped the row we locked (SKIP LOCKED): queue one again.
                transaction.on_commit(intake_schedule)
                return event, False
    if event.state != IntakeEvent.State.DONE:
        return event, False
    _ticket, updated = ticket_platform_update(ticket=Ticket.objects.get(pk=event.ticket_id), data=data)
    return event, updated


def intake_event_for_receipt(*, source: IntakeSource, receipt) -> IntakeEvent | None:
    """The event behind a receipt, for the source that sent it (another source's receipt is not found)."""
    return IntakeEvent.objects.select_related("ticket").filter(source=source, receipt=receipt).first()


def _to_json(data: dict) -> dict:
    """The validated event as JSON (amounts as text, times ISO 8601); _from_json reads it back."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _from_json(data: dict) -> dict:
    data = dict(data)
    if data.get("amount") is not None:
        data["amount"] = Decimal(data["amount"])
    for name in ("created_at", "deadline_at"):
        if data.get(name):
            data[name] = parse_datetime(data[name])
    return data

@transaction.atomic
def ticket_platform_update(*, ticket: Ticket, data: dict) -> tuple[Ticket, bool]:
    """Apply what changed on the platform since the ticket was taken in; (ticket, whether anything changed).
    An archived ticket is evidence: nothing is applied to it."""
    if Ticket.objects.filter(pk=ticket.pk, status=Status.ARCHIVED).exists():
        return ticket, False
    ticket = ticket_lock_for_write(ticket, action="platform update")
    changes = {}
    amount = data.get("amount")
    if amount is not None and ticket.requested_amount != amount:
        changes["requested_amount"] = [str(ticket.requested_amount), str(amount)]
        ticket.requested_amount = amount
    deadline = data.get("deadline_at")
    if deadline is not None and ticket.platform_deadline_at != deadline:
        changes["platform_deadline_at"] = [
            ticket.platform_deadline_at.isoformat() if ticket.platform_deadline_at else None, deadline.isoformat()
        ]
        ticket.platform_deadline_at = deadline
    cancelled = data.get("status") == PLATFORM_CANCELLED and not ticket.events.filter(
        action=EventAction.PLATFORM_CANCELLED).exists()
    if not changes and not cancelled:
        return ticket, False
    if changes:
        ticket.save(update_fields=[*changes, "updated_at"])
        event_record(ticket=ticket, actor=None, action=EventAction.PLATFORM_UPDATED, changes=changes,
                                   reason=note("Updated on the platform."))
        if "platform_deadline_at" in changes:
            sla_after_change(ticket, actor=None, reason=note("The platform moved its deadline."))
    if cancelled:
        # The buyer withdrew the request on the platform: the agent decides what follows (close, or call).
        event_record(ticket=ticket, actor=None, action=EventAction.PLATFORM_CANCELLED,
                                   reason=note("The buyer cancelled the after-sales request on the platform."))
        message_add(ticket=ticket, actor=None, direction=Message.Direction.NOTE,
                    body=_("The buyer cancelled the after-sales request on the platform."))
    return ticket, True


def _existing(data) -> Ticket | None:
    """The ticket of this after-sales id's event; a pending event's ticket is made now (a chat line on the case
    arrived before the worker got to it)."""
    event = IntakeEvent.objects.filter(platform=data["platform"], external_id=data["aftersale_id"]).first()
    if event is None:
        return None
    if event.state == IntakeEvent.State.PENDING:
        intake_events_process(ids=[event.pk])
        event.refresh_from_db()
    return event.ticket


def intake_events_process(*, batch_size: int = INTAKE_BATCH_SIZE, ids: list[int] | None = None) -> int:
    """Make the tickets of the pending events, a batch per transaction, until none is left (or those of `ids`);
    returns how many events were settled (done or failed). Two workers share the work: each claims its batch
    with SKIP LOCKED. Safe to run again: a settled event is never taken twice."""
    settled = 0
    while True:
        count = _batch_process(batch_size=batch_size, ids=ids)
        settled += count
        if count < batch_size or ids is not None:
            return settled


@transaction.atomic
def _batch_process(*, batch_size: int, ids: list[int] | None) -> int:
    pending = IntakeEvent.objects.filter(state=IntakeEvent.State.PENDING)
    # The events alone are locked (of self): their source, joined below, is shared by every event of a shop,
    # and a worker skipping locked rows would skip them all while another worker held a batch.
    if ids is not None:
        # Asked for by a request (a chat line on a case still pending): wait for a worker holding it.
        claim = pending.filter(pk__in=ids).select_for_update(of=("self",))
    else:
        claim = pending.select_for_update(skip_locked=True, of=("self",))
    events = list(claim.select_related("source").order_by("pk")[:batch_size])
    if not events:
        return 0
    try:
        with transaction.atomic():
            _tickets_for(events)
    except (ValidationError, IntegrityError):
        # An event the batch cannot take must not hold back the others: each alone, the bad one refused.
        for event in events:
            try:
                with transaction.atomic():
                    _tickets_for([event])
            except (ValidationError, IntegrityError) as error:
                logger.warning("intake event %s refused: %s", event, error)
                event.state, event.processed_at = IntakeEvent.State.FAILED, timezone.now()
                event.errors = _errors_of(error)
                event.save(update_fields=["state", "errors", "processed_at"])
    return len(events)


def _evidence_text(data: dict) -> str:
    return _("Evidence from the platform:") + "\n" + "\n".join(data["evidence_urls"])


def _errors_of(error: Exception) -> dict:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return {field: [str(message) for message in messages] for field, messages in error.message_dict.items()}
    if isinstance(error, ValidationError):
        return {"non_field_errors": [str(message) for message in error.messages]}
    # The only constraint an event can break here: a ticket made from this after-sales id some other way.
    return {"aftersale_id": [_("A ticket with this after-sales id exists already.")]}


def _tickets_for(events: list[IntakeEvent]) -> None:
    """The tickets of these events as ticket_create makes one (ticket_build, tickets_start), with the database
    work done per batch: the buyers and orders looked up and added in a few statements, the tickets, their
    events and first evidence inserted in one statement each. An event's buyer and order are taken as
    intake of the events one after the other would take them: the first event naming them creates them."""
    datas = [_from_json(event.data) for event in events]
    customers = _customers_for(datas)
    orders = _orders_for(datas, customers)
    tickets = []
    for data in datas:
        platform = data["platform"]
        customer = customers[platform, data["buyer_account"]]
        order = orders[platform, data["order_id"]]
        words = "\n".join(filter(None, [data.get("reason", ""), data.get("description", "")])) or _("(no text)")
        tickets.append(ticket_build(
            channel=Channel.PLATFORM,
            description=words,
            customer=customer,
            order=order if order.customer_id == customer.pk else None,
            type=normalise_type(platform, data["type"]),
            requested_amount=data.get("amount"),
            customer_request=data.get("reason", ""),
            platform_intervention=data.get("platform_intervention", False),
            external_source=platform,
            external_id=data["aftersale_id"],
            platform_deadline_at=data.get("deadline_at"),
        ))
    Ticket.objects.bulk_create(tickets)
    tickets_start(tickets, actor=None)
    messages_add_at_intake([
        (ticket, _evidence_text(data))
        for ticket, data in zip(tickets, datas, strict=True) if data.get("evidence_urls")
    ])
    now = timezone.now()
    for event, ticket in zip(events, tickets, strict=True):
        event.ticket, event.state, event.processed_at = ticket, IntakeEvent.State.DONE, now
    IntakeEvent.objects.bulk_update(events, ["ticket", "state", "processed_at"])
    for event, ticket in zip(events, tickets, strict=True):
        for update in event.updates:  # later deliveries that came while it waited (rare): as they would have
            ticket_platform_update(ticket=ticket, data=_from_json(update))


def _customers_for(datas: list[dict]) -> dict[tuple, Customer]:
    """The buyers of these events by (platform, account): found, or added with the first event's name."""
    wanted = {}
    for data in datas:
        wanted.setdefault((data["platform"], data["buyer_account"]), data.get("buyer_name") or data["buyer_account"])
    def lookup():
        found = Customer.objects.filter(_any_of(("platform", "platform_account"), wanted))
        return {(customer.platform, customer.platform_account): customer for customer in found}
    customers = lookup()
    missing = [Customer(platform=platform, platform_account=account, name=name)
               for (platform, account), name in wanted.items() if (platform, account) not in customers]
    if missing:
        # Another request may add the same buyer meanwhile (a form, a worker): theirs is kept, then read.
        Customer.objects.bulk_create(missing, ignore_conflicts=True)
        customers = lookup()
    return customers


def _orders_for(datas: list[dict], customers: dict[tuple, Customer]) -> dict[tuple, Order]:
    """The orders of these events by (platform, number): found, or added for the first event's buyer."""
    wanted = {}
    for data in datas:
        wanted.setdefault((data["platform"], data["order_id"]), data)
    def lookup():
        found = Order.objects.filter(_any_of(("platform", "external_number"), wanted))
        return {(order.platform, order.external_number): order for order in found}
    orders = lookup()
    missing = [
        Order(platform=platform, external_number=number, customer=customers[platform, data["buyer_account"]],
              placed_at=data.get("created_at") or timezone.now(), paid_amount=data.get("amount") or Decimal("0"))
        for (platform, number), data in wanted.items() if (platform, number) not in orders
    ]
    if missing:
        Order.objects.bulk_create(missing, ignore_conflicts=True)
        orders = lookup()
    return orders


def _any_of(fields: tuple[str, str], keys) -> Q:
    """Rows matching any of these (first, second) pairs: grouped by the first (a platform), one IN each."""
    by_first = {}
    for first, second in keys:
        by_first.setdefault(first, []).append(second)
    query = Q(pk__in=[])
    for first, seconds in by_first.items():
        query |= Q(**{fields[0]: first, f"{fields[1]}__in": seconds})
    return query
