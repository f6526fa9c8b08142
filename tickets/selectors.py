"""Reads of tickets with their related rows fetched up front (constant queries per page)."""

from collections import namedtuple
from collections.abc import Collection

from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property

from orders.models import OrderItem

from .models import Attachment, Delivery, Message, Subtask, Ticket, TicketEvent


def ticket_list(queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    queryset = Ticket.objects.all() if queryset is None else queryset
    return queryset.select_related("customer", "order", "assignee")


# What a row of a ticket list shows (the queue, the dashboard's lists): the number, the SLA clocks, the
# labels, and the customer's, order's and assignee's names. A row template that shows another column would
# read it once per row: the pinned query counts (tests/test_list_page_queries.py) fail if so.
LIST_ROW_FIELDS = (
    "number", "status", "type", "priority", "risk_level", "created_at",
    "sla_state", "sla_policy", "first_response_due_at", "next_response_due_at", "resolution_due_at",
    "escalation_level", "customer__name", "customer__platform", "order__external_number", "assignee__username",
)


def _relations_read(fields) -> dict[str, list[str]]:
    """The relations of `fields` read a field of, with those fields: {"customer": ["name", "platform"], ...}."""
    relations: dict[str, list[str]] = {}
    for relation, field in (name.split("__") for name in fields if "__" in name):
        relations.setdefault(relation, []).append(field)
    return relations


_LIST_ROW_RELATIONS = _relations_read(LIST_ROW_FIELDS)
# A listed ticket's columns: its own (a foreign key by its id, each relation's too) and its relations' fields
# as `relation__field`.
LIST_ROW_COLUMNS = ("id", *(f"{relation}_id" for relation in _LIST_ROW_RELATIONS), *(
    name if "__" in name else Ticket._meta.get_field(name).attname for name in LIST_ROW_FIELDS))


class ListedTicket(namedtuple("ListedTicketColumns", LIST_ROW_COLUMNS)):
    """A ticket as a list row shows it: its LIST_ROW_COLUMNS as read, a tuple. A row found rendered in the
    cache (tickets/fragments.py: the values are its key) is never built into a Ticket with its customer,
    order and assignee, four model instances that cost a page of 50 rows more than reading them; `ticket()`
    builds them for a row that is rendered. The SLA column's clock stop is set on it (with_clock_stops)."""

    clock_stop = None
    pk = property(lambda self: self.id)
    sla_next_due_at = Ticket.sla_next_due_at  # the same rule, read off the same columns

    def ticket(self, using: str = DEFAULT_DB_ALIAS) -> Ticket:
        """The Ticket with only these columns loaded (any other is read on first use, as with only()) and its
        customer, order and assignee, as select_related would have set them."""
        columns = self._asdict()
        ticket = _loaded(Ticket, using, {name: value for name, value in columns.items() if "__" not in name})
        for relation, fields in _LIST_ROW_RELATIONS.items():
            related_id = columns[f"{relation}_id"]
            setattr(ticket, relation, None if related_id is None else _loaded(
                Ticket._meta.get_field(relation).related_model, using,
                {"id": related_id, **{field: columns[f"{relation}__{field}"] for field in fields}}))
        ticket.clock_stop = self.clock_stop
        return ticket


def _loaded(model, using: str, values: dict):
    """`model` as the database gave these columns (Model.from_db: the others deferred), in the model's order."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(using, names, [values[name] for name in names])


def ticket_rows(queryset: QuerySet[Ticket]) -> list[ListedTicket]:
    """Tickets as a list row shows them (LIST_ROW_FIELDS), in the queryset's order."""
    return [ListedTicket._make(values) for values in queryset.values_list(*LIST_ROW_COLUMNS)]


# A filtered or searched list of at most this many tickets is read whole, ids only: its length is the
# count, so the search is run once instead of twice (COUNT, then the page). Longer ones are counted.
WHOLE_LIST_IDS = 20_000


class CountedUpTo(Paginator):
    """A paginator that counts at most `most` + 1 rows: past `most`, `count` is `most` and `capped` is set
    (the page shows "1,000+"), and the pages stop there. A search's matches are counted so: a common
    word's 100,000 matches are not counted for a page that shows 50 of them."""

    def __init__(self, ids: QuerySet, per_page: int, *, most: int):
        super().__init__(ids, per_page)
        self.most = most

    @cached_property
    def counted(self) -> int:
        return self.object_list.order_by()[:self.most + 1].count()  # COUNT(*) over a LIMIT: stops there

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.most)

    @property
    def capped(self) -> bool:
        return self.counted > self.most

    @property
    def count_grouped(self) -> str:
        return number_format(self.count, force_grouping=True)  # "1,000"


def ticket_page(ids: QuerySet, *, number, per_page: int, known_count: int | None = None,
                count_at_most: int | None = None) -> Page:
    """One page of a ticket list given as ordered ids: the page's ids first, without joins (a search
    matching thousands sorts ids only), then just the rows shown with their customer, order and
    assignee (ticket_rows). `known_count` (a tab's count) spares counting the list; `count_at_most` (a search)
    counts it only so far (CountedUpTo)."""
    if known_count is not None:
        paginator = Paginator(ids, per_page)
        paginator.count = known_count
    elif count_at_most is not None:
        paginator = CountedUpTo(ids, per_page, most=count_at_most)
    else:
        head = list(ids[:WHOLE_LIST_IDS + 1])
        paginator = Paginator(head if len(head) <= WHOLE_LIST_IDS else ids, per_page)
    page = paginator.get_page(number)
    page_ids = list(page.object_list)
    rows = {row.id: row for row in ticket_rows(Ticket.objects.filter(pk__in=page_ids).order_by())}
    page.object_list = [rows[pk] for pk in page_ids if pk in rows]  # page_ids hold the order
    return page


def _page_prefetches() -> dict[str, Prefetch]:
    return {
        "subtasks": Prefetch("subtasks", queryset=Subtask.objects.select_related("department", "assignee")),
        "solutions": Prefetch("solutions"),
        "affected_items": Prefetch("affected_items", queryset=OrderItem.objects.select_related("product")),
        "attachments": Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
    }


def ticket_detail(queryset: QuerySet[Ticket] | None = None, lists: Collection[str] | None = None) -> QuerySet[Ticket]:
    """A ticket with what its page shows beside the timeline (ticket_timeline reads that, when it is not cached);
    `lists`: only these of its lists (ticket_for_page)."""
    return ticket_list(queryset).select_related("sla_policy").prefetch_related(
        *(prefetch for name, prefetch in _page_prefetches().items() if lists is None or name in lists))


# The ticket's lists its page shows (each the name the ticket reads it by), asked at once which have rows.
TICKET_PAGE_LISTS = ("subtasks", "solutions", "affected_items", "attachments", "surveys", "follow_ups",
                     "incidents", "refunds", "shipments")


def ticket_for_page(queryset: QuerySet[Ticket], ticket_id: int) -> Ticket:
    """The ticket as ticket_detail reads it, its lists read only where they have rows: which have is asked
    first, in one query (ticket_lists_present), and an empty list is known empty without a query of its own.
    An open case has few yet (no survey, follow-up or refund before it is resolved): most of the ten
    queries a page would read them in find nothing. `ticket.lists_present` names them for what the page
    reads after the ticket (has_rows). Raises Ticket.DoesNotExist (or ValueError) as QuerySet.get does."""
    present = ticket_lists_present(int(ticket_id))
    ticket = ticket_detail(queryset, present).get(pk=ticket_id)
    for name in _page_prefetches().keys() - present:
        # Stored as prefetch_related_objects stores a list it read: `ticket.<name>.all()` reads no more.
        empty = getattr(ticket, name).none()
        empty._result_cache, empty._prefetch_done = [], True
        ticket.__dict__.setdefault("_prefetched_objects_cache", {})[name] = empty
    ticket.lists_present = present
    return ticket


def ticket_lists_present(ticket_id: int) -> frozenset[str]:
    """Which of TICKET_PAGE_LISTS have a row for the ticket: one hand-written query, an index probe each."""
    quote = connection.ops.quote_name
    probes = [f"EXISTS (SELECT 1 FROM {quote(table)} WHERE {quote(column)} = %s)"
              for table, column in map(_rows_of, TICKET_PAGE_LISTS)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(probes), [ticket_id] * len(probes))
        found = cursor.fetchone()
    return frozenset(name for name, exists in zip(TICKET_PAGE_LISTS, found, strict=True) if exists)


def _rows_of(name: str) -> tuple[str, str]:
    """The table and column that hold a ticket's rows of the relation `name` (a many-to-many's through table)."""
    relation = Ticket._meta.get_field(name)
    if relation.many_to_many and relation.concrete:  # Ticket.affected_items
        return relation.remote_field.through._meta.db_table, relation.m2m_column_name()
    if relation.many_to_many:  # Incident.tickets, read from the ticket as `incidents`
        return relation.through._meta.db_table, relation.field.m2m_reverse_name()
    return relation.related_model._meta.db_table, relation.field.column


def has_rows(ticket: Ticket, name: str) -> bool:
    """Whether the ticket's list `name` may have rows: False only when the ticket was read for its page
    (ticket_for_page) and the list had none then."""
    present = getattr(ticket, "lists_present", None)
    return present is None or name in present


def ticket_page_records(ticket: Ticket) -> dict:
    """What the ticket page shows beside the prefetched ticket: the order's items, the follow-ups and the
    survey answers (a query each, whatever their length; none for a list the ticket has no rows in)."""
    return {
        "order_items": list(ticket.order.items.select_related("product")) if ticket.order_id else [],
        "surveys": list(ticket.surveys.all()) if has_rows(ticket, "surveys") else [],
        "follow_ups": list(ticket.follow_ups.select_related("recorded_by")) if has_rows(ticket, "follow_ups") else [],
    }


def tickets_assigned_to(user) -> QuerySet[Ticket]:
    """ "My tickets": the open tickets I work, newest first."""
    return ticket_list(Ticket.objects.open().filter(assignee=user)).order_by("-created_at", "-id")


def tickets_unassigned() -> QuerySet[Ticket]:
    """The queue agents take from: open, nobody on it, oldest first (first come, first served)."""
    return ticket_list(Ticket.objects.open().filter(assignee__isnull=True)).order_by("created_at", "id")


def subtask_list(queryset: QuerySet[Subtask] | None = None) -> QuerySet[Subtask]:
    queryset = Subtask.objects.all() if queryset is None else queryset
    return queryset.select_related("ticket", "department", "assignee")


def subtasks_of_department(department_id: int) -> QuerySet[Subtask]:
    """A department's inbox: its active subtasks, the earliest due first (no due date last)."""
    return subtask_list(
        Subtask.objects.filter(department_id=department_id, status__in=Subtask.ACTIVE_STATUSES)
    ).order_by(F("due_at").asc(nulls_last=True), "id")


def subtasks_overdue(*, now=None, department_id: int | None = None) -> QuerySet[Subtask]:
    now = now or timezone.now()
    queryset = Subtask.objects.filter(status__in=Subtask.ACTIVE_STATUSES, due_at__lt=now)
    if department_id is not None:
        queryset = queryset.filter(department_id=department_id)
    return subtask_list(queryset).order_by("due_at", "id")


def customer_recent_tickets(customer_id: int, *, exclude_id: int | None = None, limit: int = 5) -> list[Ticket]:
    """The customer's last tickets (for the intake lookup and the ticket page's customer panel): the number,
    status and date they show, not a ticket's ~60 columns."""
    tickets = Ticket.objects.filter(customer_id=customer_id).exclude(pk=exclude_id)
    return list(tickets.only("number", "status", "created_at").order_by("-created_at")[:limit])


def orders_with_history(number: str) -> list:
    """Orders with that number (one per platform at most), each with the customer's last tickets."""
    from orders.models import Order

    if not number:
        return []
    orders = list(
        Order.objects.filter(external_number=number).select_related("customer").prefetch_related("items__product")[:3]
    )
    return [(order, customer_recent_tickets(order.customer_id)) for order in orders]


def ticket_timeline(ticket: Ticket) -> list[tuple]:
    """Messages, events and attachments in one list, oldest first (two queries, the attachments prefetched by
    ticket_detail). Each outbound message carries its deliveries as `delivery_list` (one query for the whole
    ticket, none without a reply)."""
    messages = list(Message.objects.filter(ticket=ticket).select_related("author"))
    by_message: dict[int, list[Delivery]] = {}
    if any(m.direction == Message.Direction.OUTBOUND for m in messages):
        for delivery in Delivery.objects.filter(message__ticket=ticket).order_by("id"):
            by_message.setdefault(delivery.message_id, []).append(delivery)
    for message in messages:
        message.delivery_list = by_message.get(message.pk, [])
    return sorted(
        [("message", m.created_at, m) for m in messages]
        + [("event", e.created_at, e) for e in TicketEvent.objects.filter(ticket=ticket).select_related("actor")]
        + [("attachment", a.created_at, a) for a in ticket.attachments.all()],
        key=lambda item: (item[1], item[0]),
    )


def ticket_changes_by_others(ticket: Ticket, *, user, since=None, limit: int = 5) -> list[dict]:
    """The latest changes someone other than `user` made (since `user` loaded the page, when known):
    shown when `user` saves from a stale page."""
    from .timeline import event_label

    events = TicketEvent.objects.filter(ticket=ticket).exclude(actor=user).select_related("actor")
    if since is not None:
        events = events.filter(created_at__gte=since)
    events = events.order_by("-created_at", "-id")[:limit]
    return [
        {
            "who": (event.actor.get_full_name() or event.actor.username) if event.actor else "",
            "what": event_label(event.action),
            "when": event.created_at,
            "reason": event.reason_text,
            "changes": [(_field_label(name), [_field_value(name, value) for value in change])
                        for name, change in (event.changes or {}).items()
                        if isinstance(change, list) and len(change) == 2],
        }
        for event in events
    ]


def _field_label(name: str) -> str:
    try:
        return str(Ticket._meta.get_field(name).verbose_name)
    except Exception:  # not a ticket field (e.g. "subtask"): the code is the best label there is
        return name


def _field_value(name: str, value):
    """A recorded value as the page words it: a choice by its label ("咨询", not "consultation")."""
    try:
        choices = dict(Ticket._meta.get_field(name).flatchoices)
    except Exception:  # not a ticket field: as recorded
        return value
    return str(choices[value]) if isinstance(value, str) and value in choices else value
