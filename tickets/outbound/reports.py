"""What the shop's integration reports back about a reply we posted to a platform's chat (through the signed
intake webhook, kind "delivery"): it reached the buyer (delivered) or it never will (dead, with the platform's
reason and a MESSAGE_UNDELIVERED event in the same transaction).

A report names our Delivery.key (the idempotency key the integration got with the reply). The same report twice
changes nothing the second time. A key of another platform's delivery is answered as unknown: a source learns
nothing about the other platforms' replies.
"""

import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Delivery
from ..notes import note
from .service import delivery_give_up

logger = logging.getLogger(__name__)

DELIVERED, FAILED = "delivered", "failed"


class ReportRefused(Exception):
    """The report contradicts what is known for good (a delivered reply reported failed, a reply never sent)."""


def delivery_platform(delivery: Delivery) -> str:
    """The platform whose integration a platform-chat delivery went to: the one the case came from."""
    ticket = delivery.message.ticket
    return ticket.external_source or ticket.customer.platform


def delivery_report(
    *, platform: str, key: uuid.UUID, state: str, reason: str = "", external_id: str = ""
) -> tuple[Delivery, bool]:
    """Apply the integration's report to the delivery; (delivery, whether anything changed)."""
    with transaction.atomic():
        # Locked: the sender marking it sent and the report marking it delivered must not overwrite each other.
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("message__ticket__customer")
            .filter(key=key, channel=Delivery.Channel.PLATFORM_CHAT)
            .first()
        )
        if delivery is None or delivery_platform(delivery) != platform:
            raise ValidationError({"idempotency_key": ValidationError(
                _("No reply with this key was posted to the %(platform)s chat.") % {"platform": platform},
                code="does_not_exist",
            )})
        if delivery.state == Delivery.State.NO_CHANNEL:
            raise ReportRefused(_("This reply was never posted (no channel configured): nothing to report on."))
        changed = _delivered(delivery, external_id) if state == DELIVERED else _failed(delivery, reason)
    if changed:
        logger.info("delivery %s reported %s by the %s integration", delivery.key, state, platform)
    return delivery, changed


def _delivered(delivery: Delivery, external_id: str) -> bool:
    # Delivered wins over an earlier give-up of ours: the integration may have taken a post whose answer we lost.
    if delivery.state == Delivery.State.DELIVERED:
        return False
    delivery.state, delivery.delivered_at, delivery.next_attempt_at = Delivery.State.DELIVERED, timezone.now(), None
    delivery.external_id = external_id or delivery.external_id
    delivery.save(update_fields=["state", "delivered_at", "next_attempt_at", "external_id", "updated_at"])
    return True


def _failed(delivery: Delivery, reason: str) -> bool:
    if delivery.state == Delivery.State.DEAD:
        return False
    if delivery.state == Delivery.State.DELIVERED:
        raise ReportRefused(_("This reply was reported delivered already: it cannot become undelivered."))
    why = reason or _("the platform gave no reason")
    delivery_give_up(delivery, error=why,
                     why=note("Platform chat: the platform reported the reply undelivered (%(why)s).", why=why))
    return True
