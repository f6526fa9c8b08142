"""Reads of deliveries: what did not reach the customer (the supervisors' list)."""

from django.db.models import QuerySet

from ..models import Delivery

UNDELIVERED = (Delivery.State.DEAD, Delivery.State.NO_CHANNEL)


def deliveries_undelivered() -> QuerySet[Delivery]:
    """Dead and not-configured deliveries, newest change first, with their ticket (no query per row)."""
    return (Delivery.objects.filter(state__in=UNDELIVERED)
            .select_related("message__ticket", "message__author").order_by("-updated_at", "-id"))
