"""The queue's search box at scale (tickets/search.py): what it finds through the page `/?queue=all&q=…`
and the API, a constant number of queries whatever the number of hits, and on PostgreSQL an index behind
every kind of match (no sequential scan of tickets, orders or customers)."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftersales.words import query_words
from tests.factories import CustomerFactory, OrderFactory, TicketFactory
from tickets.models import StaffProfile, Status, Ticket
from tickets.search import ticket_search_text, tickets_search

pytestmark = pytest.mark.django_db


def _ticket(**fields) -> Ticket:
    """A factory ticket with its search words (what ticket_create writes)."""
    ticket = TicketFactory(**fields)
    ticket.search_text = ticket_search_text(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(search_text=ticket.search_text)
    return ticket


@pytest.fixture
def desk(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def _found(client: Client, q: str, queue: str = "all") -> set[int]:
    response = client.get("/", {"queue": queue, "q": q})
    assert response.status_code == 200
    return {ticket.pk for ticket in response.context["page"].object_list}


@pytest.fixture
def cases():
    customer = CustomerFactory(name="王小明", phone="13912345678", platform_account="tb_wxm2026")
    order = OrderFactory(customer=customer, external_number="3912345678901234567")
    leak = _ticket(customer=customer, order=order, number="AS00001234",
                   description="洗衣机用了三天，底部漏水，地板都湿了")
    size = _ticket(customer=customer, description="裤子尺码偏小，想换大一码", number="AS00001235")
    other = _ticket(description="收到的衣服有色差", symptom="起球严重", number="AS00001236")
    return {"leak": leak, "size": size, "other": other}


# What it finds -------------------------------------------------------------------------------------------


def test_ticket_number_in_any_case(desk, cases):
    assert _found(desk, "AS00001234") == {cases["leak"].pk}
    assert _found(desk, "as00001234") == {cases["leak"].pk}
    assert _found(desk, " As00001235 ") == {cases["size"].pk}


def test_order_number_finds_the_tickets_of_that_order(desk, cases):
    assert _found(desk, "3912345678901234567") == {cases["leak"].pk}


@pytest.mark.parametrize("value", ["13912345678", "tb_wxm2026", "王小明"])
def test_phone_account_or_name_finds_every_ticket_of_the_customer(desk, cases, value):
    assert _found(desk, value) == {cases["leak"].pk, cases["size"].pk}


def test_a_two_character_word_inside_a_sentence(desk, cases):
    assert _found(desk, "漏水") == {cases["leak"].pk}
    assert _found(desk, "尺码") == {cases["size"].pk}
    assert _found(desk, "起球") == {cases["other"].pk}  # the recorded symptom counts too


def test_every_word_of_the_query_must_be_there(desk, cases):
    assert _found(desk, "底部 漏水") == {cases["leak"].pk}
    assert _found(desk, "底部 尺码") == set()


def test_a_word_no_ticket_holds_finds_nothing(desk, cases):
    assert _found(desk, "掉色") == set()
    assert _found(desk, "AS99999999") == set()
    assert _found(desk, "，。") == set()  # punctuation alone: no word, no identifier


def test_an_empty_query_leaves_the_queue_alone(cases):
    queryset = Ticket.objects.all()
    assert tickets_search(queryset, "  ") is queryset


def test_search_stays_within_the_queue_and_other_filters(desk, cases, agent):
    Ticket.objects.filter(pk=cases["leak"].pk).update(status=Status.IN_PROGRESS, assignee=agent)
    Ticket.objects.filter(pk=cases["size"].pk).update(status=Status.CLOSED, assignee=agent)

    assert _found(desk, "王小明", queue="mine") == {cases["leak"].pk}
    assert _found(desk, "王小明", queue="follow_up") == set()


def test_results_are_newest_first(desk, cases):
    response = desk.get("/", {"queue": "all", "q": "13912345678"})
    assert [t.pk for t in response.context["page"].object_list] == [cases["size"].pk, cases["leak"].pk]


def test_a_value_that_is_both_a_name_and_a_word_finds_both(desk, cases):
    mentions = _ticket(description="王小明说地板湿了")  # jieba keeps the name whole: one word of this text

    assert _found(desk, "王小明") == {cases["leak"].pk, cases["size"].pk, mentions.pk}


def test_search_combines_with_the_filters(desk, cases):
    Ticket.objects.filter(pk=cases["leak"].pk).update(type="repair")
    Ticket.objects.filter(pk=cases["size"].pk).update(type="exchange")

    response = desk.get("/", {"queue": "all", "q": "13912345678", "type": "exchange"})
    assert [t.pk for t in response.context["page"].object_list] == [cases["size"].pk]


# The count stops --------------------------------------------------------------------------------------------


def test_the_count_of_matches_is_exact_below_the_cap(desk, cases):
    response = desk.get("/", {"queue": "all", "q": "13912345678"})

    paginator = response.context["page"].paginator
    assert (paginator.count, paginator.capped) == (2, False)
    assert "(2 tickets)" in response.text


def test_past_the_cap_the_count_says_more_and_the_newest_come_first(desk, monkeypatch):
    monkeypatch.setattr("tickets.views.queue.MATCHES_COUNTED", 3)
    tickets = [_ticket(description=f"第{n}次包装破损") for n in range(5)]  # created in this order: newest last

    response = desk.get("/", {"queue": "all", "q": "包装"})

    page = response.context["page"]
    assert (page.paginator.count, page.paginator.capped, page.paginator.num_pages) == (3, True, 1)
    assert [t.pk for t in page.object_list] == [t.pk for t in reversed(tickets)][:3]
    assert "(3+ tickets: narrow the search to reach the rest)" in response.text


def test_the_capped_count_reads_in_chinese(desk, agent, monkeypatch):
    monkeypatch.setattr("tickets.views.queue.MATCHES_COUNTED", 1)
    for _ in range(2):
        _ticket(description="包装破损")
    StaffProfile.objects.filter(user=agent).update(language="zh-hans")  # the desk speaks the agent's choice

    response = desk.get("/", {"queue": "all", "q": "包装"})

    assert "超过 1 条工单" in response.text


def test_the_api_list_searches_the_same_way(agent, cases):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=agent)
    response = client.get("/api/v1/tickets/", {"q": "漏水"})

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [cases["leak"].pk]


# Cost ----------------------------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("q", ["漏水", "13912345678"])
def test_search_queries_do_not_grow_with_hits(desk, q):
    customer = CustomerFactory(phone="13912345678")

    def add(n):
        for _ in range(n):
            _ticket(customer=customer, order=OrderFactory(customer=customer), description="底部漏水")

    url = f"/?queue=all&q={q}"
    add(3)
    desk.get(url)  # warm caches (session, content types)
    few = _queries(desk, url)
    add(37)
    many = _queries(desk, url)

    assert many == few, f"{few} queries for 3 hits, {many} for 40"
    assert "(40 tickets)" in desk.get(url).text


# On PostgreSQL: the indexes behind each kind of match -----------------------------------------------------

EXPECTED_INDEXES = (
    "ticket_search_vector_idx",  # words: GIN on search_vector, the stored to_tsvector('simple', search_text)
    "tickets_ticket_number",  # ticket number (stored upper-case): its unique index or Django's _like twin
    "order_external_number_idx",  # order number
    "customer_name_idx",
    "customer_platform_account_idx",
    "customers_customer_phone",  # db_index=True: Django's generated names start so
)


def _plans(sqls: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # tiny test tables: make any unavoidable scan show
        try:
            plans = []
            for sql in sqls:
                cursor.execute("EXPLAIN " + sql)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            cursor.execute("RESET enable_seqscan")
    return plans


@pytest.mark.postgres
def test_postgresql_answers_every_kind_of_match_from_an_index(desk, cases):
    with CaptureQueriesContext(connection) as ctx:
        desk.get("/", {"queue": "all", "q": "漏水"})
    sqls = [q["sql"] for q in ctx.captured_queries]
    identified = [sql for sql in sqls if " UNION " in sql]
    worded = [sql for sql in sqls if "search_vector" in sql]
    # One look-up of the identifiers; then the count (stopping past the cap) and the page, each a condition
    # on the ticket row.
    assert len(identified) == 1 and len(worded) == 2
    [count] = [sql for sql in worded if sql.startswith("SELECT COUNT(*)")]
    assert "LIMIT 1001" in count

    plans = "\n".join(_plans(identified + worded))
    for index in EXPECTED_INDEXES:
        assert index in plans, plans
    assert not re.search(r"Seq Scan on (tickets_ticket|orders_order|customers_customer)\b", plans), plans


@pytest.mark.postgres
def test_postgresql_finds_what_parsing_the_text_finds(cases):
    """The stored vector finds the tickets that parsing their text finds, in a query and in a subquery
    (where Django gives the table another alias)."""
    for q in ("漏水", "底部 漏水", "尺码", "起球", "裤子"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM tickets_ticket WHERE to_tsvector('simple', search_text) "
                           "@@ plainto_tsquery('simple', %s)", [" ".join(query_words(q))])
            expected = {row[0] for row in cursor.fetchall()}
        found = tickets_search(Ticket.objects.all(), q)
        assert set(found.values_list("pk", flat=True)) == expected != set()
        nested = Ticket.objects.filter(pk__in=found.values("pk"))
        assert set(nested.values_list("pk", flat=True)) == expected


@pytest.mark.postgres
def test_postgresql_keeps_the_stored_vector_with_the_text(cases):
    """The vector is PostgreSQL's to keep (a generated column): whatever writes search_text, the search
    follows at once."""
    ticket = Ticket.objects.filter(search_text__contains="漏水").first()
    Ticket.objects.filter(pk=ticket.pk).update(search_text="全新 词语")
    assert list(tickets_search(Ticket.objects.all(), "词语").values_list("pk", flat=True)) == [ticket.pk]
    assert ticket.pk not in set(tickets_search(Ticket.objects.all(), "漏水").values_list("pk", flat=True))


@pytest.mark.postgres
def test_postgresql_query_tests_the_indexed_column():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'ticket_search_vector_idx'")
        (indexdef,) = cursor.fetchone()
        cursor.execute("SELECT generation_expression FROM information_schema.columns "
                       "WHERE table_name = 'tickets_ticket' AND column_name = 'search_vector'")
        (generated,) = cursor.fetchone()
    assert "gin (search_vector)" in indexdef
    assert generated == "strip(to_tsvector('simple'::regconfig, search_text))"
    sql = str(tickets_search(Ticket.objects.all(), "漏水").query)
    assert "\"tickets_ticket\".\"search_vector\" @@ plainto_tsquery('simple'," in sql


# The bench dataset writes the same words --------------------------------------------------------------------


def test_bench_dataset_cuts_like_the_app():
    from bench.dataset import DEFECTS, DESCRIPTIONS, REQUESTS, SEARCH_WORD, _search_text

    for spec in DESCRIPTIONS.values():
        for _, template in spec:
            description = template.format(
                p="男士纯棉T恤 圆领短袖", o="WS2026046188675173", d=DEFECTS[4], n=3, a="129", c="顺丰快递", s="M",
                t="L", ph="13812345678", q="怎么清洗", w=SEARCH_WORD)
            ticket = Ticket(description=description, customer_request=REQUESTS["exchange"], symptom=DEFECTS[0],
                            product_model="TC-2")
            words = _search_text(description, REQUESTS["exchange"], DEFECTS[0], "TC-2")
            assert words == ticket_search_text(ticket)
            if SEARCH_WORD in description:
                assert SEARCH_WORD in words.split()  # the word the search benches look for is a word here
