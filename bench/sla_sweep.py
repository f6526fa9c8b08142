"""Benchmark the SLA sweep on PostgreSQL: how long one sweep takes and how many queries it runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales \\
        .venv/bin/python bench/sla_sweep.py --tickets 100000 --due-share 0.01

Creates a fresh database (`--database`, default aftersales_bench_sweep; dropped first) on the server of
DATABASE_URL, migrates it, bulk-inserts N open tickets of which `due-share` are 49 hours old (first
response breached: two warnings and a breach each) and the rest just taken in (next check in 24 h),
then runs `sla_sweep()` twice. The second run must create no notification. Prints a table and one
JSON line per run, with the wall time and the CPU of the sweep and of its PostgreSQL backend. The query
count grows with the due tickets (batches), not with the table size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("DEBUG", "true")

CHUNK = 5_000
TICKETS_PER_CUSTOMER = 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="open tickets to insert")
    parser.add_argument("--due-share", type=float, default=0.01, help="share of them due now (0..1)")
    parser.add_argument("--database", default="aftersales_bench_sweep", help="database to (re)create for the bench")
    parser.add_argument("--batch-size", type=int, default=None, help="sweep batch size (default: settings)")
    return parser.parse_args(argv)


def recreate_database(url: str, name: str) -> str:
    """Drop and create `name` on the server of `url`; return the URL of the new database."""
    import psycopg2

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL")
    admin = psycopg2.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def populate(total: int, due: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from customers.models import Customer
    from tickets.models import Priority, Status, Ticket
    from tickets.roles import Role
    from tickets.sla.models import SLACheck, SLAPolicy

    User = get_user_model()  # noqa: N806
    agent = User.objects.create_user("bench-agent", email="agent@example.com")
    agent.groups.add(Group.objects.get(name=Role.AGENT))
    supervisor = User.objects.create_user("bench-supervisor", email="supervisor@example.com")
    supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    policy = SLAPolicy.objects.get(
        is_active=True, big_promo_only=False, priority="", ticket_type="", channel="", customer_tier=""
    )

    customers = Customer.objects.bulk_create(
        Customer(name=f"压测顾客{i}", phone=f"137{i:08d}", platform="taobao", platform_account=f"bench_{i}")
        for i in range(max(1, total // TICKETS_PER_CUSTOMER))
    )
    now = timezone.now()
    old = now - timedelta(hours=49)
    # Due tickets spread evenly through the table, not bunched at one end.
    step = total / due if due else None
    due_numbers = {int(k * step) for k in range(due)} if due else set()
    due_ids: list[int] = []
    for start in range(0, total, CHUNK):
        rows, due_flags = [], []
        for i in range(start, min(start + CHUNK, total)):
            due_flags.append(i in due_numbers)
            taken_in = old if i in due_numbers else now
            rows.append(
                Ticket(
                    number=f"BN{i:08d}",
                    channel="chat",
                    customer=customers[i % len(customers)],
                    description="压测工单",
                    priority=Priority.P3,
                    status=Status.NEW,
                    assignee=agent,
                    sla_policy=policy,
                    resolution_started_at=taken_in,
                    first_response_due_at=taken_in + timedelta(hours=48),
                    resolution_due_at=taken_in + timedelta(days=7),
                )
            )
        created = Ticket.objects.bulk_create(rows)
        SLACheck.objects.bulk_create(SLACheck(ticket=ticket, at=ticket.resolution_started_at + timedelta(hours=24))
                                     for ticket in created)
        due_ids += [ticket.pk for ticket, is_due in zip(created, due_flags, strict=True) if is_due]
    # created_at is auto_now_add (bulk_create stamps "now"): back-date the due ones.
    Ticket.objects.filter(pk__in=due_ids).update(created_at=old)


def postgres_cpu() -> float | None:
    """CPU seconds our PostgreSQL backend has used, from /proc (None when the server is on another host)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def sweep_once(batch_size: int | None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import Notification
    from tickets.sla.sweep import sla_sweep

    before = Notification.objects.count()
    pg_before = postgres_cpu()
    with CaptureQueriesContext(connection) as queries:
        started, cpu = time.perf_counter(), time.process_time()
        result = sla_sweep(batch_size=batch_size)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    pg_cpu = postgres_cpu()
    return {
        "wall_s": round(wall, 3),
        # CPU varies less with what else the machine does than the wall time does.
        "cpu_s": round(cpu, 2),
        "pg_cpu_s": round(pg_cpu - pg_before, 2) if pg_cpu is not None and pg_before is not None else None,
        "queries": len(queries),
        "notifications": Notification.objects.count() - before,
        "tickets_swept": result.tickets,
        "batches": result.batches,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL (PostgreSQL); the bench creates its own database next to it")
    os.environ["DATABASE_URL"] = recreate_database(url, args.database)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    due = round(args.tickets * args.due_share)
    started = time.perf_counter()
    populate(args.tickets, due)
    print(f"inserted {args.tickets} tickets ({due} due) in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    batch_size = args.batch_size or settings.SLA_SWEEP_BATCH_SIZE
    header = (
        f"{'run':>3} {'tickets':>8} {'due':>6} {'batch':>5} {'wall (s)':>9} {'CPU (s)':>8} {'PG CPU (s)':>10} "
        f"{'SQL queries':>11} {'notifications':>13}"
    )
    print(header)
    print("-" * len(header))
    runs = []
    for run in (1, 2):
        figures = {"run": run, "tickets": args.tickets, "due": due, "batch_size": batch_size, **sweep_once(batch_size)}
        runs.append(figures)
        print(
            f"{run:>3} {args.tickets:>8} {due:>6} {batch_size:>5} {figures['wall_s']:>9.3f} {figures['cpu_s']:>8.2f} "
            f"{'-' if figures['pg_cpu_s'] is None else figures['pg_cpu_s']:>10} "
            f"{figures['queries']:>11} {figures['notifications']:>13}"
        )
    for figures in runs:
        print(json.dumps(figures))
    if runs[1]["notifications"] != 0:
        print("FAIL: the second sweep created notifications", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
