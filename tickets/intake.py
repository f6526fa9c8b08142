"""Platform after-sales events arriving by machine (POST /api/v1/intake/).

Each source signs the raw body with its shared secret: HMAC-SHA256 over "<timestamp>.<body>"
(the timestamp header limits replays to a few minutes). An event is stored once per platform and
after-sales id: the same event delivered twice, or by two workers at once, gives the same ticket.
A later event for the same after-sales id is an update of that case (the buyer changed the amount, the
platform moved its deadline, the buyer cancelled): applied to the ticket as timeline events, once —
the same update delivered again finds nothing left to change.
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
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        raise SignatureInvalid(_("Missing or malformed timestamp.")) from None
    if age > SIGNATURE_MAX_AGE_SECONDS:
        raise SignatureInvalid(_("The timestamp is too old or in the future."))
    expected = sign(secret=source.secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, signature or ""):
        raise SignatureInvalid(_("The signature does not match."))
    return source


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


def intake_receive(*, source: IntakeSource, data: dict, payload: dict) -> tuple[Ticket, bool, bool]:
    """Turn a validated event into a ticket, or apply it to the ticket it already made.
    Returns (ticket, created, updated)."""
    if data["platform"] != source.platform:
        raise ValidationError(
            {"platform": _("This source may only send %(platform)s events.") % {"platform": source.platform}}
        )
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
