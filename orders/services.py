"""Money and goods: refunds, returned parcels, replacement shipments.

The refund cap is checked under the order's row lock, so two refunds requested at the same
moment cannot together exceed what the buyer paid.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Order, OrderItem, Refund, ReturnShipment, Shipment

COUNTING = (Refund.Status.REQUESTED, Refund.Status.APPROVED, Refund.Status.PAID)


def refundable_amount(order: Order, items: Iterable[OrderItem] = ()) -> Decimal:
    """What may still be refunded: paid for the items (or the whole order) minus refunds that count."""
    counting = Refund.objects.filter(order=order, status__in=COUNTING)
    order_paid = order.items.aggregate(total=Sum("paid_amount"))["total"] or order.paid_amount
    order_left = order_paid - (counting.aggregate(total=Sum("amount"))["total"] or Decimal("0"))
    items = list(items)
    if not items:
        return max(order_left, Decimal("0"))
    # A refund touching any of these items counts against them (conservative for multi-item refunds).
    items_paid = sum((item.paid_amount for item in items), Decimal("0"))
    items_refunded = counting.filter(items__in=items).distinct().aggregate(total=Sum("amount"))["total"] or 0
    return max(min(items_paid - items_refunded, order_left), Decimal("0"))


@transaction.atomic
def refund_request(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor,
    items: Iterable[OrderItem] = (),
    ticket=None,
    method: str = Refund.Method.ORIGINAL,
    approved: bool = False,
    dedupe_key: str | None = None,
) -> Refund:
    """Record a refund; `approved` when within the requester's limit (else an approval decides)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    items = list(items)
    if any(item.order_id != order.pk for item in items):
        raise ValidationError({"items": _("Refund only items of this order.")})
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("The amount must be positive.")})
    left = refundable_amount(order, items)
    if amount > left:
        raise ValidationError(
            {"amount": _("At most ¥%(left)s can still be refunded for this order or these items.") % {"left": left}}
        )
    refund = Refund.objects.create(
        order=order,
        ticket=ticket,
        amount=amount,
        reason=reason,
        method=method,
        requested_by=actor,
        status=Refund.Status.APPROVED if approved else Refund.Status.REQUESTED,
        dedupe_key=dedupe_key,
    )
    if items:
        refund.items.set(items)
    return refund


def _move(refund: Refund, sources: tuple, target: str, **fields) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status not in sources:
        raise ValidationError(
            {
                "status": _("This refund is %(status)s; it cannot become %(target)s.")
                % {"status": refund.get_status_display(), "target": Refund.Status(target).label}
            }
        )
    refund.status = target
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", *fields])
    return refund


@transaction.atomic
def refund_approve(*, refund: Refund) -> Refund:
    return _move(refund, (Refund.Status.REQUESTED,), Refund.Status.APPROVED)


@transaction.atomic
def refund_mark_paid(*, refund: Refund) -> Refund:
    """Finance paid it. Nothing is paid before approval."""
    return _move(refund, (Refund.Status.APPROVED,), Refund.Status.PAID, paid_at=timezone.now())


@transaction.atomic
def refund_mark_failed(*, refund: Refund, reason: str) -> Refund:
    return _move(
        refund, (Refund.Status.REQUESTED, Refund.Status.APPROVED), Refund.Status.FAILED, failure_reason=reason[:300]
    )


@transaction.atomic
def return_shipment_create(*, order: Order, ticket, carrier: str = "", tracking_number: str = "") -> ReturnShipment:
    return ReturnShipment.objects.create(order=order, ticket=ticket, carrier=carrier, tracking_number=tracking_number)


@transaction.atomic
def return_shipment_inspect(*, shipment: ReturnShipment, inspection: str, disposition: str, note: str = ""):
    """The warehouse received and inspected the parcel."""
    if inspection not in ReturnShipment.Inspection.values or inspection == ReturnShipment.Inspection.PENDING:
        raise ValidationError({"inspection": _("Choose the inspection result.")})
    if disposition not in ReturnShipment.Disposition.values:
        raise ValidationError({"disposition": _("Choose restock or write-off.")})
    shipment = ReturnShipment.objects.select_for_update().get(pk=shipment.pk)
    shipment.received_at = shipment.received_at or timezone.now()
    shipment.inspection, shipment.disposition, shipment.note = inspection, disposition, note
    shipment.save(update_fields=["received_at", "inspection", "disposition", "note"])
    return shipment


@transaction.atomic
def shipment_create(*, order: Order, ticket, reason: str, items: Iterable[OrderItem] = ()) -> Shipment:
    shipment = Shipment.objects.create(order=order, ticket=ticket, reason=reason)
    if items:
        shipment.items.set(items)
    return shipment


@transaction.atomic
def shipment_ship(*, shipment: Shipment, carrier: str, tracking_number: str) -> Shipment:
    if not carrier.strip() or not tracking_number.strip():
        raise ValidationError({"tracking_number": _("Enter the carrier and the tracking number.")})
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    shipment.carrier, shipment.tracking_number, shipment.shipped_at = carrier, tracking_number, timezone.now()
    shipment.save(update_fields=["carrier", "tracking_number", "shipped_at"])
    return shipment
