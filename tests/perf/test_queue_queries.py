"""The agent queue at scale (tickets/views.py ticket_queue, the API ticket list): tab counts from one
grouped query over open and resolved tickets that agree with queue_filter, no second COUNT for an
unfiltered tab, no SELECT DISTINCT for filters that cannot repeat a row, a constant number of queries
whatever the number of tickets, and on PostgreSQL the partial indexes of migration 0017 behind each query.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import OrderItemFactory, TicketFactory
from tickets.filters import QUEUE_LABELS, Queue, TicketFilter, queue_counts, queue_filter
from tickets.models import OPEN_STATUSES, Category, SLAState, Status, Tag, Ticket, TicketType

OPEN_API = "/api/v1/tickets/?" + "&".join(f"status={s}" for s in OPEN_STATUSES)
FILTERED = (f"/?queue=open&type={TicketType.RETURN_REFUND}&category={Category.PRODUCT_QUALITY}"
            f"&sla_state={SLAState.BREACHED}")


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _every_kind(agent, senior):
    """A ticket for each status x assignee (me, someone else, nobody) x escalated or not."""
    for status in Status.values:
        for assignee in (agent, senior, None):
            for escalation_level in (0, 2):
                TicketFactory(status=status, assignee=assignee, escalation_level=escalation_level)


def _tickets(n, **fields):
    for _ in range(n):
        order = OrderItemFactory().order
        TicketFactory(customer=order.customer, order=order, status=Status.IN_PROGRESS,
                      resolution_due_at=timezone.now() + timedelta(hours=8), **fields)


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in ctx.captured_queries]


# Counts ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tab_counts_agree_with_each_tab_filter(agent, senior):
    _every_kind(agent, senior)

    for user in (agent, senior):
        counts = queue_counts(Ticket.objects.all(), user)
        expected = {name: Ticket.objects.filter(queue_filter(name, user)).count()
                    for name in QUEUE_LABELS if name != Queue.ALL}
        assert counts == expected
    assert counts[Queue.FOLLOW_UP] == 6 and counts[Queue.ALL_OPEN] == 30


@pytest.mark.django_db
def test_tab_counts_are_taken_once_per_window_for_every_agent(settings, agent, senior):
    """Big-promo path: the grouped counts of all tickets are shared through the cache for a few seconds."""
    from django.core.cache import cache

    settings.QUEUE_COUNTS_SECONDS = 3600
    cache.clear()
    _every_kind(agent, senior)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        first = queue_counts(Ticket.objects.all(), agent)
        TicketFactory(status=Status.NEW, assignee=senior)

        with CaptureQueriesContext(connection) as ctx:
            for_senior = queue_counts(Ticket.objects.all(), senior)
        assert len(ctx) == 0  # the same window: nothing counted again
        assert for_senior[Queue.ALL_OPEN] == first[Queue.ALL_OPEN] == 30  # the new ticket waits for the next count
        assert for_senior[Queue.MINE] == Ticket.objects.filter(queue_filter(Queue.MINE, senior)).count() - 1
        # someone's own narrowed set is never shared: counted as it is
        assert queue_counts(Ticket.objects.filter(assignee=senior), senior)[Queue.MINE] == 11

        traveller.shift(3600)
        assert queue_counts(Ticket.objects.all(), senior)[Queue.ALL_OPEN] == 31


@pytest.mark.django_db
def test_queue_page_shows_the_counts_and_reuses_the_tab_count_for_the_pager(supervisor, agent, senior):
    _every_kind(agent, senior)
    client = _web(supervisor)

    sqls = _queries(client, "/?queue=open")
    response = client.get("/?queue=open")
    tabs = dict(response.context["queues"][i][::2] for i in range(len(QUEUE_LABELS)))
    assert tabs[Queue.ALL_OPEN] == 30 and tabs[Queue.FOLLOW_UP] == 6 and tabs[Queue.ALL] is None
    assert response.context["page"].paginator.count == 30
    assert "(30 tickets)" in response.text
    # The tabs' one grouped query, and no COUNT of the list: the "All open" tab already said how many.
    assert [s for s in sqls if "tickets_ticket" in s and "COUNT(" in s.upper()] == [
        s for s in sqls if "GROUP BY" in s and "tickets_ticket" in s]


@pytest.mark.django_db
def test_a_filtered_tab_counts_its_own_rows(supervisor, agent, senior):
    _every_kind(agent, senior)
    Ticket.objects.filter(status=Status.IN_PROGRESS, assignee=agent).update(type=TicketType.RETURN_REFUND)
    client = _web(supervisor)

    response = client.get(f"/?queue=open&type={TicketType.RETURN_REFUND}")
    assert response.context["page"].paginator.count == 2
    assert "(2 tickets)" in response.text
    # An unknown value is ignored by the filter but still counted honestly (no reuse of the tab count).
    assert client.get("/?queue=open&type=nonsense").context["page"].paginator.count == 30
    assert client.get("/?queue=open&ordering=-created_at").context["page"].paginator.count == 30


def _list_counts(sqls) -> list[str]:
    return [s for s in sqls if "tickets_ticket" in s and "COUNT(" in s.upper() and "GROUP BY" not in s]


@pytest.mark.django_db
def test_a_short_filtered_list_is_read_once_and_a_long_one_is_counted(supervisor, monkeypatch):
    from tickets import selectors
    from tickets.views import queue as views

    _tickets(7, type=TicketType.RETURN_REFUND)
    _tickets(2, type=TicketType.EXCHANGE)
    client = _web(supervisor)
    url = f"/?queue=all&type={TicketType.RETURN_REFUND}&page=2"
    monkeypatch.setattr(views, "PAGE_SIZE", 5)

    for whole_list_ids, counted in ((20_000, False), (6, True)):
        monkeypatch.setattr(selectors, "WHOLE_LIST_IDS", whole_list_ids)
        sqls = _queries(client, url)
        page = client.get(url).context["page"]
        assert (page.paginator.count, page.paginator.num_pages, len(page.object_list)) == (7, 2, 2)
        assert {t.type for t in page.object_list} == {TicketType.RETURN_REFUND}
        assert bool(_list_counts(sqls)) == counted, sqls


# DISTINCT --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_filter_asks_for_distinct_rows_tags_included():
    Tag.objects.get_or_create(name="a")
    data = {"status": ["new", "triaged"], "type": "return_refund", "category": "product_quality",
            "priority": "P1", "sla_state": "breached", "risk_level": "high", "channel": "chat",
            "platform": "taobao", "tags": ["a"]}
    query = TicketFilter(data, queryset=Ticket.objects.all()).qs.query
    assert not query.distinct
    assert "EXISTS" in str(query)  # tags: a semi-join, so a ticket with two asked tags cannot repeat


@pytest.mark.django_db
def test_a_ticket_with_two_of_the_asked_tags_is_listed_once(agent):
    ticket = TicketFactory(status=Status.IN_PROGRESS)
    a, b = Tag.objects.create(name="qa-a"), Tag.objects.create(name="qa-b")
    ticket.tags.add(a, b)

    response = _api(agent).get("/api/v1/tickets/?tags=qa-a&tags=qa-b")
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


# Constant queries ------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/?queue=open", "/", FILTERED, "/?queue=all"])
def test_queue_pages_make_the_same_queries_for_3_or_40_rows(supervisor, agent, url):
    client = _web(supervisor)
    fields = {"assignee": supervisor, "type": TicketType.RETURN_REFUND, "category": Category.PRODUCT_QUALITY,
              "sla_state": SLAState.BREACHED}
    _tickets(3, **fields)
    client.get(url)  # warm caches (content types, session)
    few = len(_queries(client, url))
    _tickets(37, **fields)
    many = len(_queries(client, url))

    assert few == many, f"{url}: {few} queries for 3 rows, {many} for 40"
    # session, user, roles, tab counts, the ids, the 50 rows, unread notices, the menu's roles, the
    # filter bar's tags and assignees (one query each, not a COUNT before each), the bulk form's open
    # incidents, the desk's change stamp for the live poll and the person's saved views
    assert few <= 14, few


@pytest.mark.django_db
def test_api_open_list_makes_the_same_queries_for_3_or_51_rows(supervisor):
    client = _api(supervisor)
    _tickets(3, assignee=supervisor)
    client.get(OPEN_API)
    few = _queries(client, OPEN_API)
    _tickets(48, assignee=supervisor)  # 51: a second page
    many = _queries(client, OPEN_API)

    assert len(few) == len(many)
    [listing] = [s for s in many if "tickets_ticket" in s]
    assert "DISTINCT" not in listing
    response = client.get(OPEN_API)
    assert len(response.json()["results"]) == 50
    assert response.json()["next"]


# PostgreSQL plans ----------------------------------------------------------------------------------------


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


def _copies(times: int) -> None:
    """Each ticket `times` more times (SQL: factories would take minutes), so the planner sees a history
    much larger than the open tickets, as in production."""
    columns = [f.column for f in Ticket._meta.concrete_fields if f.column not in ("id", "number")]
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO tickets_ticket ("number", {names}) SELECT t."number" || \'-\' || g, '
                       + ", ".join(f't."{c}"' for c in columns)
                       + " FROM tickets_ticket t CROSS JOIN generate_series(1, %s) g", [times])
        cursor.execute("ANALYZE tickets_ticket")


@pytest.mark.postgres
@pytest.mark.django_db
def test_queue_queries_read_their_partial_indexes(supervisor, agent, senior):
    for _ in range(60):
        TicketFactory(status=Status.CLOSED)
    _every_kind(agent, senior)
    Ticket.objects.filter(status=Status.IN_PROGRESS).update(
        type=TicketType.RETURN_REFUND, category=Category.PRODUCT_QUALITY, sla_state=SLAState.BREACHED)
    _copies(100)  # ~10,000 tickets, 3,000 open, 600 in the classified queue

    page = _queries(_web(supervisor), "/?queue=open")
    [counts] = [s for s in page if "GROUP BY" in s and "tickets_ticket" in s]
    # The page's ids, in order (the 50 rows are then fetched by id, unordered).
    [listing] = [s for s in page if re.search(r'ORDER BY "tickets_ticket"."created_at" DESC', s)]
    # Read through an index on status (ticket_queue_counts_idx, index-only once vacuumed: bench/plans),
    # never a scan of every ticket filtered row by row.
    plan = _plan(counts)
    assert "Seq Scan" not in plan, plan
    assert "ticket_queue_counts_idx" in plan or "Index Cond: ((status)::text = ANY" in plan, plan
    plan = _plan(listing)
    assert "ticket_open_created_idx" in plan and "Sort" not in plan, plan

    [api] = [s for s in _queries(_api(supervisor), OPEN_API) if "tickets_ticket" in s]
    plan = _plan(api)
    assert "ticket_open_created_idx" in plan and "Sort" not in plan, plan

    filtered = [s for s in _queries(_web(supervisor), FILTERED)
                if "tickets_ticket" in s and "sla_state" in s and '"tickets_ticket"."id" IN (' not in s]
    assert len(filtered) == 1  # all the ids of a short list, its length the count (then 50 rows by id)
    for sql in filtered:
        assert "ticket_open_class_idx" in _plan(sql), _plan(sql)
