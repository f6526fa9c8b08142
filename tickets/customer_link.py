"""Issuing the customer's link (the part of tickets/portal/links.py the desk's core needs: an incident's
proactive contact and the SMS adapter hand links out too, and the core imports no feature).

The link handed out is the short form (`/c/<pk>-<issued>-<mac>/`, about 20 characters, so it fits a chat
line, an SMS and the agent's card): the ticket id and the issue time in base 62, and 72 bits of an HMAC over
the id, the time and the ticket's key. Reading a link back is the portal's (tickets/portal/links.py).
"""

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.signing import b62_encode
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .events import event_record
from .models import Ticket
from .workflow import ensure_writable

SHORT_SALT = "tickets.portal.customer-link.short"
SHORT_MAC_CHARS = 12  # base64url: 6 bits each, 72 bits


def link_max_age() -> timedelta:
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
    return reverse("portal:case", args=[short_token(ticket=ticket, issued=int(now.timestamp()))]), now + link_max_age()


def short_mac(pk: int, issued: int, key: str) -> str:
    digest = salted_hmac(SHORT_SALT, f"{pk}.{issued}.{key}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:SHORT_MAC_CHARS]


def short_token(*, ticket: Ticket, issued: int) -> str:
    # Base 62 has no "-", so the first two dashes split the parts; the MAC may contain "-" itself.
    return f"{b62_encode(ticket.pk)}-{b62_encode(issued)}-{short_mac(ticket.pk, issued, ticket.customer_link_key)}"
