"""Where a page's time goes: cProfile over N requests of one page of a bench dataset, in-process, DEBUG off.

    .venv/bin/python bench/profile_page.py ticket_page [--database aftersales_bench_100000] [--requests 50]
    .venv/bin/python bench/profile_page.py /dashboard/ --as supervisor --top 40

Pages by name as in bench/suite.py (ticket_page, queue_page, dashboard, ...) or a path. Prints the mean wall
time per request (profiler off), then the profile (profiler on, so slower) sorted by cumulative and by own
time, and the share of the request spent rendering templates and in SQL.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.inprocess import environment  # noqa: E402

environment()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", help="a measurement name of bench/suite.py or a path")
    parser.add_argument("--database", default="aftersales_bench_100000")
    parser.add_argument("--as", dest="who", choices=("agent", "supervisor", "ticket_agent"), default=None)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--stats-out", default=None, help="also write the profile here (pstats)")
    parser.add_argument("--queries", action="store_true",
                        help="print the SQL of one request (and where in the project it was run), then stop")
    args = parser.parse_args(argv)

    from bench import suite

    os.environ["DATABASE_URL"] = suite.database_url(args.database)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from tickets.models import Ticket

    settings.DEBUG = False
    facts = suite.load_facts(os.environ["DATABASE_URL"])
    from tickets.models import OPEN_STATUSES

    paths = {"queue_page": "/?queue=open", "dashboard": "/dashboard/", "search_word": f"/?queue=all&q={facts.word}",
             "search_common": f"/?queue=all&q={facts.common_word}",
             "ticket_page": f"/tickets/{facts.detail_ticket_id}/",
             "queue_api": "/api/v1/tickets/?" + urlencode([("status", s) for s in OPEN_STATUSES])}
    path = paths.get(args.page, args.page)
    who = args.who or ("ticket_agent" if args.page == "ticket_page" else
                       "supervisor" if args.page in ("dashboard", "queue_api") else "agent")
    username = {"agent": facts.agent, "supervisor": facts.supervisor}.get(who) or (
        Ticket.objects.filter(pk=facts.detail_ticket_id).values_list("assignee__username", flat=True).first()
        or facts.agent)
    user = get_user_model().objects.get(username=username)
    if path.startswith("/api/"):  # as bench/suite.py calls the API: a token, JSON
        from rest_framework.authtoken.models import Token

        client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}",
                        HTTP_ACCEPT="application/json")
    else:
        client = Client()
        client.force_login(user)

    def get():
        response = client.get(path)
        assert response.status_code == 200, response.status_code

    for _ in range(5):
        get()
    if args.queries:
        return print_queries(get)
    walls, cpus = [], []
    for _ in range(args.requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        get()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - started_cpu) * 1000)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        get()
    profiler.disable()
    stats = pstats.Stats(profiler)
    if args.stats_out:
        stats.dump_stats(args.stats_out)
    total = stats.total_tt
    render = sql = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if name == "render" and filename.endswith(("template/backends/django.py", "template/backends/jinja2.py")):
            render += ct  # each engine's templates rendered from the view (the Jinja2 body, the Django page)
        if name == "execute" and filename.endswith("django/db/backends/utils.py"):
            sql = max(sql, ct)
    # The CPU time of this process (Django's side, without PostgreSQL's) moves much less than the wall time
    # when other programs share the machine.
    # Their minimum is what a busy machine inflates least: compare two versions by it.
    print(f"{path} as {username}: {statistics.median(walls):.1f} ms p50 wall, {statistics.median(cpus):.1f} ms p50 "
          f"CPU in Django, {min(cpus):.1f} ms least ({args.requests} requests, no profiler)")
    print(f"under the profiler: {total / args.requests * 1000:.1f} ms a request; template rendering "
          f"{render / total:.0%}, SQL (execute) {sql / total:.0%}")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(out.getvalue())
    return 0


def print_queries(get) -> int:
    """Each query of one request with the innermost project frame (file:line) that ran it."""
    import traceback

    from django.db import connection

    shown = []

    def origin(execute, sql, params, many, context):
        frames = [f for f in traceback.extract_stack()
                  if str(ROOT) in f.filename and ".venv" not in f.filename and "bench/" not in f.filename]
        where = f"{Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else "?"
        shown.append((where, sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(origin):
        get()
    for number, (where, sql) in enumerate(shown, 1):
        print(f"{number:>3} {where:<45} {sql[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
