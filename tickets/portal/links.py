"""Signed, expiring links that let a customer see and act on one ticket without an account.

The token signs the ticket id and the ticket's `customer_link_key` with a timestamp (Django's
signing, salted for this purpose). A link stops working when it is older than
CUSTOMER_LINK_DAYS or when the key is replaced (revoking every link given out before).

Issuing is in tickets/customer_link.py (the core hands links out too: incidents, SMS). The short form
(`/c/<pk>-<issued>-<mac>/`) carries the ticket id and the issue time in base 62, and 72 bits of an HMAC over
the id, the time and the ticket's key. It expires and is revoked exactly like the long form (same clock, same
key); guessing one means guessing 72 bits, about 4.7e21 tries per ticket. Long links handed out before
keep working.
"""

from django.core import signing
from django.core.signing import b62_decode
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ..customer_link import SHORT_MAC_CHARS, customer_link_issue, link_max_age, short_mac, short_token
from ..models import Ticket

__all__ = ["LinkExpired", "LinkInvalid", "customer_link_issue", "short_mac", "short_token", "ticket_for_link"]

SALT = "tickets.portal.customer-link"


class LinkInvalid(Exception):
    """Tampered, unknown or revoked: the page says so and reveals nothing."""


class LinkExpired(LinkInvalid):
    pass


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
        short_mac(pk, issued, ticket.customer_link_key), parts[2]
    ):
        raise LinkInvalid
    if timezone.now().timestamp() - issued > link_max_age().total_seconds():
        raise LinkExpired
    return ticket


def ticket_for_link(token: str) -> Ticket:
    """The ticket a link opens (short or long form); LinkExpired or LinkInvalid otherwise."""
    if ":" not in token:  # signing.dumps always has its ":" separators; the short form never does
        return _ticket_for_short(token)
    try:
        data = signing.loads(token, salt=SALT, max_age=link_max_age())
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
