"""Where an intake event's time goes: cProfile over the webhook (POST /api/v1/intake/) and over the worker's batches
(intake_events_process), in-process, DEBUG off, on a throwaway copy of a bench dataset.

    .venv/bin/python bench/profile_intake.py [--database intake_bench] [--events 400] [--top 25]

Posts --events signed events and makes their tickets without the profiler (the mean wall and CPU time per
event, this process's CPU: Django's side, not PostgreSQL's), then as many again under it, and prints each
profile by cumulative and by own time. The task the webhook queues is not published (no worker listens
here): the batches run in this process. Uses DATABASE_URL's PostgreSQL server and REDIS_URL's cache.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.inprocess import environment  # noqa: E402

environment()
os.environ.setdefault("THROTTLE_INTAKE", "1000000/minute")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="intake_bench", help="the dataset copied (it is left as it is)")
    parser.add_argument("--events", type=int, default=400, help="events per round (one timed, one profiled)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    from bench import suite

    scratch = f"{args.database}_profile"
    url = suite.copy_database(args.database, scratch)
    try:
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        return profile(args)
    finally:
        from django.db import connections

        connections.close_all()
        suite.drop_database(scratch)


def profile(args) -> int:
    from django.conf import settings
    from django.test import Client

    from bench.api import SECRET, SOURCE_NAME, signed_event
    from tickets import intake
    from tickets.models import IntakeSource

    settings.DEBUG = False
    intake.enqueue = lambda task, *args, countdown=None: True  # no worker listens: the batches run below
    IntakeSource.objects.update_or_create(name=SOURCE_NAME, defaults={"platform": "taobao", "secret": SECRET,
                                                                      "is_active": True})
    client = Client()

    def post(n: int) -> None:
        body, headers = signed_event(0, n)
        response = client.post("/api/v1/intake/", data=body, content_type="application/json",
                               headers={k: v for k, v in headers.items() if k.startswith("X-")})
        assert response.status_code == 202, (response.status_code, response.content[:300])

    for n in range(5):  # warm-up
        post(-1 - n)
    intake.intake_events_process()

    walls, cpus = [], []
    for n in range(args.events):
        started, started_cpu = time.perf_counter(), time.process_time()
        post(n)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - started_cpu) * 1000)
    started, started_cpu = time.perf_counter(), time.process_time()
    made = intake.intake_events_process()
    batch_wall, batch_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"webhook: {statistics.median(walls):.2f} ms p50 wall, {statistics.median(cpus):.2f} ms p50 CPU in Django "
          f"({args.events} events, no profiler)")
    print(f"worker: {made} events in batches of {intake.INTAKE_BATCH_SIZE}: {batch_wall * 1000 / made:.2f} ms wall, "
          f"{batch_cpu * 1000 / made:.2f} ms CPU in Django per event")

    webhook = cProfile.Profile()
    webhook.enable()
    for n in range(args.events, 2 * args.events):
        post(n)
    webhook.disable()
    worker = cProfile.Profile()
    worker.enable()
    intake.intake_events_process()
    worker.disable()
    for name, profiler in (("webhook", webhook), ("worker", worker)):
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
            print(f"--- {name}, by {order} ({args.events} events) ---")
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
