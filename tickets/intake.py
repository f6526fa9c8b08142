"""Platform after-sales events arriving by machine (POST /api/v1/intake/).

Each source signs the raw body with its shared secret: HMAC-SHA256 over "<timestamp>.<body>"
(the timestamp header limits replays to a few minutes). An event is stored once per platform and
after-sales id: the same event delivered twice, or by two workers at once, gives the same ticket.
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

from .models import Channel, IntakeEvent, IntakeSource, Message, Ticket, TicketType
from .services import message_add, ticket_create

SIGNATURE_MAX_AGE_SECONDS = 300

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


def intake_receive(*, source: IntakeSource, data: dict, payload: dict) -> tuple[Ticket, bool]:
    """Turn a validated event into a ticket (or find the one it already made). Returns (ticket, created)."""
    if data["platform"] != source.platform:
        raise ValidationError(
            {"platform": _("This source may only send %(platform)s events.") % {"platform": source.platform}}
        )
    existing = _existing(data)
    if existing is not None:
        return existing, False
    try:
        return _create(source=source, data=data, payload=payload), True
    except (IntegrityError, ValidationError):
        # The same event won a race on another worker a moment ago (the unique constraint, checked by
        # full_clean or by the database): answer with its ticket; anything else is a real error.
        existing = _existing(data)
        if existing is None:
            raise
        return existing, False


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
