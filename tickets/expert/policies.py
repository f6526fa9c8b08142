"""Who may use and manage saved views and macros."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from ..policies import is_supervisor, sees_full_tickets
from .models import SavedView


def can_use_expert_tools(user) -> bool:
    """Saved views and the macro list: the people who work the queue (agents, supervisors, the admin)."""
    return sees_full_tickets(user)


def can_manage_macros(user) -> bool:
    return is_supervisor(user)


def can_manage_saved_view(user, view: SavedView) -> bool:
    """One's own views; a shared view also by any supervisor (they keep the team's tabs tidy)."""
    return view.owner_id == user.pk or (view.shared and is_supervisor(user))


def saved_views_visible_to(user):
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True))


def saved_view_get_for_user(*, user, view_id, for_manage: bool = False) -> SavedView:
    """404 for a view the user may not see (someone else's personal view); 403 to change one they only see."""
    if not can_use_expert_tools(user):
        raise PermissionDenied
    try:
        view = saved_views_visible_to(user).get(pk=view_id)
    except (SavedView.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if for_manage and not can_manage_saved_view(user, view):
        raise PermissionDenied
    return view
