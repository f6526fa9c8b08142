"""Benchmark bulk price-difference refunds (退差) on PostgreSQL: preview and run of an N-row CSV.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pricediff.py --rows 100000

Creates a fresh database (`--database`, default aftersales_bench_pricediff; dropped first) on the
server of DATABASE_URL, migrates it, bulk-inserts N orders with one line each, writes an N-row CSV
(1% of the rows name an unknown order), then times:
- preview: tickets.pricediff.services.pricediff_preview (read + validate + store), with its phases;
- run: the Celery task function for the batch, called directly (no broker; its continuation after
  each RUN_SLICE_SECONDS runs inline), in `--workers` processes at once as parallel jobs would;
- rerun: the task again on the done batch, and the same file uploaded again (both must create nothing).
Prints a table and one JSON line with rows, seconds, rows/s and SQL query counts.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
# The task runs in this process (no broker, no worker): what is measured is the work itself.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

CHUNK = 5_000
ORDERS_PER_CUSTOMER = 20
PRODUCTS = 1_000
UNKNOWN_EVERY = 100  # every 100th row names an order that does not exist


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows (and orders) to create")
    parser.add_argument("--database", default="aftersales_bench_pricediff", help="database to (re)create")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes running the task at once (as Celery workers would; they split the rows)")
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
        cursor.execute(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        )
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def counting_queries():
    """Count SQL statements without keeping them (a million would not fit the debug log)."""
    from django.db import connection

    counter = {"n": 0}

    def wrapper(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def populate(total: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from customers.models import Customer
    from orders.models import Order, OrderItem, Product
    from tickets.roles import Role

    supervisor = get_user_model().objects.create_user("bench-supervisor", email="supervisor@example.com")
    supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    products = Product.objects.bulk_create(Product(sku=f"BSKU-{i:05d}", name=f"压测商品{i}") for i in range(PRODUCTS))
    customers = Customer.objects.bulk_create(
        Customer(name=f"压测顾客{i}", phone=f"136{i:08d}", platform="taobao", platform_account=f"pd_bench_{i}")
        for i in range(max(1, total // ORDERS_PER_CUSTOMER))
    )
    placed = timezone.now() - timedelta(days=2)
    for start in range(0, total, CHUNK):
        numbers = range(start, min(start + CHUNK, total))
        orders = Order.objects.bulk_create(
            Order(platform="taobao", external_number=f"PD{i:012d}", customer=customers[i % len(customers)],
                  paid_amount=Decimal("199.00"), placed_at=placed, status=Order.Status.COMPLETED)
            for i in numbers
        )
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=products[i % PRODUCTS], quantity=1, unit_price=Decimal("199.00"),
                      paid_amount=Decimal("199.00"))
            for i, order in zip(numbers, orders, strict=True)
        )
    return supervisor


def confirm_and_approve(batch, supervisor):
    """Confirm the batch as its uploader and, when it is above a limit, approve it as a second
    supervisor (as the shop would), without a broker: the jobs are run by the caller."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tickets.pricediff import services as pricediff
    from tickets.pricediff.models import PriceDiffBatch
    from tickets.pricediff.tasks import pricediff_run_task
    from tickets.roles import Role

    # Not run here (the caller times it): with CELERY_TASK_ALWAYS_EAGER a dispatch would run the whole batch
    # inside the approval. The services queue it through apply_async (aftersales.celery.enqueue).
    delay, apply_async = pricediff_run_task.delay, pricediff_run_task.apply_async
    pricediff_run_task.delay = pricediff_run_task.apply_async = lambda *args, **kwargs: None
    try:
        batch = pricediff.pricediff_execute(batch=batch, actor=supervisor)
        if batch.status == PriceDiffBatch.Status.AWAITING_APPROVAL:
            approver, _ = get_user_model().objects.get_or_create(username="bench-approver")
            approver.groups.add(Group.objects.get(name=Role.SUPERVISOR))
            batch = pricediff.pricediff_decide(batch=batch, actor=approver, approve=True, reason="bench")
    finally:
        pricediff_run_task.delay, pricediff_run_task.apply_async = delay, apply_async
    batch.refresh_from_db()
    if batch.processed_rows:
        raise RuntimeError("the batch ran before it was timed")
    return batch


def csv_file(total: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["订单号", "商品编码", "新价格", "原因"])
    for i in range(total):
        number = f"PD{i:012d}" if (i + 1) % UNKNOWN_EVERY else f"NO{i:012d}"
        writer.writerow([number, f"BSKU-{i % PRODUCTS:05d}", "179.00", "双十一价保"])
    return out.getvalue().encode("utf-8-sig")


def _job(batch_id: int, results) -> None:
    from tickets.pricediff.tasks import pricediff_run_task

    with counting_queries() as queries:
        pricediff_run_task(batch_id)  # the task function itself; its continuations run inline (eager)
    results.put(queries["n"])


def run_jobs(batch_id: int, workers: int) -> int:
    """Run the task in `workers` processes at once; return the SQL statements they sent."""
    import multiprocessing

    from django.db import connections

    if workers == 1:
        results = multiprocessing.SimpleQueue()
        _job(batch_id, results)
        return results.get()
    connections.close_all()  # children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    processes = [context.Process(target=_job, args=(batch_id, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            sys.exit(f"a job process failed (exit code {process.exitcode})")
    return sum(results.get() for _ in processes)


def timed(module, name: str, phases: dict):
    """Wrap module.name so its wall time lands in phases[name]."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[name] = round(time.perf_counter() - started, 2)

    setattr(module, name, wrapper)


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL (PostgreSQL); the bench creates its own database next to it")
    os.environ["DATABASE_URL"] = recreate_database(url, args.database)

    import django

    django.setup()
    from django.core.management import call_command

    from orders.models import Refund
    from tickets.models import Subtask, Ticket
    from tickets.pricediff import services as pricediff
    from tickets.pricediff.models import PriceDiffBatch, PriceDiffRow
    from tickets.pricediff.tasks import pricediff_run_task

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    supervisor = populate(args.rows)
    content = csv_file(args.rows)
    print(f"inserted {args.rows} orders and wrote a {len(content) / 2**20:.1f} MB CSV in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)

    phases: dict[str, float] = {}
    for name in ("read_rows", "validate_rows", "_batch_store"):
        timed(pricediff, name, phases)
    figures = {"rows": args.rows, "file_mb": round(len(content) / 2**20, 2)}

    with counting_queries() as queries:
        started = time.perf_counter()
        batch, created = pricediff.pricediff_preview(actor=supervisor, file_name="bench.csv", content=content)
        figures["preview_s"] = round(time.perf_counter() - started, 2)
    figures["preview_queries"] = queries["n"]
    figures["preview_phases_s"] = {name.strip("_"): seconds for name, seconds in phases.items()}
    figures["valid_rows"] = batch.valid_rows

    # Confirm (and approve) the batch without a broker (the jobs it would enqueue are run below, by hand).
    confirm_and_approve(batch, supervisor)
    started = time.perf_counter()
    figures["run_queries"] = run_jobs(batch.pk, args.workers)
    figures["run_s"] = round(time.perf_counter() - started, 2)
    figures["workers"] = args.workers
    batch.refresh_from_db()
    figures["status"] = batch.status
    figures["refunded_rows"] = batch.refunded_rows
    figures["refunded_amount"] = str(batch.refunded_amount)

    refunds_before = Refund.objects.count()
    with counting_queries() as queries:
        started = time.perf_counter()
        pricediff_run_task(batch.pk)
        again, created_again = pricediff.pricediff_preview(actor=supervisor, file_name="again.csv", content=content)
        figures["rerun_s"] = round(time.perf_counter() - started, 2)
    figures["rerun_queries"] = queries["n"]
    figures["rerun_new_refunds"] = Refund.objects.count() - refunds_before
    figures["preview_rows_per_s"] = round(args.rows / figures["preview_s"])
    figures["run_rows_per_s"] = round(batch.processed_rows / figures["run_s"]) if figures["run_s"] else None
    figures["run_queries_per_row"] = round(figures["run_queries"] / max(1, batch.processed_rows), 1)
    figures["tickets"] = Ticket.objects.count()
    figures["subtasks"] = Subtask.objects.count()

    print(f"{'step':<8} {'rows':>8} {'seconds':>9} {'rows/s':>8} {'SQL queries':>12}  workers={args.workers}")
    print("-" * 49)
    print(f"{'preview':<8} {args.rows:>8} {figures['preview_s']:>9.2f} {figures['preview_rows_per_s']:>8} "
          f"{figures['preview_queries']:>12}")
    print(f"{'run':<8} {batch.processed_rows:>8} {figures['run_s']:>9.2f} {figures['run_rows_per_s']:>8} "
          f"{figures['run_queries']:>12}")
    print(f"{'rerun':<8} {args.rows:>8} {figures['rerun_s']:>9.2f} {'':>8} {figures['rerun_queries']:>12}")
    print(f"preview phases (s): {figures['preview_phases_s']}; refunded {batch.refunded_rows} rows, "
          f"¥{batch.refunded_amount}; status {batch.status}", file=sys.stderr)
    print(json.dumps(figures))

    ok = (
        created and batch.status == PriceDiffBatch.Status.DONE and not created_again and again.pk == batch.pk
        and figures["rerun_new_refunds"] == 0
        and batch.refunded_rows == PriceDiffRow.objects.filter(batch=batch, status="refunded").count()
        and figures["tickets"] == 1 and figures["subtasks"] == 1
    )
    if not ok:
        print("FAIL: see the figures above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
