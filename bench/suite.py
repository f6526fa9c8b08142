"""The big-promo benchmark suite: every figure of issue 9 against one PostgreSQL dataset.

    .venv/bin/python bench/suite.py                      # 1,000,000 tickets (dataset built on first use)
    .venv/bin/python bench/suite.py --tickets 100000 --requests 50 --only queue_page,search
    .venv/bin/python bench/suite.py --skip-data --json-out /tmp/suite.json

The dataset comes from bench/dataset.py `prepare_database()` (built once, reused afterwards) on the
server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres). Then:

1. In-process (Django test client, CaptureQueriesContext, DEBUG on, same database): the SQL queries
   of one request of each page and API call, and `EXPLAIN (ANALYZE, BUFFERS)` of the queries behind
   the queue, filtered queue, searches, ticket page, dashboard and SLA sweep claim, stored as
   bench/plans/<measurement>.txt (overwritten each run).
2. Through the real stack: `gunicorn -w 2` (DEBUG off, Redis cache for throttles, CONN_MAX_AGE,
   collected static files) and a stdlib load client on loopback (bench/http_load.py), a few warm-up
   requests not counted, each measurement bounded by --requests and --max-seconds: queue page, the
   same through the API, filtered queue, four searches (order number, phone, a word in 1% and one in
   10% of tickets), the ticket page with its 50-event timeline, the dashboard, each report; the API
   list with 4 concurrent clients against one instance, then against two instances (two ports, each
   client alternating) behind the same database.
3. What writes runs on a throwaway copy of the dataset (CREATE DATABASE … TEMPLATE, dropped at the
   end), so a second run measures the same thing: the SLA sweep (in-process, timed), the
   price-difference import of --pricediff-rows rows (preview and execution, in-process, timed), and
   intake with 8 concurrent signed clients through gunicorn.

Prints one table (measurement, p50 ms, p95 ms, queries, target, met?, plan) and one JSON line.
Exits 0 when targets are missed (the table says so); 1 only when a measurement could not be taken.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
# In-process part (query counts, EXPLAIN, sweep, import): DEBUG on so the settings need no production
# secrets and the test client's "testserver" host is allowed. gunicorn gets its own production-like env.
os.environ["DEBUG"] = "true"
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The price-difference job runs here, not on a broker (bench/pricediff.py does the same).
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
# In-process, the queue tabs are counted on every request, so their query is counted and explained too;
# gunicorn serves with the product's default (counts shared for a few seconds).
os.environ["QUEUE_COUNTS_SECONDS"] = "0"

from bench import http_load, processes  # noqa: E402
from bench.inprocess import UNTHROTTLED  # noqa: E402

os.environ.update(UNTHROTTLED)

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
# gunicorn's cache (throttle counters, presence): REDIS_URL when set, else a database of its own on loopback.
REDIS_BENCH_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/11"
PASSWORD = "bench"
PLANS_DIR = ROOT / "bench" / "plans"  # the plans kept in the repository; written only when asked
# Another process using more than this share of the machine in the second before a timed measurement marks
# its figure "busy": figures from a busy machine are 3-4x slower and are not comparable.
BUSY_CPU_SHARE = 0.25
REPORT_NAMES = ("volume", "response_times", "sla", "csat", "reopens", "returns", "defects", "responsibility",
                "agents")
# Tables whose look-ups every request makes (session, user, groups, token): left out of the plans.
PLAN_NOISE = ("django_session", "auth_user", "auth_group", "authtoken_token", "django_content_type",
              "tickets_staffprofile", "tickets_notification")


@dataclass(frozen=True)
class Target:
    figure: str  # "p50_ms" (below), "ok_per_s" (at least) or "wall_ms" (below)
    limit: float

    def label(self) -> str:
        if self.figure == "ok_per_s":
            return f">= {self.limit:g}/s"
        return f"p50 < {self.limit:g} ms" if self.figure == "p50_ms" else f"< {self.limit / 1000:g} s"

    def met(self, figures: dict) -> bool | None:
        value = figures.get(self.figure)
        if value is None:
            return None
        return value >= self.limit if self.figure == "ok_per_s" else value < self.limit


class IntakeTarget(Target):
    """Events accepted per second, and the platform's event to a ticket an agent can open within 2 s (p95)."""

    def label(self) -> str:
        return f">= {self.limit:g}/s, ticket p95 <= 2 s"

    def met(self, figures: dict) -> bool | None:
        accepted, latency = super().met(figures), figures.get("ticket_p95_ms")
        return None if accepted is None or latency is None else accepted and latency <= 2000


# Issue 21's targets at 1,000,000 tickets on a quiet 2-core machine. The filtered queue is held to the queue
# page's target.
TARGETS = {
    "queue_page": Target("p50_ms", 15),
    "queue_api": Target("p50_ms", 10),
    "filtered_queue": Target("p50_ms", 15),
    "search_order": Target("p50_ms", 50),
    "search_phone": Target("p50_ms", 50),
    "search_word": Target("p50_ms", 50),
    "search_common": Target("p50_ms", 50),
    "ticket_page": Target("p50_ms", 15),
    "dashboard": Target("p50_ms", 20),
    "sla_sweep": Target("wall_ms", 2000),
    "sla_sweep_all": Target("wall_ms", 2000),
    "pricediff_run": Target("wall_ms", 60_000),
    "intake": IntakeTarget("ok_per_s", 300),
}
HTTP_READS = ("queue_page", "queue_api", "filtered_queue", "search_order", "search_phone", "search_word",
              "search_common", "ticket_page", "dashboard", *(f"report_{name}" for name in REPORT_NAMES))
EXPLAINED = ("queue_page", "queue_api", "filtered_queue", "search_order", "search_phone", "search_word",
             "search_common", "ticket_page", "dashboard")
THROUGHPUT = ("api_list_x1", "api_list_x2")
SCRATCH = ("sla_sweep", "sla_sweep_all", "pricediff_preview", "pricediff_run", "intake")
ALL = (*HTTP_READS, *THROUGHPUT, *SCRATCH)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets in the dataset")
    parser.add_argument("--database", default=None,
                        help="dataset (default: aftersales_bench for 1,000,000 tickets, else aftersales_bench_<N>)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per latency measurement")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound of one latency measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests before each latency measurement")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput run")
    parser.add_argument("--only", default="", help="comma-separated measurements or prefixes (search, report, …)")
    parser.add_argument("--skip-data", action="store_true", help="use the existing dataset database as it is")
    parser.add_argument("--json-out", default=None, help="also write the JSON line to this file")
    parser.add_argument("--plans-dir", default=None,
                        help=f"write the EXPLAIN plans to this folder (none by default; {PLANS_DIR.relative_to(ROOT)} "
                             "holds the ones kept in the repository)")
    parser.add_argument("--busy-share", type=float, default=BUSY_CPU_SHARE,
                        help="other processes' CPU share before a timed measurement above which it is marked busy")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--api-clients", type=int, default=4, help="concurrent clients of the API list runs")
    parser.add_argument("--intake-clients", type=int, default=8, help="concurrent intake clients")
    parser.add_argument("--pricediff-rows", type=int, default=100_000, help="rows of the price-difference file")
    parser.add_argument("--pricediff-jobs", type=int, default=2,
                        help="processes running the import at once (a Celery worker with --concurrency=2)")
    parser.add_argument("--pricediff-max-seconds", type=float, default=900.0,
                        help="stop the import's execution after this long (the figure then says partial)")
    parser.add_argument("--report-days", type=int, default=30, help="period of the reports (last N days)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the throwaway copy of the dataset")
    parser.add_argument("--peer", action="store_true",
                        help="then measure django-helpdesk (from PyPI, in a throwaway virtualenv: bench/peer.py) at "
                             "the same --tickets and print both sides and their ratio")
    parser.add_argument("--peer-clean", action="store_true",
                        help="at the end, remove the peer's virtualenv and drop its peer_helpdesk_* databases")
    args = parser.parse_args(argv)
    args.database = args.database or default_database_name(args.tickets)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    args.selected = [m for m in ALL if not wanted or any(m == w or m.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(m == w or m.startswith(w) for m in ALL)]
    if unknown:
        parser.error(f"unknown measurement(s) {unknown}; choose from {', '.join(ALL)}")
    if args.peer:
        from bench import peer

        args.peer_selected = peer.selected(args.selected)
        if args.peer_selected is None:
            parser.error(f"--peer compares {', '.join(peer.COMPARED)}: --only selects none of them")
    return args


def default_database_name(tickets: int) -> str:
    """bench/dataset.py's default name for the full size, bench/reports.py's naming otherwise."""
    return "aftersales_bench" if tickets == 1_000_000 else f"aftersales_bench_{tickets}"


# Databases -----------------------------------------------------------------------------------------

def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else DEFAULT_SERVER


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{name}"))


def admin_connection():
    import psycopg2

    parts = urlsplit(server_url())
    conn = psycopg2.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres")))
    conn.autocommit = True
    return conn


def database_exists(name: str) -> bool:
    conn = admin_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        conn.close()


def copy_database(template: str, name: str, *, wait_seconds: float = 30.0) -> str:
    """CREATE DATABASE name TEMPLATE template. PostgreSQL refuses while anyone is connected to the
    template: wait a little for them to leave, then end their sessions."""
    from psycopg2 import errors

    conn = admin_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                    break
                except errors.ObjectInUse:
                    if time.monotonic() < deadline:
                        time.sleep(1)
                        continue
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", [template])
                    log(f"ended {cursor.rowcount} session(s) on {template} to copy it")
                    deadline = time.monotonic() + wait_seconds
    finally:
        conn.close()
    return database_url(name)


def drop_database(name: str) -> None:
    conn = admin_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def use_database(url: str) -> None:
    """Point this process's Django connection at `url` (the dataset, then its scratch copy)."""
    import environ
    from django.db import connections

    config = environ.Env.db_url_config(url)
    connection = connections["default"]
    connection.close()
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        connection.settings_dict[key] = config[key]


def database_size(name: str) -> int:
    conn = admin_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(%s)", [name])
            return cursor.fetchone()[0]
    finally:
        conn.close()


# The dataset's facts -------------------------------------------------------------------------------

@dataclass
class Facts:
    detail_ticket_id: int
    order_number: str
    phone: str
    word: str
    common_word: str
    supervisor: str
    agent: str
    password: str
    extra: dict = field(default_factory=dict)


def _pick(raw: dict, *keys: str):
    for key in keys:
        if raw.get(key) not in (None, ""):
            return raw[key]
    raise KeyError(f"dataset_facts() has none of {keys}: {sorted(raw)}")


def load_facts(url: str) -> Facts:
    from bench.dataset import SEARCH_COMMON_WORD, dataset_facts

    raw = dataset_facts(url)
    return Facts(
        detail_ticket_id=int(_pick(raw, "detail_ticket_id")),
        order_number=str(_pick(raw, "order_external_number")),
        phone=str(_pick(raw, "customer_phone")),
        word=str(_pick(raw, "search_word")),
        # Datasets built before it was recorded hold the same words: the constant is theirs too.
        common_word=str(raw.get("search_common_word") or SEARCH_COMMON_WORD),
        supervisor=str(_pick(raw, "supervisor_username")),
        agent=str(_pick(raw, "agent_username")),
        password=str(raw.get("supervisor_password") or PASSWORD),
        extra=raw,
    )


# In-process: query counts and EXPLAIN ----------------------------------------------------------------

SCAN = re.compile(r"(Parallel )?(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)? "
                  r"(?:using (\S+) )?on (\S+)")
EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def scans_of(plan: str) -> list[str]:
    """"Seq Scan tickets_ticket" or the index names, in plan order, without repeats."""
    found: list[str] = []
    for match in SCAN.finditer(plan):
        kind, index, table = match.group(2), match.group(4), match.group(5)
        if kind == "Bitmap Index Scan":
            index, table = table, None  # "Bitmap Index Scan on <index>"
        label = f"Seq Scan {table}" if kind == "Seq Scan" else index
        if label and label not in found:
            found.append(label)
    return found


def explain(sql: str) -> tuple[str, float]:
    """EXPLAIN (ANALYZE, BUFFERS) inside a transaction that is rolled back (a plan must change nothing)."""
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    lines: list[str] = []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {sql}")
                lines = [row[0] for row in cursor.fetchall()]
            raise Rollback
    except Rollback:
        pass
    plan = "\n".join(lines)
    found = EXECUTION.search(plan)
    return plan, float(found.group(1)) if found else 0.0


def plan_queries(captured: list[dict]) -> list[str]:
    selects = []
    for query in captured:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        tables = set(re.findall(r'(?:FROM|JOIN) "(\w+)"', sql))
        if tables and tables <= set(PLAN_NOISE):
            continue
        selects.append(sql)
    return selects


def write_plans(plans_dir: Path | None, name: str, path: str, tickets: int, sqls: list[str]) -> dict:
    """EXPLAIN each query, write bench/plans/<name>.txt, return the summary for the table and JSON."""
    explained = []
    for sql in sqls:
        plan, ms = explain(sql)
        explained.append({"sql": sql, "plan": plan, "ms": ms, "scans": scans_of(plan)})
    heavy = sorted(explained, key=lambda q: -q["ms"])
    # The table names the scans of the queries that cost something (>= 1 ms), heaviest first.
    shown = [q for q in heavy if q["ms"] >= 1.0][:3] or heavy[:1]
    out = [f"# {name}: {path}", f"# {tickets:,} tickets; {len(explained)} queries explained, heaviest first;",
           f"# EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT), {time.strftime('%Y-%m-%d %H:%M:%S')}", ""]
    for i, query in enumerate(heavy, 1):
        out += [f"-- query {i}/{len(heavy)}: {query['ms']:.3f} ms; scans: {', '.join(query['scans']) or '-'}",
                query["sql"], "", query["plan"], ""]
    if plans_dir is not None:
        plans_dir.mkdir(parents=True, exist_ok=True)
        (plans_dir / f"{name}.txt").write_text("\n".join(out), encoding="utf-8")
    return {
        "plan": " | ".join(f"{q['ms']:.0f}ms {'+'.join(q['scans'][:3]) or '-'}" for q in shown) or "-",
        "sql_ms": round(sum(q["ms"] for q in explained), 2),
        "plans": [{"ms": q["ms"], "scans": q["scans"]} for q in heavy],
    }


def inprocess_queries(client, path: str, *, expect: int = 200) -> list[dict]:
    """The SQL of one request (after one warm-up request for first-use caches)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    reset_queries()  # a full debug log (9,000 queries) would make the capture come back empty
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    if response.status_code != expect:
        raise RuntimeError(f"in-process GET {path} answered {response.status_code}: {response.content[:300]!r}")
    return list(queries.captured_queries)


# Price-difference jobs --------------------------------------------------------------------------------

def _pricediff_job(batch_id: int, seconds: float, results) -> None:
    from bench.pricediff import counting_queries
    from tickets.pricediff import services as pricediff

    with counting_queries() as queries:
        pricediff.pricediff_run(batch_id=batch_id, seconds=seconds)
    results.put(queries["n"])


def run_pricediff_jobs(batch_id: int, jobs: int, seconds: float) -> int:
    """`jobs` processes run the batch at once, as that many Celery worker processes would; each stops
    after the chunk that crosses `seconds`. Returns the SQL statements they sent."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    processes = [context.Process(target=_pricediff_job, args=(batch_id, seconds, results)) for _ in range(jobs)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a price-difference job failed (exit code {process.exitcode})")
    return sum(results.get() for _ in processes)


# gunicorn ------------------------------------------------------------------------------------------

def gunicorn_env(url: str, static_root: str, var_dir: str) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "CELERY_TASK_ALWAYS_EAGER", "REDIS_URL",
                         "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "QUEUE_COUNTS_SECONDS"}}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_BENCH_URL,
        "CONN_MAX_AGE": "60",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        **UNTHROTTLED,
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": static_root,
        "AFTERSALES_VAR_DIR": var_dir,
    }


def collect_static(env: dict) -> subprocess.CompletedProcess:
    """The manifest static storage (DEBUG off) needs collectstatic, as a deployment runs it."""
    return subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True)


class Gunicorn:
    """The desk through `gunicorn -w N` on a free loopback port (bench/processes.py)."""

    def __init__(self, env: dict, workers: int, log_dir: Path):
        self.service, self.port = processes.gunicorn(
            "gunicorn", ROOT / ".venv" / "bin" / "gunicorn", "aftersales.wsgi:application", workers=workers,
            timeout=120, cwd=ROOT, env=env, log_dir=log_dir, ready_path="/healthz")

    def tail(self) -> str:
        return self.service.tail()

    def stop(self) -> None:
        self.service.stop()  # graceful: the arbiter stops its workers


# Intake: a Celery worker and a poller for the tickets ---------------------------------------------------

def celery_worker(env: dict, log_dir: Path) -> processes.ServiceProcess:
    """One Celery worker process (prefork, one child: the 2 cores also run gunicorn, PostgreSQL and the load
    client) on the bench's Redis, as docker-compose's `worker` runs. Stopped warm: the running batch commits."""
    log_path = log_dir / "celery-worker.log"
    return processes.ServiceProcess(
        "the Celery worker",
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "aftersales", "worker", "-c", "1", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=env, log_path=log_path, ready=lambda service: " ready." in service.tail())


class TicketPoller(threading.Thread):
    """Every 50 ms: which of the events sent so far have their ticket (committed, so an agent can open it);
    `seen` maps each to the moment it was first seen (time.perf_counter, as `sent`)."""

    def __init__(self, sent: dict[str, float]):
        super().__init__(daemon=True)
        self.sent, self.seen = sent, {}
        self.stopping, self.deadline, self.drain_s = threading.Event(), None, 0.0

    def run(self) -> None:
        from django.db import connection

        try:
            while True:
                waiting = [key for key in self._sent_so_far() if key not in self.seen]
                if waiting:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT external_id FROM tickets_intakeevent WHERE platform = 'taobao' AND "
                                       "external_id = ANY(%s) AND ticket_id IS NOT NULL", [waiting])
                        now = time.perf_counter()
                        for (key,) in cursor.fetchall():
                            self.seen[key] = now
                elif self.stopping.is_set():
                    return
                if self.deadline is not None and time.perf_counter() > self.deadline:
                    return
                time.sleep(0.05)
        finally:
            connection.close()

    def _sent_so_far(self) -> list[str]:
        while True:
            try:
                return list(self.sent)
            except RuntimeError:  # a client added one while we copied: copy again
                continue

    def finish(self, timeout: float) -> None:
        """The load has stopped: wait until every event has its ticket (or `timeout`)."""
        started = time.perf_counter()
        self.deadline = started + timeout
        self.stopping.set()
        self.join(timeout + 5)
        self.drain_s = time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


# The run -------------------------------------------------------------------------------------------

STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[suite +{time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


class Suite:
    def __init__(self, args):
        self.args = args
        self.results: dict[str, dict] = {}
        self.durations: dict[str, float] = {}
        self.failed: list[str] = []
        self.plans_dir = Path(args.plans_dir) if args.plans_dir else None
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-suite-"))
        self.load = {"start": os.getloadavg()}
        self.peer: dict | None = None

    def wants(self, *names: str) -> bool:
        return any(name in self.args.selected for name in names)

    def record(self, name: str, figures: dict) -> None:
        target = TARGETS.get(name)
        row = {**self.results.get(name, {}), **figures}
        row["target"] = target.label() if target else None
        row["met"] = target.met(row) if target else None
        self.results[name] = row

    def attempt(self, name: str, action: Callable[[], dict], *, timed: bool = True) -> None:
        """One measurement; a failure is recorded and the suite goes on with the others. A timed one carries
        the load average before and after it and whether the machine was busy with something else."""
        try:
            before = machine_load() if timed else {}
            figures = action()
            if timed:
                after = os.getloadavg()[0]
                figures.update(load_before=before["load"], load_after=round(after, 2), others_cpu=before["others_cpu"],
                               busy=before["others_cpu"] > self.args.busy_share)
            self.record(name, figures)
        except Exception as error:  # a broken measurement must not hide the others
            log(f"{name} failed: {error!r}")
            self.failed.append(name)
            self.record(name, {"error": repr(error)[:300]})

    def phase(self, name: str):
        suite = self

        class Timer:
            def __enter__(self):
                self.started = time.perf_counter()
                log(f"{name} …")

            def __exit__(self, *exc):
                suite.durations[name] = round(time.perf_counter() - self.started, 1)
                log(f"{name} done in {suite.durations[name]} s")

        return Timer()

    # Setup ---------------------------------------------------------------------------------------

    def prepare(self) -> None:
        args = self.args
        with self.phase("dataset"):
            if args.skip_data:
                if not database_exists(args.database):
                    sys.exit(f"--skip-data: database {args.database} does not exist")
                self.url = database_url(args.database)
            else:
                from bench.dataset import prepare_database

                self.url = prepare_database(n_tickets=args.tickets, name=args.database, base_url=server_url())
        # A dataset built before the latest migrations gets their indexes (a no-op when up to date).
        from bench.dataset import _manage

        _manage(self.url, "migrate", "--noinput", "--skip-checks")
        os.environ["DATABASE_URL"] = self.url
        import django

        django.setup()
        use_database(self.url)  # whatever bench.dataset configured, this process reads the dataset
        self.facts = load_facts(self.url)

        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from tickets.models import OPEN_STATUSES, Ticket
        from tickets.reports.periods import Period

        User = get_user_model()  # noqa: N806
        self.supervisor = User.objects.get(username=self.facts.supervisor)
        self.agent = User.objects.get(username=self.facts.agent)
        self.token = Token.objects.get_or_create(user=self.supervisor)[0].key
        self.tickets = Ticket.objects.count()
        self.open_tickets = Ticket.objects.open().count()
        self.type, self.category = self._filter_values()
        period = Period.last_days(args.report_days)
        self.period = (period.start.isoformat(), period.end.isoformat())
        self.paths = {
            "queue_page": "/?queue=open",
            "queue_api": "/api/v1/tickets/?" + urlencode([("status", s) for s in OPEN_STATUSES]),
            "filtered_queue": f"/?queue=open&type={self.type}&category={self.category}&sla_state=breached",
            "search_order": f"/?queue=all&q={quote(self.facts.order_number)}",
            "search_phone": f"/?queue=all&q={quote(self.facts.phone)}",
            "search_word": f"/?queue=all&q={quote(self.facts.word)}",
            "search_common": f"/?queue=all&q={quote(self.facts.common_word)}",
            "ticket_page": f"/tickets/{self.facts.detail_ticket_id}/",
            "dashboard": "/dashboard/",
            **{f"report_{name}": f"/api/v1/reports/{name}/?from={self.period[0]}&to={self.period[1]}"
               for name in REPORT_NAMES},
        }
        self.agent_pages = {"queue_page", "filtered_queue", "search_order", "search_phone", "search_word",
                            "search_common"}
        # The ticket page is read by the agent who works the ticket: its heaviest form (reply box, reply
        # templates, actions, subtask form), the same whichever agent the dataset gave the ticket to.
        self.ticket_agent = (Ticket.objects.filter(pk=self.facts.detail_ticket_id)
                             .values_list("assignee__username", flat=True).first()) or self.facts.agent
        log(f"{args.database}: {self.tickets:,} tickets, {self.open_tickets:,} open; filtered queue "
            f"type={self.type} category={self.category}")

    def _filter_values(self) -> tuple[str, str]:
        """The commonest type and category among open breached tickets (else among open ones)."""
        from django.db.models import Count

        from tickets.models import SLAState, Ticket

        for queryset in (Ticket.objects.open().filter(sla_state=SLAState.BREACHED), Ticket.objects.open()):
            row = (queryset.exclude(type="").exclude(category="").values("type", "category")
                   .annotate(n=Count("id")).order_by("-n").first())
            if row:
                return row["type"], row["category"]
        return "return_refund", "product_quality"

    # 1. In-process ---------------------------------------------------------------------------------

    def measure_inprocess(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        agent_client, supervisor_client, ticket_client = Client(), Client(), Client()
        agent_client.force_login(self.agent)
        supervisor_client.force_login(self.supervisor)
        ticket_client.force_login(get_user_model().objects.get(username=self.ticket_agent))
        api_client = Client(HTTP_AUTHORIZATION=f"Token {self.token}", HTTP_ACCEPT="application/json")
        for name in HTTP_READS:
            if not self.wants(name) and not (name == "queue_api" and self.wants(*THROUGHPUT)):
                continue
            path = self.paths[name]
            if name.startswith("report_") or name == "queue_api":
                client = api_client
            elif name == "ticket_page":
                client = ticket_client
            else:
                client = agent_client if name in self.agent_pages else supervisor_client

            def counts(path=path, client=client, name=name) -> dict:
                captured = inprocess_queries(client, path)
                figures = {"path": path, "queries": len(captured)}
                if name in EXPLAINED:
                    figures.update(write_plans(self.plans_dir, name, path, self.tickets, plan_queries(captured)))
                return figures

            self.attempt(name, counts, timed=False)
        for name in THROUGHPUT:
            if self.wants(name) and "queries" in self.results.get("queue_api", {}):
                self.record(name, {"queries": self.results["queue_api"]["queries"],
                                   "path": self.paths["queue_api"]})

    # 2. Through gunicorn ------------------------------------------------------------------------------

    def start_server(self, url: str) -> Gunicorn:
        return Gunicorn(self.server_env(url), self.args.workers, self.workdir)

    def collect(self) -> None:
        with self.phase("collectstatic"):
            self.static_root = str(self.workdir / "static")
            result = collect_static(gunicorn_env(self.url, self.static_root, str(self.workdir / "var")))
            if result.returncode != 0:
                raise RuntimeError(f"collectstatic failed:\n{result.stderr[-2000:]}")

    def server_env(self, url: str) -> dict:
        return gunicorn_env(url, self.static_root, str(self.workdir / "var"))

    def measure_http(self) -> None:
        args = self.args
        from django.db import connections

        connections.close_all()
        first = self.start_server(self.url)
        second = None
        try:
            sessions = {"supervisor": http_load.login(first.port, self.facts.supervisor, self.facts.password)}
            try:
                sessions["agent"] = http_load.login(first.port, self.facts.agent, self.facts.password)
            except http_load.HTTPError as error:
                log(f"agent login failed ({error}); the agent pages are measured as the supervisor")
                sessions["agent"] = sessions["supervisor"]
            sessions["ticket_page"] = (sessions["agent"] if self.ticket_agent == self.facts.agent
                                       else http_load.login(first.port, self.ticket_agent, self.facts.password))
            api = http_load.Client(first.port, headers={"Authorization": f"Token {self.token}",
                                                        "Accept": "application/json"})
            for name in HTTP_READS:
                if not self.wants(name):
                    continue
                if name.startswith("report_") or name == "queue_api":
                    client = api
                else:
                    client = sessions.get(name) or sessions["agent" if name in self.agent_pages else "supervisor"]
                self.attempt(name, lambda client=client, name=name: http_load.latency(
                    client, self.paths[name], requests=args.requests, max_seconds=args.max_seconds,
                    warmup=args.warmup))
            api_headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
            api_path = self.paths["queue_api"]

            def list_load(ports: list[int]) -> dict:
                return http_load.throughput(
                    ports, lambda thread, n: ("GET", api_path, None, {}), concurrency=args.api_clients,
                    seconds=args.seconds, max_requests=max(args.requests, 100_000), headers=api_headers)

            if self.wants("api_list_x1"):
                self.attempt("api_list_x1", lambda: list_load([first.port]))
            if self.wants("api_list_x2"):
                second = self.start_server(self.url)
                self.attempt("api_list_x2", lambda: list_load([first.port, second.port]))
        finally:
            for server in (first, second):
                if server is not None:
                    server.stop()

    # 3. On a throwaway copy ----------------------------------------------------------------------------

    def measure_scratch(self) -> None:
        from django.conf import settings
        from django.db import connections

        scratch = f"{self.args.database}_scratch"
        connections.close_all()
        with self.phase("scratch copy"):
            scratch_url = copy_database(self.args.database, scratch)
        use_database(scratch_url)
        # Timed in-process work runs as in production: DEBUG off (no debug cursor logging every query).
        settings.DEBUG = False
        try:
            if self.wants("sla_sweep"):
                self.attempt("sla_sweep", self.sla_sweep)
            if self.wants("sla_sweep_all"):
                self.attempt("sla_sweep_all", lambda: self.sla_sweep(force_all=True))
            if self.wants("pricediff_preview", "pricediff_run"):
                self.pricediff()
            if self.wants("intake"):
                self.attempt("intake", lambda: self.intake(scratch_url))
        finally:
            settings.DEBUG = True
            connections.close_all()
            use_database(self.url)
            if self.args.keep_scratch:
                log(f"kept {scratch}")
            else:
                drop_database(scratch)

    def sla_sweep(self, *, force_all: bool = False) -> dict:
        """One sweep as the dataset stands (what fell due since it was built), or, with force_all, with
        every open ticket that has a check due at once: the big-promo worst case, each one checked.

        Before each forced sweep every open ticket is refreshed as a policy edit does (untimed): its check
        and plan written as the desk writes them (the dataset's checks have no plan; a ticket with a moment
        passed gets a check now, a paused one none). The dataset holds no notification rows, so the first
        forced sweep also sends every warning and breach notice its tickets ever earned (a catch-up, timed
        and reported apart); the figure is the second forced sweep, where each open ticket's check is due
        and its moments are read from its plan. A third, with the plans dropped, is what a big-promo start
        or end costs, when every plan is recomputed (reported apart too)."""
        from django.db import connection, transaction
        from django.utils import timezone

        from bench.pricediff import counting_queries
        from tickets.models import SLACheck, Ticket
        from tickets.sla.services import sla_refresh_open_tickets
        from tickets.sla.sweep import sla_sweep

        def all_due(now, *, drop_plans=False):
            # As after a policy edit: a check (and plan) for every open ticket with a moment passed or to come.
            sla_refresh_open_tickets()
            checks = SLACheck.objects.filter(ticket__in=Ticket.objects.open())
            checks.update(at=now, **({"plan": None} if drop_plans else {}))
            # What autovacuum does within a minute: the catch-up just wrote 100,000 notices to an empty table.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE tickets_notification, tickets_slacheck")

        catch_up = {}
        if force_all:
            now = timezone.now()
            all_due(now)
            started = time.perf_counter()
            result = sla_sweep(now=now)
            catch_up = {"catch_up_ms": round((time.perf_counter() - started) * 1000, 1),
                        "catch_up_notifications": result.notifications, "catch_up_tickets": result.tickets}
        now = timezone.now()
        if force_all:
            all_due(now)
        due = SLACheck.objects.filter(at__lte=now).count()
        plan_name = "sla_sweep_all" if force_all else "sla_sweep"
        claim: dict = {}

        class Claimed(Exception):
            pass

        def catch_claim(execute, sql, params, many, context):
            if "SKIP LOCKED" in sql and '"tickets_ticket"' in sql and not claim:
                claim["sql"] = context["cursor"].mogrify(sql, params).decode()
                raise Claimed
            return execute(sql, params, many, context)

        # The claim's SQL, taken from a sweep stopped before it claims anything (rolled back).
        try:
            with transaction.atomic(), connection.execute_wrapper(catch_claim):
                sla_sweep(now=now)
        except Claimed:
            pass
        figures: dict = {"due": due, "open": Ticket.objects.open().count(), **catch_up}
        if claim:
            figures.update(write_plans(self.plans_dir, plan_name, "sla_sweep() claim", self.tickets,
                                       [claim["sql"]]))
        with counting_queries() as queries:
            started = time.perf_counter()
            result = sla_sweep(now=now)
            wall = (time.perf_counter() - started) * 1000
        if force_all:
            now = timezone.now()
            all_due(now, drop_plans=True)
            started = time.perf_counter()
            recomputed = sla_sweep(now=now)
            figures.update(recompute_all_ms=round((time.perf_counter() - started) * 1000, 1),
                           recompute_all_tickets=recomputed.tickets)
        return {**figures, "p50_ms": round(wall, 1), "p95_ms": round(wall, 1), "wall_ms": round(wall, 1),
                "queries": queries["n"], "tickets_swept": result.tickets, "batches": result.batches,
                "notifications": result.notifications, "runs": 1}

    def pricediff(self) -> None:
        from django.contrib.auth import get_user_model

        from bench import pricediff as pricediff_bench
        from tickets.pricediff import services as pricediff
        from tickets.pricediff.models import PriceDiffBatch

        rows = self.args.pricediff_rows
        with self.phase(f"price-difference orders ({rows:,})"):
            if get_user_model().objects.filter(username="bench-supervisor").exists():
                raise RuntimeError("bench/pricediff.py populate() would clash with user bench-supervisor")
            pricediff_bench.populate(rows)  # rows orders, one line each, placed 2 days ago (its own user)
            content = pricediff_bench.csv_file(rows)
        preview: dict = {}
        phases: dict[str, float] = {}
        for name in ("read_rows", "validate_rows", "_batch_store"):
            pricediff_bench.timed(pricediff, name, phases)

        def run_preview() -> dict:
            with pricediff_bench.counting_queries() as queries:
                started = time.perf_counter()
                batch, created = pricediff.pricediff_preview(actor=self.supervisor, file_name="suite.csv",
                                                             content=content)
                ms = (time.perf_counter() - started) * 1000
            preview["batch"] = batch
            return {"p50_ms": round(ms, 1), "p95_ms": round(ms, 1), "queries": queries["n"], "rows": rows,
                    "valid_rows": batch.valid_rows, "rows_per_s": round(rows / (ms / 1000)), "runs": 1,
                    "phases_s": {name.strip("_"): seconds for name, seconds in phases.items()}}

        def run_execution() -> dict:
            # The jobs are run below, in processes of this one.
            batch = pricediff_bench.confirm_and_approve(preview["batch"], self.supervisor)
            jobs, limit = self.args.pricediff_jobs, self.args.pricediff_max_seconds
            started = time.perf_counter()
            queries = run_pricediff_jobs(batch.pk, jobs, limit)
            ms = (time.perf_counter() - started) * 1000
            batch.refresh_from_db()
            done = batch.status == PriceDiffBatch.Status.DONE
            if not done and batch.status != PriceDiffBatch.Status.RUNNING:
                raise RuntimeError(f"batch ended {batch.status}")
            rate = batch.processed_rows / (ms / 1000)
            figures = {"p50_ms": round(ms, 1), "p95_ms": round(ms, 1), "queries": queries, "rows": rows,
                       "jobs": jobs, "processed_rows": batch.processed_rows, "refunded_rows": batch.refunded_rows,
                       "rows_per_s": round(rate), "finished": done, "runs": 1}
            figures["wall_ms"] = round(ms, 1)
            if not done:  # stopped at --pricediff-max-seconds: what the whole file would take at this pace
                figures["projected_s"] = round(batch.valid_rows / rate) if rate else None
                # Held to its target by the projection: a partial run has not met it.
                figures["wall_ms"] = figures["projected_s"] * 1000 if rate else None
            return figures

        self.attempt("pricediff_preview", run_preview)
        if self.wants("pricediff_run") and "batch" in preview:
            self.attempt("pricediff_run", run_execution)

    def intake(self, scratch_url: str) -> dict:
        """8 signed clients post new events through gunicorn (accepted/s: answered 202 with a receipt) while a
        real Celery worker makes the tickets; a poller reads which events have their ticket, so each event's
        latency is from its POST to the moment its ticket can be read (committed)."""
        from django.db import connection, connections, reset_queries, transaction
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from bench.api import SECRET, SOURCE_NAME, signed_event
        from tickets.intake import intake_events_process
        from tickets.models import IntakeSource

        IntakeSource.objects.update_or_create(name=SOURCE_NAME, defaults={"platform": "taobao", "secret": SECRET,
                                                                          "is_active": True})
        for n in (1, 2):  # the first is a warm-up
            body, headers = signed_event(-1, n)
            reset_queries()
            # The webhook's own statements: the worker's task is queued once this commits, outside the count.
            with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                response = Client().post("/api/v1/intake/", data=body, content_type="application/json",
                                         headers={k: v for k, v in headers.items() if k.startswith("X-")})
            if response.status_code != 202:
                raise RuntimeError(f"in-process intake answered {response.status_code}: {response.content[:300]!r}")
        count = len(queries)
        # The reads behind one webhook call (its event is committed: replaying its SELECTs changes nothing).
        plans = write_plans(self.plans_dir, "intake", "POST /api/v1/intake/", self.tickets,
                            plan_queries(queries.captured_queries))
        intake_events_process()  # these two, if their task has not made them yet
        connections.close_all()
        server = self.start_server(scratch_url)
        worker = celery_worker(self.server_env(scratch_url), self.workdir)
        sent: dict[str, float] = {}
        posted = []  # every event, warm-up included: the CPU below is theirs
        scratch_db = urlsplit(scratch_url).path.lstrip("/")

        def cpu() -> dict:
            # PostgreSQL's backends name their database in their title ("postgres: user db host state").
            return {"web": server.service.cpu_seconds(), "worker": worker.cpu_seconds(),
                    "db": processes.cpu_seconds(lambda _fields, command: f" {scratch_db} " in command)}

        try:
            def event(thread: int, n: int):
                body, headers = signed_event(thread, n)
                posted.append(n)
                if n >= 0:  # the warm-up's events are not timed
                    sent[json.loads(body)["aftersale_id"]] = time.perf_counter()
                return "POST", "/api/v1/intake/", body, headers

            cpu_before = cpu()
            poller = TicketPoller(sent)
            poller.start()
            figures = http_load.throughput([server.port], event, concurrency=self.args.intake_clients,
                                           seconds=self.args.seconds, max_requests=1_000_000, ok_statuses=(202,))
            poller.finish(timeout=60)
            # CPU per event from its POST to its ticket: the machine's other work does not count, so this
            # compares changes on a shared machine better than accepted/s.
            cpu_used = {part: seconds - cpu_before[part] for part, seconds in cpu().items()}
        finally:
            worker.stop()
            server.stop()
        latencies = sorted(poller.seen[key] - sent[key] for key in poller.seen)
        figures.update({
            "queries": count, **plans,
            "events": len(sent), "tickets_seen": len(latencies), "not_made_in_60s": len(sent) - len(latencies),
            "ticket_p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
            "ticket_p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
            "drain_s": round(poller.drain_s, 1),
            "cpu_ms_per_event": {part: round(seconds * 1000 / max(len(posted), 1), 2)
                                 for part, seconds in cpu_used.items()},
        })
        return figures

    # Output ---------------------------------------------------------------------------------------------

    def table(self) -> str:
        header = ("measurement", "p50 ms", "p95 ms", "queries", "target", "met?", "load", "plan / notes")
        rows = []
        for name in ALL:
            if name not in self.results:
                continue
            r = self.results[name]
            if "error" in r:
                rows.append((name, "ERROR", "", str(r.get("queries", "")), r["target"] or "-", "-", "",
                             r["error"][:80]))
                continue
            met = {True: "yes", False: "NO", None: "-"}[r["met"]]
            rows.append((name, _ms(r.get("p50_ms")), _ms(r.get("p95_ms")), str(r.get("queries", "?")),
                         r["target"] or "-", met, _load(r), _notes(name, r)[:150]))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"{self.tickets:,} tickets ({self.open_tickets:,} open) in {self.args.database}; gunicorn -w "
                 f"{self.args.workers}; {self.args.requests} requests per latency figure; load average "
                 f"{self.load['start'][0]:.1f} at start, {self.load['end'][0]:.1f} at end ({os.cpu_count()} cores)"]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        busy = [name for name, r in self.results.items() if r.get("busy")]
        lines.append(f"load: 1-minute load average before→after each timed figure; BUSY: other processes used more "
                     f"than {self.args.busy_share:.0%} of the machine just before it — not a quiet-machine figure"
                     + (f" ({', '.join(busy)})" if busy else " (none)"))
        return "\n".join(lines)

    def summary(self) -> dict:
        return {
            "bench": "suite", "database": self.args.database, "tickets": self.tickets,
            "open_tickets": self.open_tickets, "workers": self.args.workers, "requests": self.args.requests,
            "seconds": self.args.seconds, "report_period": self.period, "date": date.today().isoformat(),
            "database_bytes": database_size(self.args.database), "durations_s": self.durations,
            "load_average": {k: [round(x, 2) for x in v] for k, v in self.load.items()},
            "measurements": {name: self.results[name] for name in ALL if name in self.results},
            "failed": self.failed,
            **({"peer": self.peer_summary()} if self.peer is not None else {}),
        }

    # The peer (--peer) -------------------------------------------------------------------------------------

    def measure_peer(self) -> None:
        """django-helpdesk at the same --tickets, through the same client (bench/peer.py); its escalation
        gets as many tickets due as our sweep had."""
        from argparse import Namespace

        from bench import peer

        args = self.args
        peer_args = Namespace(tickets=args.tickets, requests=args.requests, max_seconds=args.max_seconds,
                              warmup=args.warmup, workers=args.workers, busy_share=args.busy_share,
                              selected=args.peer_selected, due=None, escalation_runs=3, rebuild=False)
        due = self.results.get("sla_sweep", {}).get("due")
        try:
            self.peer = peer.measure(peer_args, due=due)
        except Exception as error:  # pip, the dataset or the peer's server: our own figures still stand
            log(f"peer failed: {error!r}")
            self.peer = {"error": repr(error)[:1000], "measurements": {}}
        failed = [name for name, r in self.peer["measurements"].items() if "error" in r]
        if "error" in self.peer or failed:
            self.failed.append("peer" + (f" ({', '.join(failed)})" if failed else ""))

    def peer_rows(self) -> list[dict]:
        from bench import peer

        return peer.comparison_rows(self.results, self.peer["measurements"])

    def peer_table(self) -> str:
        from bench import peer

        if "error" in self.peer:
            return f"django-helpdesk (--peer) could not be measured: {self.peer['error']}"
        return peer.comparison_table(self.peer_rows(), tickets=self.tickets, desk_open=self.open_tickets,
                                     peer=self.peer, busy_share=self.args.busy_share)

    def peer_summary(self) -> dict:
        from bench import peer

        return self.peer if "error" in self.peer else peer.summary(self.peer_rows(), self.peer)

    def run(self) -> int:
        started = time.perf_counter()
        try:
            self.prepare()
            with self.phase("in-process queries and plans"):
                self.measure_inprocess()
            if self.wants(*HTTP_READS, *THROUGHPUT, "intake"):
                self.collect()
            if self.wants(*HTTP_READS, *THROUGHPUT):
                with self.phase("HTTP reads"):
                    self.measure_http()
            if self.wants(*SCRATCH):
                with self.phase("writes on a copy"):
                    self.measure_scratch()
            if self.args.peer:
                with self.phase("django-helpdesk (--peer)"):
                    self.measure_peer()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self.args.peer_clean:
                from bench import peer

                peer.clean()
        self.durations["total"] = round(time.perf_counter() - started, 1)
        self.load["end"] = os.getloadavg()
        print(self.table())
        if self.peer is not None:
            print(self.peer_table())
        line = json.dumps(self.summary(), ensure_ascii=False, default=str)
        print(line)
        if self.args.json_out:
            Path(self.args.json_out).write_text(line + "\n", encoding="utf-8")
        return 1 if self.failed else 0


def machine_load(sample_seconds: float = 1.0) -> dict:
    """The 1-minute load average, and the share of the machine's CPU that other processes used over a short
    sample while the bench itself waits (its gunicorn idle): the load average alone counts the bench's own
    previous measurement for a minute after it."""
    def busy_and_total():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)
    try:
        busy0, total0 = busy_and_total()
        time.sleep(sample_seconds)
        busy1, total1 = busy_and_total()
        share = (busy1 - busy0) / max(total1 - total0, 1)
    except OSError:  # no /proc (not Linux): the load average only
        share = 0.0
    return {"load": round(os.getloadavg()[0], 2), "others_cpu": round(share, 3)}


def _load(r: dict) -> str:
    if "load_before" not in r:
        return ""
    return f"{r['load_before']:.1f}→{r['load_after']:.1f}" + (" BUSY" if r.get("busy") else "")


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _notes(name: str, r: dict) -> str:
    notes = []
    if name in THROUGHPUT:
        notes.append(f"{r.get('per_s')} req/s, {r.get('concurrency')} clients, {r.get('ports')} instance(s)")
    elif name == "intake":
        notes.append(f"{r.get('ok_per_s')} accepted/s, {r.get('concurrency')} clients; event->ticket p50 "
                     f"{r.get('ticket_p50_ms')} / p95 {r.get('ticket_p95_ms')} ms, {r.get('tickets_seen')} of "
                     f"{r.get('events')} made, drained {r.get('drain_s')} s after; CPU ms per event "
                     f"{r.get('cpu_ms_per_event')}; statuses {r.get('statuses')}")
    elif name.startswith("sla_sweep"):
        notes.append(f"{r.get('tickets_swept')} swept of {r.get('due')} due / {r.get('open')} open, "
                     f"{r.get('batches')} batches, {r.get('notifications')} notices")
        if "catch_up_ms" in r:
            notes.append(f"first forced sweep {r['catch_up_ms'] / 1000:.1f} s, {r['catch_up_notifications']} notices")
        if "recompute_all_ms" in r:
            notes.append(f"every plan recomputed (a promo starts) {r['recompute_all_ms'] / 1000:.1f} s, "
                         f"{r['recompute_all_tickets']} tickets")
    elif name == "pricediff_preview":
        notes.append(f"{r.get('rows')} rows, {r.get('rows_per_s')} rows/s; phases {r.get('phases_s')}")
    elif name == "pricediff_run":
        notes.append(f"{r.get('processed_rows')} of {r.get('rows')} rows, {r.get('rows_per_s')} rows/s, "
                     f"{r.get('jobs')} jobs" + ("" if r.get("finished") else
                                               f"; PARTIAL (time bound), whole file ~{r.get('projected_s')} s"))
    if "plan" in r:
        notes.insert(0, r["plan"])
    if name in HTTP_READS and "requests" in r:
        notes.append(f"n={r['requests']}")
    if name.startswith("sla_sweep") and "plan" in r:
        notes.append("(the sweep's plan: its claim query)")
    return "; ".join(notes)


def main(argv=None) -> int:
    return Suite(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
