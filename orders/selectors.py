from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Order


def order_get_by_number(*, external_number: str, platform: str = "") -> Order:
    """The order a customer names by its number; a clear error when it is unknown or ambiguous."""
    orders = Order.objects.select_related("customer").filter(external_number=external_number.strip())
    if platform:
        orders = orders.filter(platform=platform)
    found = list(orders[:2])
    if not found:
        raise ValidationError(
            {"order_number": ValidationError(_("No order with number %(number)s.") % {"number": external_number},
                                             code="does_not_exist")}
        )
    if len(found) > 1:
        raise ValidationError(
            {
                "order_number": _("Order number %(number)s exists on several platforms; choose the platform.")
                % {"number": external_number}
            }
        )
    return found[0]


def orders_shipping_overdue(*, now=None):
    """Paid, not shipped, past the promised ship-by time (Tmall: 48 h; late shipment is compensated)."""
    now = now or timezone.now()
    return (
        Order.objects.filter(status=Order.Status.PAID, shipped_at__isnull=True, ship_by__lt=now)
        .select_related("customer")
        .order_by("ship_by")
    )


def orders_logistics_stalled(*, hours: int, now=None):
    """Shipped parcels with no tracking update for `hours` (or marked stalled), not yet delivered."""
    now = now or timezone.now()
    moving = (Order.LogisticsStatus.AWAITING_PICKUP, Order.LogisticsStatus.COLLECTED, Order.LogisticsStatus.IN_TRANSIT)
    return (
        Order.objects.filter(
            Q(logistics_status=Order.LogisticsStatus.STALLED)
            | Q(logistics_status__in=moving, logistics_updated_at__lt=now - timedelta(hours=hours))
        )
        .select_related("customer")
        .order_by("logistics_updated_at")
    )
