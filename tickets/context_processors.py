from .policies import is_department_staff, is_finance_staff, is_supervisor, sees_full_tickets


def desk(request):
    """Header data for every page: role flags and the unread-notification count (one query)."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {
        "desk_is_supervisor": is_supervisor(user),
        "desk_is_agent_view": sees_full_tickets(user),
        "desk_is_department": is_department_staff(user),
        "desk_is_finance": is_finance_staff(user),
        "desk_unread": user.notifications.filter(read_at__isnull=True).count(),
    }
