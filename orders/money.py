"""The one money rule. Every path that pays — single refunds, agreed solutions, compensation, bulk
price differences — asks these functions, and orders.services.refund_request applies them under the
order's row lock (refund_request_lines, for many lines at once, through Ledger).

- What the buyer actually paid is the order line's `paid_amount`: its list price after shop
  discounts, coupons and platform subsidies, as the platform reports it per line. Never the list price.
- Refundable = paid − every refund that counts (requested, approved or paid; a failed one counts for
  nothing), for the order and for the lines a refund names. An earlier refund naming any of those lines
  counts in full against them (conservative), so the refunds can always be attributed to lines with no
  line giving back more than it took (tests/playbook/test_money_properties.py checks it as Hall's condition).
- A price difference (退差/价保) is owed once per line: (paid unit price − new price) × quantity, which is
  `paid_amount − new_price × quantity` (no rounding of the unit price); what earlier drops already
  refunded on the line is deducted, and the result is never more than the line's refundable amount.
- A refund above the requester's own limit needs someone else's approval (Refund.approved_by).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from .models import Order, OrderItem, Refund

ZERO = Decimal("0")
CENT = Decimal("0.01")
UNLIMITED = Decimal("Infinity")
COUNTING = (Refund.Status.REQUESTED, Refund.Status.APPROVED, Refund.Status.PAID)


# --- limits -------------------------------------------------------------------------------------


def refund_limit_of(user) -> Decimal:
    """The largest refund `user` may grant alone. Unlimited only where their staff profile says so
    explicitly; a user with no staff profile may grant nothing alone."""
    profile = getattr(user, "staff_profile", None) if user is not None else None
    if profile is None:
        return ZERO
    return UNLIMITED if profile.refunds_unlimited else profile.refund_limit


def within_limit(user, amount: Decimal) -> bool:
    return amount <= refund_limit_of(user)


# --- what may still be refunded -----------------------------------------------------------------


def _counting(order_id: int):
    return Refund.objects.filter(order_id=order_id, status__in=COUNTING)


def order_paid(order: Order) -> Decimal:
    """What the buyer paid for the order: its lines, or the order's own figure when it has none."""
    return order.items.aggregate(total=Sum("paid_amount"))["total"] or order.paid_amount


def refundable_amount(order: Order, items: Iterable[OrderItem] = ()) -> Decimal:
    """What may still be refunded for these lines (or the whole order): paid minus counting refunds,
    and never more than the order as a whole has left."""
    counting = _counting(order.pk)
    order_left = order_paid(order) - (counting.aggregate(total=Sum("amount"))["total"] or ZERO)
    items = list(items)
    if not items:
        return max(order_left, ZERO)
    items_paid = sum((item.paid_amount for item in items), ZERO)
    items_refunded = counting.filter(items__in=items).distinct().aggregate(total=Sum("amount"))["total"] or ZERO
    return max(min(items_paid - items_refunded, order_left), ZERO)


def line_left(*, paid: Decimal, refunded: Decimal, order_paid: Decimal, order_refunded: Decimal) -> Decimal:
    """refundable_amount for one line from figures read in bulk (the price-difference preview)."""
    return max(min(paid - refunded, order_paid - order_refunded), ZERO)


class Ledger:
    """refundable_amount for many single-line refunds at once: what each order and each line paid and
    has counting against it, read in a few queries (the caller holds the orders' row locks). `take`
    records a refund granted in the same pass, so a later line of the same order sees it."""

    def __init__(self, orders_paid: dict[int, Decimal], items: Iterable[OrderItem]):
        """orders_paid: each order's own paid_amount, by id (read under its lock)."""
        item_ids = [item.pk for item in items]
        lines_paid = dict(
            OrderItem.objects.filter(order_id__in=orders_paid).values_list("order_id")
            .annotate(total=Sum("paid_amount")).values_list("order_id", "total")
        )
        # As order_paid: the lines, or the order's own figure when it has none.
        self.order_paid = {pk: lines_paid.get(pk) or own for pk, own in orders_paid.items()}
        self.order_refunded = defaultdict(lambda: ZERO, (
            Refund.objects.filter(order_id__in=orders_paid, status__in=COUNTING).values_list("order_id")
            .annotate(total=Sum("amount")).values_list("order_id", "total")
        ))
        # One through row per (refund, line): each counting refund naming the line is summed once; its
        # price-difference refunds also on their own (what earlier drops already gave back: price_difference).
        self.line_refunded, self.line_protected = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
        for item_id, refunded, protected in (
            Refund.items.through.objects.filter(orderitem_id__in=item_ids, refund__status__in=COUNTING)
            .values_list("orderitem_id").annotate(
                total=Sum("refund__amount"),
                protected=Sum("refund__amount", filter=Q(refund__kind=Refund.Kind.PRICE_DIFFERENCE)),
            ).values_list("orderitem_id", "total", "protected")
        ):
            self.line_refunded[item_id], self.line_protected[item_id] = refunded, protected or ZERO

    def left(self, item: OrderItem) -> Decimal:
        return line_left(paid=item.paid_amount, refunded=self.line_refunded[item.pk],
                         order_paid=self.order_paid[item.order_id], order_refunded=self.order_refunded[item.order_id])

    def protected(self, item: OrderItem) -> Decimal:
        return self.line_protected[item.pk]

    def take(self, item: OrderItem, amount: Decimal, *, price_difference: bool = False) -> None:
        self.line_refunded[item.pk] += amount
        self.order_refunded[item.order_id] += amount
        if price_difference:
            self.line_protected[item.pk] += amount


# --- price differences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceDifference:
    amount: Decimal | None  # what to refund; None when refused
    refusal: str = ""  # why nothing is owed (translated)


def price_difference(
    *, paid_amount: Decimal, quantity: int, new_price: Decimal, protected_before: Decimal, left: Decimal
) -> PriceDifference:
    """What a price drop to `new_price` owes on one order line.

    `protected_before`: price-difference refunds already counting on this line (earlier drops);
    `left`: the line's refundable amount now (after every refund, of any kind).
    """
    paid_unit = paid_amount / quantity
    if new_price * quantity >= paid_amount:
        return PriceDifference(None, _("The new price ¥%(new)s is not below the price paid (¥%(paid)s a unit).")
                               % {"new": new_price, "paid": paid_unit.quantize(CENT)})
    owed = paid_amount - new_price * quantity - protected_before
    if owed <= 0:
        message = _("Earlier price drops on this line already refunded ¥%(before)s, as much as a drop to "
                    "¥%(new)s owes.")
        return PriceDifference(None, message % {"before": protected_before.quantize(CENT), "new": new_price})
    amount = min(owed, left).quantize(CENT)
    if amount <= 0:
        return PriceDifference(None, _("Nothing is left to refund on this order line."))
    return PriceDifference(amount)


def price_protected_on(item: OrderItem) -> Decimal:
    """Price-difference refunds counting on one line (the single-item form of the bulk read)."""
    return (
        Refund.objects.filter(items=item, kind=Refund.Kind.PRICE_DIFFERENCE, status__in=COUNTING)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
