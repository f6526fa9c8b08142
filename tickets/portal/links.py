"""Signed, expiring links that let a customer see and act on one ticket without an account.

The token signs the ticket id and the ticket's `customer_link_key` with a timestamp (Django's
signing, salted for this purpose). A link stops working when it is older than
CUSTOMER_LINK_DAYS or when the key is replaced (revoking every link given out before).
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ..events import event_record
from ..models import Ticket
from ..workflow import ensure_writable

SALT = "tickets.portal.customer-link"


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
    token = signing.dumps({"t": ticket.pk, "k": ticket.customer_link_key}, salt=SALT)
    return reverse("portal:case", args=[token]), timezone.now() + _max_age()


def ticket_for_link(token: str) -> Ticket:
    """The ticket a link opens; LinkExpired or LinkInvalid otherwise."""
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
