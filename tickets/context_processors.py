from django.contrib.auth import get_user_model
from django.db.models import Func, OuterRef, Subquery

from .models import Delivery, Incident, Notification
from .outbound.selectors import UNDELIVERED
from .policies import desk_groups, is_department_staff, is_finance_staff, is_supervisor, sees_full_tickets


def _count(queryset) -> Subquery:
    # SELECT COUNT(*) as a scalar subquery (Func, not Count: no GROUP BY), to read two counts in one query.
    return Subquery(queryset.order_by().annotate(n=Func("pk", function="COUNT")).values("n")[:1])


def _header_counts(user) -> tuple[int, int, int]:
    """(unread notifications, incidents suggested and not yet confirmed or dismissed, replies not delivered)
    in one query: the last two only supervisors see, on the incidents and undelivered links."""
    unread = _count(Notification.objects.filter(recipient_id=OuterRef("pk"), read_at__isnull=True))
    suggested = _count(Incident.objects.filter(status=Incident.Status.SUGGESTED))
    undelivered = _count(Delivery.objects.filter(state__in=UNDELIVERED))
    row = get_user_model().objects.filter(pk=user.pk).values_list(unread, suggested, undelivered).first()
    return row or (0, 0, 0)


def desk(request):
    """Header data for every page: role flags, the unread-notification count and, for supervisors, the
    suggested incidents waiting for them (one query)."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    supervisor = is_supervisor(user)
    if supervisor:
        unread, suggested, undelivered = _header_counts(user)
    else:
        unread, suggested, undelivered = user.notifications.filter(read_at__isnull=True).count(), 0, 0
    return {
        "desk_is_supervisor": supervisor,
        "desk_groups": desk_groups(user),
        "desk_is_agent_view": sees_full_tickets(user),
        "desk_is_department": is_department_staff(user),
        "desk_is_finance": is_finance_staff(user),
        "desk_unread": unread,
        "desk_suggested_incidents": suggested,
        "desk_undelivered": undelivered,
    }
