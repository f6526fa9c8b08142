"""bench/dataset.py builds a consistent dataset the app itself can run on, and reuses it.

One small dataset (3,000 tickets) is generated into a scratch database on the server of
DATABASE_URL, checked with SQL and through the app (manage.py check, the ORM, the SLA sweep),
and dropped at the end.
"""

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.dataset import (
    DATASET_VERSION,
    DETAIL_EVENTS,
    EXPECTED_PER_TICKET,
    OPEN_STATUSES,
    PASSWORD,
    dataset_facts,
    prepare_database,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NAME = "aftersales_bench_test"
SCHEMA_NAME = "aftersales_bench_test_schema"  # migrated only: the indexes the app's migrations make
N_TICKETS = 3_000


def _server_url(name: str) -> str:
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}", query=""))


def _connect(url: str):
    import psycopg2

    conn = psycopg2.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))
    conn.autocommit = True
    return conn


def _drop(name: str) -> None:
    admin = _connect(_server_url("postgres"))
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "aftersales.settings"}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def dataset():
    """The dataset's URL; the database is dropped after the module's tests."""
    yield prepare_database(n_tickets=N_TICKETS, name=NAME, base_url=_server_url("postgres"), force=True)
    _drop(NAME)


@pytest.fixture(scope="module")
def sql(dataset):
    conn = _connect(dataset)
    yield conn.cursor()
    conn.close()


def _one(cursor, sql: str, params=()):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def test_a_second_call_with_the_same_arguments_reuses_the_dataset(dataset, sql):
    url = dataset
    finished_at = _one(sql, "SELECT finished_at FROM bench_dataset")

    again = prepare_database(n_tickets=N_TICKETS, name=NAME, base_url=_server_url("postgres"))

    assert again == url == _server_url(NAME)
    sql.execute("SELECT n_tickets, seed, version, finished_at FROM bench_dataset")
    assert sql.fetchall() == [(N_TICKETS, 7, DATASET_VERSION, finished_at)]


def test_row_counts_follow_the_spread(sql):
    def count(table):
        return _one(sql, f"SELECT count(*) FROM {table}")

    n = N_TICKETS
    assert count("tickets_ticket") == n
    assert count("orders_order") == n
    assert abs(count("customers_customer") - n / 3) <= 0.10 * n / 3
    assert abs(count("orders_orderitem") - 1.8 * n) <= 0.10 * 1.8 * n
    assert abs(count("tickets_message") - 6 * n) <= 0.15 * 6 * n
    events = EXPECTED_PER_TICKET["tickets_ticketevent"]
    assert abs(count("tickets_ticketevent") - events * n) <= 0.15 * events * n
    assert abs(count("tickets_subtask") - n / 3) <= 0.15 * n / 3
    open_share = _one(sql, "SELECT count(*) FROM tickets_ticket WHERE status IN %s", [OPEN_STATUSES]) / n
    assert 0.02 <= open_share <= 0.04
    assert 35 <= count("auth_user") <= 45
    assert count("orders_product") >= 1_500
    # Every order has 1–4 items, never paid above list price (also a CHECK constraint).
    sql.execute("SELECT min(c), max(c) FROM (SELECT count(*) c FROM orders_orderitem GROUP BY order_id) x")
    assert sql.fetchone() == (1, 4)


def test_statuses_agree_with_their_timestamps(sql):
    # Each query counts rows breaking one rule; all must be 0.
    rules = {
        "closed without closed_at": "status IN ('closed', 'archived') AND closed_at IS NULL",
        "archived without archived_at or summary": "status = 'archived' AND (archived_at IS NULL OR summary = '' "
                                                   "OR root_cause = '' OR what_worked = '')",
        "open with a resolution": "status IN %(open)s AND (resolved_at IS NOT NULL OR closed_at IS NOT NULL)",
        "resolved without resolved_at or with closed_at": "status = 'resolved' AND (resolved_at IS NULL "
                                                          "OR closed_at IS NOT NULL)",
        "times out of order": "first_response_at < created_at OR resolved_at < created_at OR closed_at < resolved_at "
                              "OR archived_at < closed_at OR greatest(created_at, first_response_at, resolved_at, "
                              "closed_at, archived_at, updated_at) > now()",
        "close outcome without a close": "(close_outcome <> '') <> (status IN ('closed', 'archived'))",
        "number not the app's": "number <> 'AS' || lpad(id::text, 8, '0')",
        "closed with SLA clocks": "status IN ('closed', 'archived') AND (sla_state <> 'none' "
                                  "OR resolution_due_at IS NOT NULL OR id IN (SELECT ticket_id FROM tickets_slacheck))",
        "open without a resolution clock": "status IN %(open)s AND sla_policy_id IS NOT NULL "
                                           "AND (resolution_due_at IS NULL OR sla_state = 'none')",
        "paused but not waiting": "(sla_state = 'paused') <> (status = 'waiting_customer' "
                                  "AND sla_policy_id IS NOT NULL)",
        "version below 1": "version < 1",
    }
    for rule, condition in rules.items():
        assert _one(sql, f"SELECT count(*) FROM tickets_ticket WHERE {condition}", {"open": OPEN_STATUSES}) == 0, rule

    # Subtasks: a ticket waits on a department exactly while one of its subtasks is active.
    assert _one(sql, """SELECT count(*) FROM tickets_ticket t WHERE (t.status = 'waiting_department') <> EXISTS (
                       SELECT 1 FROM tickets_subtask s WHERE s.ticket_id = t.id
                       AND s.status IN ('open', 'in_progress'))""") == 0
    # The timeline: starts with "created", and each status change starts where the previous one ended,
    # ending in the ticket's status.
    assert _one(sql, """SELECT count(*) FROM tickets_ticket t WHERE (SELECT e.action FROM tickets_ticketevent e
                       WHERE e.ticket_id = t.id ORDER BY e.created_at, e.id LIMIT 1) <> 'created'""") == 0
    assert _one(sql, """SELECT count(*) FROM (SELECT from_status, lag(to_status) OVER w AS previous
                       FROM tickets_ticketevent WHERE to_status <> ''
                       WINDOW w AS (PARTITION BY ticket_id ORDER BY created_at, id)) x
                       WHERE previous IS NOT NULL AND from_status <> previous""") == 0
    assert _one(sql, """SELECT count(*) FROM tickets_ticket t WHERE t.status <> (SELECT e.to_status
                       FROM tickets_ticketevent e WHERE e.ticket_id = t.id AND e.to_status <> ''
                       ORDER BY e.created_at DESC, e.id DESC LIMIT 1)""") == 0
    # Surveys answer a resolution that happened (a "resolve" event at that moment), after it.
    assert _one(sql, """SELECT count(*) FROM tickets_satisfactionsurvey s WHERE s.created_at < s.resolved_at
                       OR NOT EXISTS (SELECT 1 FROM tickets_ticketevent e WHERE e.ticket_id = s.ticket_id
                       AND e.action = 'resolve' AND e.created_at = s.resolved_at)""") == 0
    sql.execute("SELECT avg((NOT solved)::int), avg((score >= 4)::int) FROM tickets_satisfactionsurvey")
    unsolved, four_or_five = sql.fetchone()
    assert 0.03 <= unsolved <= 0.15 and four_or_five >= 0.6
    breached = _one(sql, "SELECT avg(first_response_breached::int) FROM tickets_ticket")
    assert 0.06 <= breached <= 0.2
    assert _one(sql, "SELECT count(*) FROM tickets_message WHERE created_at > now()") == 0
    # Customers and orders come before the tickets about them.
    assert _one(sql, """SELECT count(*) FROM tickets_ticket t JOIN customers_customer c ON c.id = t.customer_id
                       JOIN orders_order o ON o.id = t.order_id WHERE c.created_at > o.placed_at
                       OR o.placed_at > t.created_at OR o.shipped_at < o.placed_at""") == 0
    assert _one(sql, "SELECT count(*) FROM customers_customer WHERE created_at > now()") == 0


def test_every_foreign_key_holds(sql):
    sql.execute("""
        SELECT con.conname, child.relname, ca.attname, parent.relname, pa.attname, con.convalidated
        FROM pg_constraint con
        JOIN pg_class child ON child.oid = con.conrelid JOIN pg_class parent ON parent.oid = con.confrelid
        JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = con.conkey[1]
        JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
        WHERE con.contype = 'f'""")
    keys = sql.fetchall()
    assert len(keys) > 50
    for name, child, column, parent, key, validated in keys:
        assert validated, name
        dangling = _one(sql, f'SELECT count(*) FROM "{child}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
                            f'(SELECT 1 FROM "{parent}" p WHERE p."{key}" = c."{column}")')
        assert dangling == 0, f"{name}: {dangling} rows of {child}.{column} point nowhere"


def test_indexes_and_constraints_are_exactly_the_migrations_own(sql):
    _drop(SCHEMA_NAME)
    admin = _connect(_server_url("postgres"))
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE \"{SCHEMA_NAME}\" ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' "
                       "LC_COLLATE 'C.UTF-8' TEMPLATE template0")
    admin.close()
    try:
        migrated = _manage(_server_url(SCHEMA_NAME), "migrate", "--noinput", "--skip-checks")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        fresh = _connect(_server_url(SCHEMA_NAME))
        catalogue = {
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                       "AND tablename <> 'bench_dataset'",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE connamespace = 'public'::regnamespace",
        }
        for kind, query in catalogue.items():
            with fresh.cursor() as cursor:
                cursor.execute(query)
                expected = set(cursor.fetchall())
            sql.execute(query)
            found = set(sql.fetchall())
            if kind == "indexes":  # re-created partial IN (...) conditions print differently: compare names
                found, expected = {row[:2] for row in found}, {row[:2] for row in expected}
            assert found == expected, kind
        fresh.close()
    finally:
        _drop(SCHEMA_NAME)


def test_facts_point_at_real_rows(dataset, sql):
    facts = dataset_facts(dataset)

    assert facts["n_tickets"] == N_TICKETS and facts["version"] == DATASET_VERSION
    # The ticket page's ticket: the newest id, in progress, exactly 50 timeline events.
    assert facts["detail_ticket_id"] == _one(sql, "SELECT max(id) FROM tickets_ticket")
    sql.execute("SELECT status, (SELECT count(*) FROM tickets_ticketevent WHERE ticket_id = t.id) "
               "FROM tickets_ticket t WHERE id = %s", [facts["detail_ticket_id"]])
    assert sql.fetchone() == ("in_progress", DETAIL_EVENTS)
    assert _one(sql, "SELECT count(*) FROM orders_order WHERE external_number = %s",
                [facts["order_external_number"]]) == 1
    assert _one(sql, "SELECT count(*) FROM customers_customer WHERE phone = %s", [facts["customer_phone"]]) == 1
    share = _one(sql, "SELECT avg((description LIKE %s)::int) FROM tickets_ticket", [f"%{facts['search_word']}%"])
    assert 0.005 <= share <= 0.02
    assert facts["search_word_tickets"] == round(share * N_TICKETS)
    # The common word the search benches look for is a word of about a tenth of the tickets.
    common = _one(sql, "SELECT avg((to_tsvector('simple', search_text) @@ plainto_tsquery('simple', %s))::int) "
                       "FROM tickets_ticket", [facts["search_common_word"]])
    assert 0.07 <= common <= 0.14
    assert facts["supervisor_password"] == facts["agent_password"] == PASSWORD
    assert _one(sql, "SELECT count(*) FROM tickets_slacheck WHERE at > now()") > 0


# Through the app: its checks, the ORM (new rows get fresh ids), a login, the SLA sweep.
APP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from customers.models import Customer
from orders.models import Order
from tickets.models import Message, Ticket, TicketEvent
before = {m.__name__: m.objects.order_by("-id").values_list("id", flat=True).first()
          for m in (Ticket, Message, TicketEvent, Customer, Order)}
customer = Customer.objects.create(name="测试", phone="13800000000", platform="taobao")
order = Order.objects.create(platform="taobao", external_number="BENCH-TEST-1", customer=customer,
                             placed_at="2026-01-01T00:00:00+08:00")
ticket = Ticket.objects.create(channel="chat", customer=customer, order=order, description="新工单")
message = Message.objects.create(ticket=ticket, direction="inbound", channel="chat", body="你好")
event = TicketEvent.objects.create(ticket=ticket, action="created", to_status="new")
after = {"Ticket": ticket.pk, "Message": message.pk, "TicketEvent": event.pk, "Customer": customer.pk,
         "Order": order.pk}
User = get_user_model()
supervisor = User.objects.get(username=FACTS["supervisor_username"])
queue = list(Ticket.objects.open().select_related("customer", "assignee").order_by("-created_at")[:50])
print(json.dumps({
    "before": before, "after": after,
    "password_ok": supervisor.check_password(FACTS["supervisor_password"]),
    "supervisor_groups": list(supervisor.groups.values_list("name", flat=True)),
    "queue": len(queue), "queue_customers": len({t.customer.name for t in queue}),
    "open": Ticket.objects.open().count(),
}))
"""


def test_the_app_runs_on_it(dataset):
    url = dataset
    facts = dataset_facts(url)

    checked = _manage(url, "check")
    assert checked.returncode == 0, checked.stderr[-3000:]

    ran = _manage(url, "shell", "-c", f"FACTS = {facts!r}\n{APP_SCRIPT}")
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    for model, new_id in result["after"].items():
        assert new_id > result["before"][model], model  # the sequences were moved past the loaded ids
    assert result["password_ok"] and result["supervisor_groups"] == ["supervisor"]
    assert result["queue"] == 50 and result["queue_customers"] > 1
    assert result["open"] == facts["open_tickets"] + 1


def test_the_sla_sweep_finds_real_work(dataset, sql):
    swept = _manage(dataset, "shell", "-c", "from tickets.sla.sweep import sla_sweep\n"
                                            "r = sla_sweep()\nprint(r.tickets, r.notifications)")
    assert swept.returncode == 0, swept.stderr[-3000:]
    tickets, _ = map(int, swept.stdout.strip().splitlines()[-1].split())
    assert tickets >= 1
    # The sweep left no ticket due behind it.
    assert _one(sql, "SELECT count(*) FROM tickets_slacheck WHERE at <= now() - interval '1 minute'") == 0
