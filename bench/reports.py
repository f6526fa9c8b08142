"""Benchmark the supervisor reports on PostgreSQL: time and queries of each report over a big table.

    .venv/bin/python bench/reports.py --tickets 1000000
    .venv/bin/python bench/reports.py --tickets 100000 --days 30 --days 365 --repeat 7 --explain sla

The database comes from bench/dataset.py `prepare_database(n_tickets=N, name=...)` (created, migrated
and filled with a realistic dataset on first use, reused afterwards); its DATABASE_URL is what the
reports run against. Each report runs once to warm the cache, then --repeat times for each period
(the last --days local days, ending today). Prints a table (report, period, median ms, p95 ms,
queries) and one JSON line. --explain NAME prints EXPLAIN (ANALYZE, BUFFERS) of that report's queries.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("DEBUG", "true")  # the settings need no production secrets for an in-process bench
os.environ.setdefault("LOG_LEVEL", "WARNING")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets in the dataset")
    parser.add_argument("--database", default=None,
                        help="database name (default: bench/dataset.py's shared aftersales_bench for 1M tickets, "
                             "aftersales_bench_<N> for other sizes)")
    parser.add_argument("--days", type=int, action="append", help="period lengths in days (default: 30 and 365)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per report and period")
    parser.add_argument("--report", action="append", help="only these reports (default: all)")
    parser.add_argument("--explain", action="append", default=[], help="print the query plans of this report")
    return parser.parse_args(argv)


def setup_django(url: str) -> None:
    """Point Django at the bench database (bench/dataset.py may already have set it up)."""
    import django
    from django.conf import settings

    if not settings.configured:
        os.environ["DATABASE_URL"] = url
    django.setup()
    from django.db import connection

    expected = urlsplit(url).path.lstrip("/")
    if connection.vendor != "postgresql" or connection.settings_dict["NAME"] != expected:
        sys.exit(f"expected PostgreSQL database {expected!r}, Django uses {connection.settings_dict['NAME']!r}")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def measure(name: str, period, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.reports.queries import report_run

    with CaptureQueriesContext(connection) as queries:
        report = report_run(name, period)  # warm-up, and the query count
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        report_run(name, period)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "report": name,
        "days": period.days,
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "queries": len(queries),
        "rows": len(report.rows),
    }


def explain(name: str, period) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.reports.queries import report_run

    with CaptureQueriesContext(connection) as queries:
        report_run(name, period)
    for query in queries:
        print(f"\n-- {name}, {period.days} days\n{query['sql']}\n")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            print("\n".join(row[0] for row in cursor.fetchall()))


def main(argv=None) -> None:
    args = parse_args(argv)
    from bench.dataset import prepare_database

    name = args.database or ("aftersales_bench" if args.tickets == 1_000_000 else f"aftersales_bench_{args.tickets}")
    started = time.perf_counter()
    url = prepare_database(n_tickets=args.tickets, name=name,
                           log=lambda message: print(message, file=sys.stderr, flush=True))
    prepared_s = time.perf_counter() - started
    setup_django(url)

    from tickets.models import Ticket
    from tickets.reports.periods import Period
    from tickets.reports.queries import REPORTS

    names = args.report or list(REPORTS)
    periods = [Period.last_days(days) for days in (args.days or [30, 365])]
    total = Ticket.objects.count()
    in_periods = {p.days: Ticket.objects.filter(created_at__gte=p.start_at, created_at__lt=p.end_at).count()
                  for p in periods}
    results = [measure(report, period, args.repeat) for period in periods for report in names]
    for report in args.explain:
        for period in periods:
            explain(report, period)

    print(f"\nReports on PostgreSQL, {total:,} tickets in {name} (prepared in {prepared_s:.0f} s); "
          + ", ".join(f"{days} days: {n:,} tickets" for days, n in in_periods.items()))
    print(f"{'report':<16} {'days':>5} {'median ms':>10} {'p95 ms':>9} {'queries':>8}")
    for r in results:
        print(f"{r['report']:<16} {r['days']:>5} {r['median_ms']:>10.1f} {r['p95_ms']:>9.1f} {r['queries']:>8}")
    print(json.dumps({
        "bench": "reports", "database": name, "tickets": total, "tickets_in_period": in_periods,
        "repeat": args.repeat, "results": results,
    }))


if __name__ == "__main__":
    main()
