"""Benchmark incident detection over N recent tickets on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/incidents.py --tickets 100000

Creates a fresh database (aftersales_bench_incidents), bulk-inserts N tickets from the last 24 hours,
each with one affected order item of one of `--products` products and one of the seven categories,
plus `--clusters` planted clusters (a product with 8 tickets in one category), then times
`incident_detect()` twice (the second run must find the same incidents and create none) and prints a
table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("DEBUG", "true")

from bench.sla_sweep import recreate_database  # noqa: E402

CHUNK = 5_000


def populate(total: int, products: int, clusters: int) -> None:
    from decimal import Decimal

    from django.utils import timezone

    from customers.models import Customer
    from orders.models import Order, OrderItem, Product
    from tickets.models import Category, Ticket

    now = timezone.now()
    rng = random.Random(7)
    catalogue = Product.objects.bulk_create(Product(sku=f"B-{i:06d}", name=f"压测商品{i}") for i in range(products))
    customer = Customer.objects.create(name="压测顾客", platform="own_site")
    categories = [c for c, _ in Category.choices]
    # Spread: 3 tickets per (product, category) at most, so only the planted clusters reach the threshold.
    plan = [(catalogue[i % products], categories[(i // products) % len(categories)]) for i in range(total)]
    plan[: clusters * 8] = [(catalogue[c], "product_quality") for c in range(clusters) for _ in range(8)]
    for start in range(0, total, CHUNK):
        chunk = plan[start : start + CHUNK]
        orders = Order.objects.bulk_create(
            Order(
                platform="own_site",
                external_number=f"BO{start + i:09d}",
                customer=customer,
                placed_at=now,
                paid_amount=Decimal("99"),
            )
            for i in range(len(chunk))
        )
        items = OrderItem.objects.bulk_create(
            OrderItem(order=o, product=p, unit_price=Decimal("99"), paid_amount=Decimal("99"))
            for o, (p, _c) in zip(orders, chunk, strict=True)
        )
        tickets = Ticket.objects.bulk_create(
            Ticket(
                number=f"BI{start + i:08d}",
                channel="chat",
                customer=customer,
                order=o,
                description="压测",
                type="return_refund",
                category=c,
                status="in_progress",
            )
            for i, (o, (_p, c)) in enumerate(zip(orders, chunk, strict=True))
        )
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
            created_at=now - timedelta(minutes=rng.randint(1, 23 * 60))
        )
        Ticket.affected_items.through.objects.bulk_create(
            Ticket.affected_items.through(ticket_id=t.pk, orderitem_id=it.pk)
            for t, it in zip(tickets, items, strict=True)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--clusters", type=int, default=20)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = recreate_database(os.environ["DATABASE_URL"], "aftersales_bench_incidents")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.incidents.detect import incident_detect
    from tickets.models import Incident

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    populate(args.tickets, args.products, args.clusters)
    print(f"inserted {args.tickets} tickets in {time.perf_counter() - started:.1f} s")
    rows = []
    for run in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            found = incident_detect()
            wall = time.perf_counter() - started
        rows.append(
            {
                "run": run,
                "tickets": args.tickets,
                "incidents_found": len(found),
                "incidents_total": Incident.objects.count(),
                "wall_s": round(wall, 3),
                "queries": len(queries),
            }
        )
    print(f"{'run':>3} {'tickets':>8} {'found':>6} {'total':>6} {'wall (s)':>9} {'queries':>8}")
    for r in rows:
        print(
            f"{r['run']:>3} {r['tickets']:>8} {r['incidents_found']:>6} {r['incidents_total']:>6} "
            f"{r['wall_s']:>9} {r['queries']:>8}"
        )
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
