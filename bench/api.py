"""Benchmark the REST API on PostgreSQL behind gunicorn: list and detail latency, intake throughput.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py --tickets 100000

Creates a fresh database (`--database`, default aftersales_bench_api; dropped first) on the server of
DATABASE_URL, migrates it and bulk-inserts N tickets (about 3% open, spread over a year, one
"created" event each, a few hundred customers and orders) plus one ticket with ~50 timeline events.
Then it starts `gunicorn aftersales.wsgi:application -w 2` against that database (DEBUG off) and,
authenticated with a supervisor's token, measures:

- GET /api/v1/tickets/?status=in_progress (first page, 50 rows): median and p95 over --requests;
- GET /api/v1/tickets/{id}/ of the ticket with ~50 events: median and p95 over --requests;
- POST /api/v1/intake/ with new, signed events from --clients concurrent clients for --seconds;
- the SQL queries per list and detail request (the same requests once in-process, CaptureQueriesContext).

Throttle rates are raised for the bench (THROTTLE_USER / THROTTLE_INTAKE) so that the figures measure
the application, not the rate limiter. Prints a table and one JSON line; gunicorn is stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
# In-process part (seeding, query counts): DEBUG on so the settings need no production secrets,
# and "testserver" for Django's test client. gunicorn gets its own, production-like environment.
os.environ["DEBUG"] = "true"
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
os.environ.setdefault("LOG_LEVEL", "WARNING")

CHUNK = 5_000
TICKETS_PER_CUSTOMER = 200
OPEN_SHARE_PERCENT = 3
DETAIL_EVENTS = 50
SECRET = "bench-intake-secret"
SOURCE_NAME = "bench-taobao"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to insert")
    parser.add_argument("--database", default="aftersales_bench_api", help="database to (re)create for the bench")
    parser.add_argument("--requests", type=int, default=200, help="requests per latency measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent intake clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the intake run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    return parser.parse_args(argv)


# Database ----------------------------------------------------------------------------------------

def recreate_database(url: str, name: str) -> str:
    """Drop and create `name` on the server of `url` (UTF-8, C.UTF-8 locale); return its URL."""
    import psycopg2

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL")
    admin = psycopg2.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            cursor.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        except psycopg2.Error:  # a server without the C.UTF-8 locale
            cursor.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def populate(total: int) -> dict:
    """Bulk-insert `total` tickets and what they need; return the ids and token the bench uses."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from customers.models import Customer
    from orders.models import Order
    from tickets.models import Department, IntakeSource, Message, Status, Subtask, Ticket, TicketEvent
    from tickets.roles import Role

    User = get_user_model()  # noqa: N806
    supervisor = User.objects.create_user("bench-supervisor", email="supervisor@example.com")
    supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    agents = []
    for i in range(5):
        agent = User.objects.create_user(f"bench-agent{i}", email=f"agent{i}@example.com")
        agent.groups.add(Group.objects.get(name=Role.AGENT))
        agents.append(agent)

    customers = Customer.objects.bulk_create(
        Customer(name=f"压测顾客{i}", phone=f"137{i:08d}", address="浙江省杭州市西湖区文三路100号",
                 platform="taobao", platform_account=f"bench_{i}")
        for i in range(max(1, total // TICKETS_PER_CUSTOMER))
    )
    orders = Order.objects.bulk_create(
        Order(platform="taobao", external_number=f"BENCH{i:012d}", customer=customer, paid_amount="199.00",
              placed_at="2026-01-01T10:00:00+08:00", shipping_address=customer.address)
        for i, customer in enumerate(customers)
    )

    open_statuses = [Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER,
                     Status.WAITING_DEPARTMENT]
    closed_statuses = [Status.CLOSED, Status.CLOSED, Status.ARCHIVED, Status.RESOLVED]
    for start in range(0, total, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, total)):
            is_open = i % 100 < OPEN_SHARE_PERCENT
            status = open_statuses[i % len(open_statuses)] if is_open else closed_statuses[i % len(closed_statuses)]
            customer = customers[i % len(customers)]
            rows.append(Ticket(
                number=f"BA{i:08d}", channel="chat", customer=customer,
                order=orders[i % len(orders)] if i % 2 == 0 else None,
                description="压测工单：收到的电饭煲不加热", type="return_refund", category="product_quality",
                status=status, assignee=agents[i % len(agents)],
            ))
        created = Ticket.objects.bulk_create(rows)
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket=ticket, actor=ticket.assignee, action="created", to_status=Status.NEW,
                        changes={"channel": [None, "chat"]})
            for ticket in created
        )
        print(f"  {start + len(rows):>8} tickets", file=sys.stderr, end="\r")
    print(file=sys.stderr)

    # created_at is auto_now_add (bulk_create stamps "now"): spread the tickets over the past year.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET created_at = now() - (%s - id) * %s * interval '1 second', "
            "status_changed_at = now() - (%s - id) * %s * interval '1 second'",
            [total, 365 * 86400 / total, total, 365 * 86400 / total],
        )

    # The detail ticket: in progress, with a subtask, messages and ~50 timeline events.
    detail = Ticket.objects.filter(status=Status.IN_PROGRESS).order_by("-id").first()
    agent = detail.assignee
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=detail, actor=agent, action="classified", changes={"symptom": ["", f"第{i}次补充"]},
                    reason="客户补充")
        for i in range(DETAIL_EVENTS - 1)
    )
    Message.objects.bulk_create(
        Message(ticket=detail, direction=("inbound", "outbound")[i % 2], channel="chat", body=f"第{i}条消息",
                author=None if i % 2 == 0 else agent)
        for i in range(6)
    )
    Subtask.objects.create(ticket=detail, department=Department.objects.get(code="warehouse"),
                           kind="inspect_return", description="检查退回的电饭煲", created_by=agent)

    IntakeSource.objects.create(name=SOURCE_NAME, platform="taobao", secret=SECRET)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # fresh statistics, as a live database would have
    return {
        "token": Token.objects.create(user=supervisor).key,
        "detail_id": detail.pk,
        "detail_events": detail.events.count(),
        "in_progress": Ticket.objects.filter(status=Status.IN_PROGRESS).count(),
        "open": Ticket.objects.open().count(),
    }


def signed_event(index: int, n: int) -> tuple[bytes, dict]:
    """A new Taobao event (unique after-sales id) and its signed headers, as the platform relay sends it."""
    from tickets.intake import sign

    event = {
        "platform": "taobao", "aftersale_id": f"BENCH-{index}-{n}", "order_id": f"BO-{index}-{n}",
        "buyer_account": f"bench_buyer_{n % 50}", "type": "return_refund", "reason": "尺码不符",
        "description": "压测：买的M码，收到是L码", "amount": "99.00",
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "X-Intake-Source": SOURCE_NAME, "X-Intake-Timestamp": timestamp,
               "X-Intake-Signature": sign(secret=SECRET, timestamp=timestamp, body=body)}
    return body, headers


def query_counts(token: str, list_path: str, detail_path: str) -> dict:
    """SQL queries of one list, detail and intake request, in-process (same code, same database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT="application/json")
    counts = {}
    for name, path in (("list", list_path), ("detail", detail_path)):
        client.get(path)  # warm-up (content types, first-use caches)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        counts[name] = len(queries)
    for n in (1, 2):  # the first is a warm-up
        body, headers = signed_event(-1, n)
        with CaptureQueriesContext(connection) as queries:
            response = Client().post("/api/v1/intake/", data=body, content_type="application/json",
                                     headers={k: v for k, v in headers.items() if k.startswith("X-")})
        assert response.status_code == 201, (response.status_code, response.content[:300])
    counts["intake"] = len(queries)
    return counts


# gunicorn ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, port: int, workers: int, secret_key: str | None = None) -> subprocess.Popen:
    """`secret_key`: the one sessions made in-process were signed with (a fresh one otherwise)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key or secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "THROTTLE_USER": "1000000/minute",
        "THROTTLE_INTAKE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": tempfile.mkdtemp(prefix="bench-static-"),  # the API serves no static files
    }
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "aftersales.wsgi:application", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}")
        try:
            status, _ = request(http.client.HTTPConnection("127.0.0.1", port, timeout=2), "GET", "/healthz")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    stop_gunicorn(process)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# HTTP measurements -------------------------------------------------------------------------------

def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(port: int, path: str, token: str, count: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    for _ in range(10):  # warm both workers
        status, body = request(conn, "GET", path, headers=headers)
        assert status == 200, (path, status, body[:300])
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        status, body = request(conn, "GET", path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status, body[:300])
    conn.close()
    return {"requests": count, "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 0.95), 2), "bytes": len(body)}


def intake_throughput(port: int, clients: int, seconds: float) -> dict:
    barrier = threading.Barrier(clients)
    results: list[dict] = [{} for _ in range(clients)]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses: dict[int, int] = {}
        timings = []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            body, headers = signed_event(index, n)
            started = time.perf_counter()
            status, _ = request(conn, "POST", "/api/v1/intake/", body=body, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        results[index] = {"statuses": statuses, "timings": timings}

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    statuses: dict[int, int] = {}
    timings: list[float] = []
    for result in results:
        timings += result["timings"]
        for status, count in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    created = statuses.get(201, 0)
    return {"clients": clients, "seconds": round(elapsed, 2), "created": created,
            "events_per_s": round(created / elapsed, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "median_ms": round(statistics.median(timings), 2), "p95_ms": round(percentile(timings, 0.95), 2)}


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL (PostgreSQL); the bench creates its own database next to it")
    bench_url = recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = bench_url

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed = populate(args.tickets)
    seed_seconds = time.perf_counter() - started
    print(f"inserted {args.tickets} tickets ({seed['open']} open, {seed['in_progress']} in progress) "
          f"in {seed_seconds:.1f} s", file=sys.stderr)

    list_path = "/api/v1/tickets/?status=in_progress"
    detail_path = f"/api/v1/tickets/{seed['detail_id']}/"
    queries = query_counts(seed["token"], list_path, detail_path)
    from django.db import connections

    connections.close_all()

    port = free_port()
    server = start_gunicorn(bench_url, port, args.workers)
    try:
        list_figures = latencies(port, list_path, seed["token"], args.requests)
        detail_figures = latencies(port, detail_path, seed["token"], args.requests)
        intake_figures = intake_throughput(port, args.clients, args.seconds)
    finally:
        stop_gunicorn(server)

    rows = [
        (f"GET {list_path} (page 1)", f"{list_figures['median_ms']:.1f}", f"{list_figures['p95_ms']:.1f}",
         str(queries["list"]), f"{args.requests} requests"),
        (f"GET /api/v1/tickets/{{id}}/ ({seed['detail_events']} events)", f"{detail_figures['median_ms']:.1f}",
         f"{detail_figures['p95_ms']:.1f}", str(queries["detail"]), f"{args.requests} requests"),
        (f"POST /api/v1/intake/ x{args.clients} clients", f"{intake_figures['median_ms']:.1f}",
         f"{intake_figures['p95_ms']:.1f}", str(queries["intake"]),
         f"{intake_figures['events_per_s']} new events/s ({intake_figures['created']} in "
         f"{intake_figures['seconds']} s)"),
    ]
    header = ("request", "median ms", "p95 ms", "SQL", "notes")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"{args.tickets} tickets, gunicorn -w {args.workers}, PostgreSQL")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(json.dumps({
        "tickets": args.tickets, "open": seed["open"], "in_progress": seed["in_progress"],
        "seed_s": round(seed_seconds, 1), "workers": args.workers,
        "list": {**list_figures, "queries": queries["list"]},
        "detail": {**detail_figures, "queries": queries["detail"], "events": seed["detail_events"]},
        "intake": {**intake_figures, "queries": queries["intake"]},
    }))
    bad = {k: v for k, v in intake_figures["statuses"].items() if k != "201"}
    if bad:
        print(f"FAIL: intake answered {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
