"""Shipping watch (seed 003): orders late to ship or stalled in transit, told before they complain."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orders.models import Order

from ..models import OPEN_STATUSES, Category, Channel, Message, ReplyTemplate, Ticket
from ..replies import render_reply, reply_placeholders
from ..services import message_add, ticket_create
from .services import BulkReport


def orders_inform(*, order_ids: list[int], actor, template: ReplyTemplate, reason: str) -> BulkReport:
    """A proactive ticket per order with the template reply sent first; orders that already have an
    open ticket are skipped (the agent on it informs the customer)."""
    report = BulkReport()
    busy = set(
        Ticket.objects.filter(order_id__in=order_ids, status__in=OPEN_STATUSES).values_list("order_id", flat=True)
    )
    for order in Order.objects.filter(pk__in=order_ids).select_related("customer"):
        if order.pk in busy:
            report.refused[order.pk] = _("An open ticket exists for this order.")
            continue
        with transaction.atomic():
            ticket = ticket_create(
                actor=actor, channel=Channel.OTHER, order=order, category=Category.LOGISTICS, description=reason
            )
            message_add(
                ticket=ticket,
                actor=actor,
                direction=Message.Direction.OUTBOUND,
                body=render_reply(template.body, reply_placeholders(ticket, actor)),
            )
        report.done.append(order.pk)
    if not report.done and not report.refused:
        raise ValidationError(_("Choose orders from the list."))
    return report
