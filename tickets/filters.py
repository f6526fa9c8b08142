"""Ticket filters, search and ordering shared by the browser queue and the REST API."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from customers.models import Platform

from .models import OPEN_STATUSES, Category, Channel, Priority, RiskLevel, SLAState, Status, Tag, Ticket, TicketType


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


ORDERING_CHOICES = (
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("priority", _("Priority")),
    ("sla_next_check_at", _("SLA due soonest")),
    ("-updated_at", _("Recently updated")),
)


@extend_schema_field(OpenApiTypes.STR)
class TagNameFilter(django_filters.ModelMultipleChoiceFilter):
    """Tickets carrying any of the named tags (repeat the parameter for several)."""


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("Status"))
    type = django_filters.MultipleChoiceFilter(choices=TicketType.choices, label=_("Type"))
    category = django_filters.MultipleChoiceFilter(choices=Category.choices, label=_("Category"))
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, label=_("Priority"))
    sla_state = django_filters.MultipleChoiceFilter(choices=SLAState.choices, label=_("SLA"))
    risk_level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices, label=_("Risk"))
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, label=_("Channel"))
    platform = django_filters.MultipleChoiceFilter(
        field_name="customer__platform", choices=Platform.choices, label=_("Platform")
    )
    tags = TagNameFilter(
        field_name="tags__name", to_field_name="name", queryset=Tag.objects.all(), label=_("Tags")
    )
    assignee = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), label=_("Assignee"))
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("Created from"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("Created to"))
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "created_at"), ("priority", "priority"), ("sla_next_check_at", "sla_next_check_at"),
                ("updated_at", "updated_at")),
        label=_("Sort"),
    )

    class Meta:
        model = Ticket
        fields = []

    def search(self, queryset, name, value):
        """Ticket number, order number, customer phone, name or platform account, or the customer's words."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__iexact=value)
            | Q(order__external_number=value)
            | Q(customer__phone=value)
            | Q(customer__platform_account=value)
            | Q(customer__name=value)
            | Q(description__icontains=value)
        )
