from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import Order


def order_get_by_number(*, external_number: str, platform: str = "") -> Order:
    """The order a customer names by its number; a clear error when it is unknown or ambiguous."""
    orders = Order.objects.select_related("customer").filter(external_number=external_number.strip())
    if platform:
        orders = orders.filter(platform=platform)
    found = list(orders[:2])
    if not found:
        raise ValidationError({"order_number": _("No order with number %(number)s.") % {"number": external_number}})
    if len(found) > 1:
        raise ValidationError(
            {
                "order_number": _("Order number %(number)s exists on several platforms; choose the platform.")
                % {"number": external_number}
            }
        )
    return found[0]
