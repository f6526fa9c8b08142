"""The cost of a live desk: N agents with a page open, each polling /live/ as static/js/live.js does.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/live.py --pages 300 --seconds 30

Creates its own database next to DATABASE_URL (migrated, one ticket with a 20-entry timeline per agent),
starts `gunicorn -w 2` (DEBUG off; presence in the Redis cache of REDIS_URL, shared by both workers),
and lets N simulated pages poll for --seconds: a ticket page every 3 s (the cadence that keeps presence
and changes within 5 s), a list page every 10 s (--list-share of the pages). While they poll, one writer
adds a customer message to a random ticket every second, so stamps move as on a busy day.

Prints: polls per second, latency p50/p95, the CPU the web workers and PostgreSQL used (cores, read from
/proc), queries per poll (measured in-process) and so per minute, and the machine's load average before
and after. Exits 1 if any poll failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import processes  # noqa: E402
from bench.api import free_port, percentile, recreate_database, start_gunicorn, stop_gunicorn  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ["DEBUG"] = "true"
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
os.environ.setdefault("LOG_LEVEL", "WARNING")

TICKET_EVERY, LIST_EVERY = 3.0, 10.0
# Sessions are made in-process and read by gunicorn: both sign with this key.
os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
CSRF = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret for cookie and header alike


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300, help="agents with a page open")
    parser.add_argument("--list-share", type=float, default=0.0, help="share of them on a list page (0-1)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database", default="aftersales_bench_live")
    return parser.parse_args(argv)


def seed(pages: int) -> list[tuple[str, int]]:
    """One agent per page, signed in (a session), each with a ticket of 20 timeline entries."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tests.factories import CustomerFactory, make_user
    from tickets import services

    people = []
    for index in range(pages):
        agent = make_user("agent", username=f"live-agent-{index}")
        ticket = services.ticket_create(actor=agent, channel="chat", description=f"第{index}位客户：尺码不对",
                                        customer=CustomerFactory(), type="exchange", category="wrong_or_missing_item")
        for turn in range(9):
            services.message_add(ticket=ticket, actor=agent if turn % 2 else None,
                                 direction="outbound" if turn % 2 else "inbound", body=f"第{turn}条消息")
        session = SessionStore()
        session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(agent.pk), "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
        session.create()
        people.append((session.session_key, ticket.pk))
    return people


def queries_per_poll(session_key: str, ticket_id: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(enforce_csrf_checks=False)
    client.cookies["sessionid"] = session_key
    counts = {}
    for name, data in (("ticket page", {"ticket": ticket_id, "stamp": "x", "seen_message": 0}),
                       ("list page", {"stamp": "x"})):
        client.post("/live/", data)
        with CaptureQueriesContext(connection) as captured:
            assert client.post("/live/", data).status_code == 200
        counts[name] = len(captured.captured_queries)
    return counts


def cpu_seconds(names: tuple[str, ...]) -> float:
    """User + system CPU seconds of every process whose command line mentions one of `names`."""
    return processes.cpu_seconds(lambda _fields, command: any(name in command for name in names))


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        sys.exit("set DATABASE_URL (PostgreSQL); the bench creates its own database next to it")
    if not os.environ.get("REDIS_URL"):
        print("warning: no REDIS_URL: presence lives in each worker's memory, not shared", file=sys.stderr)
    bench_url = recreate_database(url, args.database)
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    people = seed(args.pages)
    queries = queries_per_poll(*people[0])
    connections.close_all()

    port = free_port()
    server = start_gunicorn(bench_url, port, args.workers, secret_key=os.environ["SECRET_KEY"])
    listers = int(args.pages * args.list_share)
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def page(index: int, session_key: str, ticket_id: int) -> None:
        on_list = index < listers
        every = LIST_EVERY if on_list else TICKET_EVERY
        body = f"stamp=x&seen_message=0&ticket={ticket_id}" if not on_list else "stamp=x"
        headers = {"Cookie": f"sessionid={session_key}; csrftoken={CSRF}", "X-CSRFToken": CSRF,
                   "Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"}
        time.sleep(random.uniform(0, every))  # pages opened at different moments
        while not stop.is_set():
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/live/", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                ok = response.status == 200 and "stamp" in json.loads(payload)
            except (OSError, ValueError) as error:
                ok, payload = False, str(error).encode()
            elapsed = time.perf_counter() - started
            with lock:
                (timings.append(elapsed * 1000) if ok else failures.append(payload[:200].decode(errors="replace")))
            stop.wait(max(0.0, every - elapsed))

    def writer() -> None:
        django.db.connections.close_all()
        from tickets import services
        from tickets.models import Ticket

        while not stop.wait(1.0):
            ticket = Ticket.objects.get(pk=random.choice(people)[1])
            services.message_add(ticket=ticket, actor=None, direction="inbound", body="还在吗？")

    load_before = os.getloadavg()
    threads = [threading.Thread(target=page, args=(i, *person), daemon=True) for i, person in enumerate(people)]
    threads.append(threading.Thread(target=writer, daemon=True))
    try:
        for thread in threads:
            thread.start()
        time.sleep(5)  # warm-up: every page has polled at least once
        with lock:
            timings.clear()
        cpu_web, cpu_db = cpu_seconds(("gunicorn aftersales",)), cpu_seconds(("postgres",))
        started = time.monotonic()
        time.sleep(args.seconds)
        window = time.monotonic() - started
        with lock:
            measured = list(timings)
        cpu_web, cpu_db = cpu_seconds(("gunicorn aftersales",)) - cpu_web, cpu_seconds(("postgres",)) - cpu_db
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        stop_gunicorn(server)
    load_after = os.getloadavg()

    polls_per_s = len(measured) / window
    ticket_share = (args.pages - listers) / args.pages
    per_poll = queries["ticket page"] * ticket_share + queries["list page"] * (1 - ticket_share)
    figures = {
        "pages": args.pages, "on_list_pages": listers, "workers": args.workers, "seconds": round(window, 1),
        "polls_per_s": round(polls_per_s, 1), "p50_ms": round(statistics.median(measured or [0]), 1),
        "p95_ms": round(percentile(measured or [0], 0.95), 1), "failures": len(failures),
        "web_cpu_cores": round(cpu_web / window, 2), "postgres_cpu_cores": round(cpu_db / window, 2),
        "queries_per_poll": queries, "queries_per_minute": round(polls_per_s * per_poll * 60),
        "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in load_after],
    }
    print(f"{args.pages} open pages ({listers} on lists), gunicorn -w {args.workers}, PostgreSQL, "
          f"load {load_before[0]:.2f} -> {load_after[0]:.2f}")
    print(f"  polls/s {figures['polls_per_s']}  p50 {figures['p50_ms']} ms  p95 {figures['p95_ms']} ms  "
          f"failures {len(failures)}")
    print(f"  CPU: web workers {figures['web_cpu_cores']} cores, PostgreSQL {figures['postgres_cpu_cores']} cores")
    print(f"  queries per poll {queries}, per minute {figures['queries_per_minute']:,}")
    print(json.dumps(figures))
    if failures:
        print("first failures:", failures[:3], file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
