"""Reads for the expert agent's tools: the saved views shown on the queue with their counts, the macros."""

import hashlib
import time as clock
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import QueryDict

from ..filters import TicketFilter, queue_filter, queue_from
from ..live import desk_shared
from .forms import view_query_pairs
from .models import Macro, SavedView
from .policies import can_manage_saved_view, saved_views_visible_to

# The queue shows at most this many saved views (shared first, then one's own, by name): each count is one
# COUNT query when its cached figure has expired, so the page makes at most this many more.
SAVED_VIEWS_SHOWN = 12
SAVED_VIEW_COUNT_SECONDS = 30


def saved_views_for_queue(*, user, visible, current: str = "") -> list[dict]:
    """The views to show as tabs, each with its ticket count (the filterset's COUNT over the tickets the
    user sees), cached per user and view for 30 s: one query for the list, plus one per view whose count
    is not cached (never more than SAVED_VIEWS_SHOWN)."""
    views = list(saved_views_visible_to(user).select_related("owner")[:SAVED_VIEWS_SHOWN])
    # Put in a saved view's order, unchecked: a saved query was checked when saved, so a page whose query
    # reads the same is that view (checking it against the filter cost more than the rest of the tabs).
    current = urlencode(view_query_pairs(current))
    return [{"view": view, "count": _count(view, user=user, visible=visible), "active": view.query == current,
             "manageable": can_manage_saved_view(user, view)} for view in views]


def _count(view: SavedView, *, user, visible) -> int | None:
    digest = hashlib.sha1(view.query.encode()).hexdigest()[:12]
    window = int(clock.time() // SAVED_VIEW_COUNT_SECONDS)
    key = f"savedview:count:{user.pk}:{view.pk}:{digest}:{window}"

    def counted() -> int | None:
        data = QueryDict(view.query)
        queue = queue_from(data)
        filterset = TicketFilter(data, queryset=visible.filter(queue_filter(queue, user)))
        if not filterset.is_valid():  # a choice removed since the view was saved: no figure, no error
            return None
        return filterset.qs.order_by().count()

    return cache.get_or_set(key, counted, SAVED_VIEW_COUNT_SECONDS * 2)


def macros_for_agents():
    return Macro.objects.select_related("subtask_department").order_by("name")


MACROS_OFFERED = "macros"


def macros_offered() -> list[Macro]:
    """The macros a ticket page offers, shared by every page for SHARED_CHOICES_SECONDS (live.desk_shared).
    Saving or deleting one on the macros page forgets the shared list (services.macro_save, macro_delete), so
    the supervisor sees the change on the next ticket page; applying one reads it afresh (MacroApplyForm)."""
    return desk_shared(MACROS_OFFERED, lambda: list(macros_for_agents()), seconds=settings.SHARED_CHOICES_SECONDS)
