"""Ticket filters, search and ordering shared by the browser queue and the REST API."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from aftersales.filters import AnyIdFilter, ApiFilterSet
from aftersales.timezone import shop_timezone
from customers.models import Platform

from .live import desk_shared
from .models import (
    OPEN_STATUSES,
    Category,
    Channel,
    Priority,
    RiskLevel,
    SLAState,
    Status,
    Tag,
    Ticket,
    TicketType,
    ticket_earliest_due,
)
from .search import tickets_search


class Queue:
    """The agent workspace's queues (tabs), each a filter over open tickets."""

    MINE = "mine"
    UNASSIGNED = "unassigned"
    TEAM = "team"
    ALL_OPEN = "open"
    WAITING_DEPARTMENT = "waiting_department"
    WAITING_CUSTOMER = "waiting_customer"
    ESCALATED = "escalated"
    FOLLOW_UP = "follow_up"  # resolved: confirm with the customer, ask how we did (回访)
    ALL = "all"


QUEUE_LABELS = {
    Queue.MINE: _("Mine"),
    Queue.UNASSIGNED: _("Unassigned"),
    Queue.TEAM: _("My team"),
    Queue.ALL_OPEN: _("All open"),
    Queue.WAITING_DEPARTMENT: _("Waiting on departments"),
    Queue.WAITING_CUSTOMER: _("Waiting on customer"),
    Queue.ESCALATED: _("Escalated"),
    Queue.FOLLOW_UP: _("Follow-up"),
    Queue.ALL: _("All tickets"),
}


# Every counted tab (all but "all") is a subset of these: the tab counts read only these tickets.
QUEUE_COUNTED_STATUSES = (*OPEN_STATUSES, Status.RESOLVED)


def queue_filter(queue: str, user) -> Q:
    open_ = Q(status__in=OPEN_STATUSES)
    return {
        Queue.MINE: open_ & Q(assignee=user),
        Queue.UNASSIGNED: open_ & Q(assignee__isnull=True),
        Queue.TEAM: open_ & Q(assignee__isnull=False),
        Queue.ALL_OPEN: open_,
        Queue.WAITING_DEPARTMENT: Q(status=Status.WAITING_DEPARTMENT),
        Queue.WAITING_CUSTOMER: Q(status=Status.WAITING_CUSTOMER),
        Queue.ESCALATED: open_ & Q(escalation_level__gt=0),
        Queue.FOLLOW_UP: Q(status=Status.RESOLVED),
        Queue.ALL: Q(),
    }.get(queue, open_)


def queue_from(params) -> str:
    """The tab a query string asks for; "mine" when it names none or one that does not exist (the queue
    page, its exports and the saved views' counts read it the same way)."""
    queue = params.get("queue", Queue.MINE)
    return queue if queue in QUEUE_LABELS else Queue.MINE


def queue_counts(tickets: QuerySet[Ticket], user, stamp: str = "") -> dict[str, int]:
    """Every tab's count but "all"'s, in one query over the open and resolved tickets only (index-only
    on ticket_queue_counts_idx). It groups by the columns queue_filter looks at and sums the few dozen
    groups here: one COUNT(...) FILTER per tab made PostgreSQL test each tab's condition on every row,
    several times slower. _queues_of must say what queue_filter says (tests/perf/test_queue_queries.py).
    `stamp`: the desk's change stamp read before (tickets/live.py): counts shared between pages are then
    those of exactly that state of the desk, so a live refresh after a change never shows the old ones."""
    counts = dict.fromkeys((name for name in QUEUE_LABELS if name != Queue.ALL), 0)
    for status, assignee_id, escalation_level, n in _queue_groups(tickets, stamp):
        for queue in _queues_of(status, assignee_id, escalation_level, user.pk):
            counts[queue] += n
    return counts


def _queue_groups(tickets: QuerySet[Ticket], stamp: str = "") -> list[tuple]:
    """(status, assignee, escalation level, tickets) of the counted tickets. Over all tickets (what every
    agent sees) the groups are the same for everyone, so they are shared (desk_shared): every agent's page
    does not group 30,000 open tickets again."""
    def grouped() -> list[tuple]:
        return list(tickets.filter(status__in=QUEUE_COUNTED_STATUSES).order_by()
                    .values_list("status", "assignee_id", "escalation_level").annotate(n=Count("status")))

    if tickets.query.where:  # a narrowed set is someone's own: count it as it is
        return grouped()
    return desk_shared("queue:groups", grouped, stamp)


def _queues_of(status: str, assignee_id: int | None, escalation_level: int, user_id: int) -> list[str]:
    """The counted tabs a ticket shows in: queue_filter, row by row."""
    if status not in OPEN_STATUSES:
        return [Queue.FOLLOW_UP] if status == Status.RESOLVED else []
    queues = [Queue.ALL_OPEN, Queue.UNASSIGNED if assignee_id is None else Queue.TEAM]
    if assignee_id is not None and assignee_id == user_id:
        queues.append(Queue.MINE)
    if status == Status.WAITING_DEPARTMENT:
        queues.append(Queue.WAITING_DEPARTMENT)
    elif status == Status.WAITING_CUSTOMER:
        queues.append(Queue.WAITING_CUSTOMER)
    if escalation_level > 0:
        queues.append(Queue.ESCALATED)
    return queues


# Every direction of TicketFilter.ordering's fields, named for people (the API takes the same values).
ORDERING_CHOICES = (
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("priority", _("Most urgent first")),
    ("-priority", _("Least urgent first")),
    ("sla_next_check_at", _("SLA due soonest")),
    ("-sla_next_check_at", _("SLA due latest")),
    # The earliest running due time (the one the list's countdown shows): for breached tickets, when they
    # breached. The dashboard's "breached" count links to its list sorted newest breach first.
    ("-sla_due_at", _("Newest breach first")),
    ("sla_due_at", _("Oldest breach first")),
    ("-updated_at", _("Recently updated")),
    ("updated_at", _("Longest untouched")),
)


class TagNamesField(django_filters.fields.ModelMultipleChoiceField):
    """Tag names as given (the browser offers the shop's tags): a name no tag has matches no ticket."""

    def clean(self, value):
        return [name for name in value or () if name]


@extend_schema_field(OpenApiTypes.STR)
class TagNameFilter(django_filters.ModelMultipleChoiceFilter):
    """Tickets carrying any of the named tags (repeat the parameter for several)."""

    field_class = TagNamesField


SLA_DUE_ALIASES = {"sla_next_check_at": "sla_due_at", "-sla_next_check_at": "-sla_due_at"}


class TicketOrderingFilter(django_filters.OrderingFilter):
    """The chosen sort, ties broken newest first: priority or an SLA time is shared by many tickets, and
    pages over a sort with ties repeat or skip tickets. The indexes on (priority, created_at) and on each
    time serve the tie-break as an incremental sort."""

    def filter(self, qs, value):
        # "SLA due soonest / latest" (sla_next_check_at, its name kept for links, saved views and API clients)
        # sorts by the earliest running due time, as the breach orders do.
        value = [SLA_DUE_ALIASES.get(str(v), v) for v in value or ()]
        if any(str(v).lstrip("-") == "sla_due_at" for v in value):
            qs = qs.annotate(sla_due_at=ticket_earliest_due())
        qs = super().filter(qs, value)
        if not value:
            return qs
        chosen = [str(field).lstrip("-") for field in qs.query.order_by]
        fields = [_nulls_last(field) for field in qs.query.order_by]
        return qs.order_by(*fields, *(f"-{tie}" for tie in ("created_at", "id") if tie not in chosen))


def _nulls_last(field):
    # Tickets without a due time (no SLA policy, or paused) go last in either direction, as on every database.
    if isinstance(field, str) and field.lstrip("-") == "sla_due_at":
        return F("sla_due_at").desc(nulls_last=True) if field.startswith("-") else F("sla_due_at").asc(nulls_last=True)
    return field


class TicketFilter(ApiFilterSet):
    # distinct=False: these filter the ticket's own columns (or its one customer), so they cannot repeat a
    # row; django-filter's default SELECT DISTINCT over every column would make PostgreSQL sort the whole
    # match instead of reading the first page in index order. `tags` (many-to-many) is an EXISTS for that.
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("Status"), distinct=False)
    type = django_filters.MultipleChoiceFilter(choices=TicketType.choices, label=_("Type"), distinct=False)
    category = django_filters.MultipleChoiceFilter(choices=Category.choices, label=_("Category"), distinct=False)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, label=_("Priority"), distinct=False)
    sla_state = django_filters.MultipleChoiceFilter(choices=SLAState.choices, label=_("SLA"), distinct=False)
    risk_level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices, label=_("Risk"), distinct=False)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, label=_("Channel"), distinct=False)
    platform = django_filters.MultipleChoiceFilter(
        field_name="customer__platform", choices=Platform.choices, label=_("Platform"), distinct=False
    )
    tags = TagNameFilter(
        field_name="tags__name", to_field_name="name", queryset=Tag.objects.all(), label=_("Tags"), method="with_tags"
    )
    assignee = AnyIdFilter(queryset=get_user_model().objects.all(), label=_("Assignee"))
    # Days of the shop's calendar, as a range on the timestamp so ticket_created_idx serves it.
    created_after = django_filters.DateFilter(method="created_from", label=_("Created from"))
    created_before = django_filters.DateFilter(method="created_to", label=_("Created to"))
    ordering = TicketOrderingFilter(
        fields=(("created_at", "created_at"), ("priority", "priority"), ("updated_at", "updated_at"),
                ("sla_due_at", "sla_due_at")),
        choices=ORDERING_CHOICES, label=_("Sort"),
    )

    class Meta:
        model = Ticket
        fields = []

    def search(self, queryset, name, value):
        return tickets_search(queryset, value)

    def with_tags(self, queryset, name, value):
        if not value:
            return queryset
        tagged = Ticket.tags.through.objects.filter(ticket=OuterRef("pk"), tag__name__in=value)
        return queryset.filter(Exists(tagged))

    def created_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_shop_midnight(value))

    def created_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_shop_midnight(value + timedelta(days=1)))


def _shop_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=shop_timezone())
