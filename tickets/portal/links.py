"""Signed, expiring links that let a customer see and act on one ticket without an account.

The token signs the ticket id and the ticket's `customer_link_key` with a timestamp (Django's
signing, salted for this purpose). A link stops working when it is older than
CUSTOMER_LINK_DAYS or when the key is replaced (revoking every link given out before).

The link handed out is the short form (`/c/<pk>-<issued>-<mac>/`, about 20 characters, so it fits a chat
line and the agent's card): the ticket id and the issue time in base 62, and 72 bits of an HMAC over the
id, the time and the ticket's key. It expires and is revoked exactly like the long form (same clock, same
key); guessing one means guessing 72 bits, about 4.7e21 tries per ticket. Long links handed out before
keep working.
"""

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.signing import b62_decode, b62_encode
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from ..events import event_record
from ..models import Ticket
from ..workflow import ensure_writable

SALT = "tickets.portal.customer-link"
SHORT_SALT = "tickets.portal.customer-link.short"
SHORT_MAC_CHARS = 12  # base64url: 6 bits each, 72 bits


class LinkInvalid(Exception):
    """Tampered, unknown or revoked: the page says so and reveals nothing."""


class LinkExpired(LinkInvalid):
    pass


def _max_age() -> timedelta:
    return timedelta(days=settings.CUSTOMER_LINK_DAYS)


@transaction.atomic
def customer_link_issue(*, ticket: Ticket, actor, renew: bool = False) -> tuple[str, datetime]:
    """A link for the customer (path, valid until). `renew` replaces the key: older links stop working."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if renew or not ticket.customer_link_key:
        ensure_writable(ticket, "renew customer link")
        ticket.customer_link_key = secrets.token_urlsafe(24)[:32]
        ticket.save(update_fields=["customer_link_key", "updated_at"])
        event_record(
            ticket=ticket, actor=actor, action="customer_link_renewed" if renew else "customer_link_issued"
        )
    now = timezone.now()
    return reverse("portal:case", args=[short_token(ticket=ticket, issued=int(now.timestamp()))]), now + _max_age()


def _short_mac(pk: int, issued: int, key: str) -> str:
    digest = salted_hmac(SHORT_SALT, f"{pk}.{issued}.{key}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:SHORT_MAC_CHARS]


def short_token(*, ticket: Ticket, issued: int) -> str:
    # Base 62 has no "-", so the first two dashes split the parts; the MAC may contain "-" itself.
    return f"{b62_encode(ticket.pk)}-{b62_encode(issued)}-{_short_mac(ticket.pk, issued, ticket.customer_link_key)}"


def _ticket_for_short(token: str) -> Ticket:
    parts = token.split("-", 2)
    if len(parts) != 3 or len(parts[2]) != SHORT_MAC_CHARS:
        raise LinkInvalid
    try:
        pk, issued = b62_decode(parts[0]), b62_decode(parts[1])
    except (ValueError, IndexError) as exc:
        raise LinkInvalid from exc
    ticket = Ticket.objects.select_related("customer", "order").filter(pk=pk).first() if pk > 0 else None
    # The MAC is checked before the age, as signing.loads does: a forged link never learns it is "expired".
    if ticket is None or not ticket.customer_link_key or not constant_time_compare(
        _short_mac(pk, issued, ticket.customer_link_key), parts[2]
    ):
        raise LinkInvalid
    if timezone.now().timestamp() - issued > _max_age().total_seconds():
        raise LinkExpired
    return ticket


def ticket_for_link(token: str) -> Ticket:
    """The ticket a link opens (short or long form); LinkExpired or LinkInvalid otherwise."""
    if ":" not in token:  # signing.dumps always has its ":" separators; the short form never does
        return _ticket_for_short(token)
    try:
        data = signing.loads(token, salt=SALT, max_age=_max_age())
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("k"), str):
        raise LinkInvalid
    ticket = (
        Ticket.objects.select_related("customer", "order").filter(pk=data["t"]).first()
    )
    if ticket is None or not ticket.customer_link_key or not constant_time_compare(ticket.customer_link_key, data["k"]):
        raise LinkInvalid
    return ticket
