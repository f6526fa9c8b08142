"""Money and goods: refunds, returned parcels, replacement shipments.

refund_request is the one function that lets money go out. It applies orders/money.py's rule under
the order's row lock, so two refunds requested at the same moment cannot together exceed what the
buyer paid, and it decides who may let the refund be paid: the requester within their own limit,
someone else above it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import money
from .models import Order, OrderItem, Refund, ReturnShipment, Shipment


@transaction.atomic
def refund_request(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor,
    items: Iterable[OrderItem] = (),
    ticket=None,
    kind: str = Refund.Kind.REFUND,
    method: str = Refund.Method.ORIGINAL,
    approved_by=None,
    must_be_approved: bool = False,
    dedupe_key: str | None = None,
) -> Refund:
    """Record a refund of `amount`, never more than the order or these lines have left.

    Within the actor's own limit it is approved at once (by them). Above it, it is approved only when
    `approved_by` is someone else who already approved it (a bulk batch's approver); otherwise it is
    REQUESTED and waits for an approval — or, with `must_be_approved`, is refused.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    items = list(items)
    if any(item.order_id != order.pk for item in items):
        raise ValidationError({"items": _("Refund only items of this order.")})
    status, approver = _refund_decide(amount=amount, left=money.refundable_amount(order, items), actor=actor,
                                      approved_by=approved_by, must_be_approved=must_be_approved)
    refund = Refund.objects.create(
        order=order,
        ticket=ticket,
        amount=amount,
        kind=kind,
        reason=reason,
        method=method,
        requested_by=actor,
        approved_by=approver,
        status=status,
        dedupe_key=dedupe_key,
    )
    if items:
        refund.items.set(items)
    return refund


def _refund_decide(*, amount: Decimal, left: Decimal, actor, approved_by, must_be_approved: bool) -> tuple[str, object]:
    """The refund's status and approver, or ValidationError: the money rule (never more than `left`,
    the refundable amount read under the order's lock) and who may let it be paid."""
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("The amount must be positive.")})
    # To the cent: SQLite's SUM comes back as 0E-16 or 0.0100000000000000, which the message would show.
    left = left.quantize(money.CENT)
    if amount > left:
        raise ValidationError(
            {"amount": _("At most ¥%(left)s can still be refunded for this order or these items.") % {"left": left}}
        )
    if money.within_limit(actor, amount):
        return Refund.Status.APPROVED, actor
    if approved_by is not None and approved_by.pk != getattr(actor, "pk", None):
        return Refund.Status.APPROVED, approved_by
    if must_be_approved:
        raise ValidationError(
            {"amount": _("¥%(amount)s is above the refund limit of ¥%(limit)s and nobody else approved it.")
             % {"amount": amount, "limit": money.refund_limit_of(actor)}}
        )
    return Refund.Status.REQUESTED, None


@dataclass(frozen=True)
class LineRefund:
    """One refund of one order line, as a bulk caller (the price-difference run) asks for it."""

    item: OrderItem
    amount: Decimal
    reason: str
    dedupe_key: str
    # A price drop to this price: what it owes is worked out again here, under the order's lock, so a drop
    # refunded after this one was previewed (another batch) is deducted and the line never gets back more
    # than paid − the lowest new price (money.price_difference).
    new_price: Decimal | None = None


@dataclass
class LineRefundOutcome:
    refund: Refund | None = None  # the new refund, or (duplicate) the earlier one with the same key
    duplicate: bool = False  # the key was refunded before: nothing new
    error: str = ""  # why it was refused (translated); nothing written


@transaction.atomic
def refund_request_lines(
    *, lines: list[LineRefund], actor, kind: str, approved_by=None, must_be_approved: bool = False
) -> list[LineRefundOutcome]:
    """refund_request for many single-line refunds in a few statements: the same rule, applied line
    after line as if each were requested alone, in this order. One outcome per line.

    Every line's order is locked first (in id order, so two bulk callers sharing orders never wait on
    each other crosswise); refund_request takes the same lock, so nobody refunds these orders between
    our reading of the figures and our insert — which is also why the dedupe keys read here stay free.
    """
    orders_paid = dict(Order.objects.select_for_update().filter(pk__in={line.item.order_id for line in lines})
                       .order_by("pk").values_list("pk", "paid_amount"))
    ledger = money.Ledger(orders_paid, [line.item for line in lines])
    earlier = Refund.objects.filter(dedupe_key__in=[line.dedupe_key for line in lines]).only("id", "dedupe_key")
    taken = {refund.dedupe_key: refund for refund in earlier}
    outcomes, new = [], []
    for line in lines:
        if line.dedupe_key in taken:
            outcomes.append(LineRefundOutcome(refund=taken[line.dedupe_key], duplicate=True))
            continue
        refusal = _price_drop_refusal(line, ledger)
        if refusal:
            outcomes.append(LineRefundOutcome(error=refusal))
            continue
        try:
            status, approver = _refund_decide(amount=line.amount, left=ledger.left(line.item), actor=actor,
                                              approved_by=approved_by, must_be_approved=must_be_approved)
        except ValidationError as error:
            outcomes.append(LineRefundOutcome(error="; ".join(error.messages)))
            continue
        refund = Refund(order_id=line.item.order_id, amount=line.amount, kind=kind, reason=line.reason,
                        requested_by=actor, approved_by=approver, status=status, dedupe_key=line.dedupe_key)
        ledger.take(line.item, line.amount, price_difference=kind == Refund.Kind.PRICE_DIFFERENCE)
        taken[line.dedupe_key] = refund
        new.append((refund, line.item))
        outcomes.append(LineRefundOutcome(refund=refund))
    Refund.objects.bulk_create([refund for refund, _item in new])
    Refund.items.through.objects.bulk_create(
        Refund.items.through(refund_id=refund.pk, orderitem_id=item.pk) for refund, item in new
    )
    return outcomes


def _price_drop_refusal(line: LineRefund, ledger: money.Ledger) -> str:
    """Why a price drop's refund, as previewed, is no longer owed in full ("" when it is)."""
    if line.new_price is None:
        return ""
    # What the drop itself owes now (capped at what was previewed); what the line has left is _refund_decide's.
    owed = money.price_difference(paid_amount=line.item.paid_amount, quantity=line.item.quantity,
                                  new_price=line.new_price, protected_before=ledger.protected(line.item),
                                  left=line.amount)
    if owed.amount is None:
        return owed.refusal
    if owed.amount < line.amount:
        return _("This drop now owes ¥%(owed)s, not the ¥%(previewed)s previewed: another price drop on the line "
                 "was refunded since. Upload the row again to refund the rest.") % {
            "owed": owed.amount, "previewed": line.amount}
    return ""


def _move(refund: Refund, target: str, **fields) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    Refund.status_flow.move(refund, target, **fields)
    return refund


@transaction.atomic
def refund_approve(*, refund: Refund, actor) -> Refund:
    """Someone other than the requester lets a refund above the requester's limit be paid."""
    if refund.requested_by_id is not None and refund.requested_by_id == actor.pk:
        raise ValidationError({"approval": _("Nobody approves their own refund.")})
    return _move(refund, Refund.Status.APPROVED, approved_by=actor)


@transaction.atomic
def refund_mark_paid(*, refund: Refund) -> Refund:
    """Finance paid it. Nothing is paid before approval."""
    return _move(refund, Refund.Status.PAID, paid_at=timezone.now())


@transaction.atomic
def refund_mark_failed(*, refund: Refund, reason: str) -> Refund:
    return _move(refund, Refund.Status.FAILED, failure_reason=reason[:300])


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
