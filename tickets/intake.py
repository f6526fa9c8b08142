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
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from orders.models import Order

from .events import EventAction, event_record
from .models import Channel, IntakeEvent, IntakeSource, Message, Status, Ticket, TicketType
from .notes import note
from .services import message_add, ticket_create
from .sla.clock import sla_after_change
from .workflow import ticket_lock_for_write

SIGNATURE_MAX_AGE_SECONDS = 300
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


def intake_receive(*, source: IntakeSource, data: dict, payload: dict) -> tuple[Ticket, bool, bool]:
    """Turn a validated event into a ticket, or apply it to the ticket it already made.
    Returns (ticket, created, updated)."""
    _ensure_own_platform(source, data)
    existing = _existing(data)
    if existing is None:
        try:
            return _create(source=source, data=data, payload=payload), True, False
        except (IntegrityError, ValidationError):
            # The same event won a race on another worker a moment ago (the unique constraint, checked by
            # full_clean or by the database): it is now an update of that ticket; anything else is a real error.
            existing = _existing(data)
            if existing is None:
                raise
    ticket, updated = ticket_platform_update(ticket=existing, data=data)
    return ticket, False, updated


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
    event = (
        IntakeEvent.objects.filter(platform=data["platform"], external_id=data["aftersale_id"])
        .select_related("ticket")
        .first()
    )
    return event.ticket if event else None


@transaction.atomic
def _create(*, source: IntakeSource, data: dict, payload: dict) -> Ticket:
    platform = data["platform"]
    customer, _created = Customer.objects.get_or_create(
        platform=platform,
        platform_account=data["buyer_account"],
        defaults={"name": data.get("buyer_name") or data["buyer_account"]},
    )
    order = Order.objects.filter(platform=platform, external_number=data["order_id"]).first()
    if order is None:
        order = Order.objects.create(
            platform=platform,
            external_number=data["order_id"],
            customer=customer,
            placed_at=data.get("created_at") or timezone.now(),
            paid_amount=data.get("amount") or Decimal("0"),
        )
    words = "\n".join(filter(None, [data.get("reason", ""), data.get("description", "")])) or _("(no text)")
    ticket = ticket_create(
        actor=None,
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
    )
    evidence = data.get("evidence_urls") or []
    if evidence:
        message_add(
            ticket=ticket,
            actor=None,
            direction=Message.Direction.INBOUND,
            body=_("Evidence from the platform:") + "\n" + "\n".join(evidence),
        )
    IntakeEvent.objects.create(
        source=source, platform=platform, external_id=data["aftersale_id"], payload=payload, ticket=ticket
    )
    return ticket
