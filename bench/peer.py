"""The desk beside django-helpdesk: the same measurements on the best-known Django ticket tracker.

    .venv/bin/python bench/suite.py --tickets 100000 --only queue_page,queue_api,ticket_page,dashboard,sla_sweep --peer
    .venv/bin/python bench/peer.py --tickets 100000          # the peer's figures alone
    .venv/bin/python bench/peer.py --clean                   # remove its virtualenv and drop its databases

No django-helpdesk code lives in this repository: at run time `python3 -m venv` makes a throwaway
virtualenv outside it (under the system's temporary folder, reused while it holds the pinned version,
removed by --clean / the suite's --peer-clean), `pip install`s django-helpdesk from PyPI with the same
Django, gunicorn and psycopg2 as the desk, and generates a minimal Django project beside it (the
package's documented settings: its app, sites, humanize, rest_framework for its REST API, teams off).
The project is migrated into PostgreSQL database peer_helpdesk_<N> on DATABASE_URL's server and seeded
once by bench/peer_helpdesk.py, run with the peer's python, in bench/dataset.py's shape (N tickets, 3%
open, ~6 follow-ups a ticket, a customer per three tickets, the same staff, the ticket page's ticket
with 50 follow-ups); a marker table makes later runs reuse it.

Measured through `gunicorn -w 2` with bench/http_load.py (same client, warm-up and bounds as the suite),
logged in as a staff user through the login form:
- queue_page: the open-ticket list's first page, /tickets/?status=1&status=2. django-helpdesk's list is a
  page whose script fetches the rows (/datatables_ticket_list/<query>); a person sees tickets after both,
  so each sample is the page and its data request, one after the other.
- queue_api: its REST list of open tickets, first page (/api/tickets/?status=1,2).
- ticket_page: /tickets/<id>/ of the ticket with 50 follow-ups.
- dashboard: /dashboard/.
- sla_sweep: `escalate_tickets` (its periodic job) with as many tickets due as our sweep had, timed
  in-process like our sweep (and once as `manage.py escalate_tickets`, process start included).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import http_load  # noqa: E402

PACKAGE = "django-helpdesk"
# The latest 2.x on PyPI that installs on Python 3.11 (checked 2026-12-06). Django, DRF, gunicorn and
# psycopg2 pinned to the desk's own versions: the comparison is of the two applications, not of the stack.
VERSION = "2.6.1"
REQUIREMENTS = (f"{PACKAGE}=={VERSION}", "Django==5.2.19", "djangorestframework==3.18.3", "gunicorn==23.0.0",
                "psycopg2-binary==2.9.13")
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "peer_helpdesk"
PEER_DATASET_VERSION = 1  # bench/peer_helpdesk.py DATASET_VERSION
PEER_OPEN_STATUSES = "1,2"  # Open, Reopened
# Our measurement -> what the peer does for it (the table's last column).
COMPARED = {
    "queue_page": "open-ticket list, first page (helpdesk: page + its datatables request)",
    "queue_api": "REST list of open tickets, first page",
    "ticket_page": "ticket page, 50 events / 50 follow-ups",
    "dashboard": "dashboard",
    "sla_sweep": "SLA sweep as it runs each minute / escalate_tickets, same tickets due",
}


def log(message: str) -> None:
    print(f"[peer] {message}", file=sys.stderr, flush=True)


# Arguments -----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets in the peer's dataset")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per latency measurement")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound of one latency measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests before each latency measurement")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--due", type=int, default=None,
                        help="tickets due for escalation (default: 2%% of the open ones, our sweep's share)")
    parser.add_argument("--escalation-runs", type=int, default=3, help="timed escalate_tickets runs")
    parser.add_argument("--busy-share", type=float, default=0.25,
                        help="other processes' CPU share before a timed measurement above which it is marked busy")
    parser.add_argument("--only", default="", help=f"comma-separated measurements ({', '.join(COMPARED)})")
    parser.add_argument("--clean", action="store_true",
                        help="only remove the peer's virtualenv and drop its peer_helpdesk_* databases")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the peer's dataset even if one is there")
    args = parser.parse_args(argv)
    if args.tickets < 100:
        parser.error("--tickets must be at least 100")
    args.selected = selected(args.only)
    if args.selected is None:
        parser.error(f"--only: choose from {', '.join(COMPARED)}")
    return args


def selected(only: str | list[str]) -> list[str] | None:
    """The peer's measurements among `only` (names or prefixes, as the suite's --only); all when empty,
    None when a name matches none of them."""
    wanted = [w.strip() for w in only.split(",")] if isinstance(only, str) else list(only)
    wanted = [w for w in wanted if w]
    if not wanted:
        return list(COMPARED)
    chosen = [m for m in COMPARED if any(m == w or m.startswith(w) for w in wanted)]
    return chosen or None


def database_name(tickets: int) -> str:
    return f"{DATABASE_PREFIX}_{tickets}"


# The table ------------------------------------------------------------------------------------------------

def ratio(desk: float | None, peer: float | None) -> float | None:
    """How many times slower the peer is (its p50 over ours); None when either is missing."""
    if desk is None or peer is None or desk <= 0:
        return None
    return peer / desk


def format_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}×"
    return f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _load(r: dict) -> str:
    if "load_before" not in r:
        return ""
    return f"{r['load_before']:.1f}→{r['load_after']:.1f}" + (" BUSY" if r.get("busy") else "")


def comparison_rows(desk: dict, peer: dict) -> list[dict]:
    """One row per compared measurement either side has: both sides' p50/p95, the ratio, the loads."""
    rows = []
    for name, what in COMPARED.items():
        ours, theirs = desk.get(name), peer.get(name)
        if ours is None and theirs is None:
            continue
        ours, theirs = ours or {}, theirs or {}
        ok_ours, ok_theirs = "error" not in ours, "error" not in theirs
        rows.append({
            "measurement": name, "what": what,
            "desk_p50_ms": ours.get("p50_ms") if ok_ours else None,
            "desk_p95_ms": ours.get("p95_ms") if ok_ours else None,
            "peer_p50_ms": theirs.get("p50_ms") if ok_theirs else None,
            "peer_p95_ms": theirs.get("p95_ms") if ok_theirs else None,
            "ratio": ratio(ours.get("p50_ms"), theirs.get("p50_ms")) if ok_ours and ok_theirs else None,
            "desk_load": _load(ours), "peer_load": _load(theirs),
            "busy": bool(ours.get("busy") or theirs.get("busy")),
            "error": theirs.get("error") or ours.get("error"),
        })
    return rows


def comparison_table(rows: list[dict], *, tickets: int, desk_open: int | None, peer: dict, busy_share: float) -> str:
    header = ("measurement", "desk p50", "desk p95", "helpdesk p50", "helpdesk p95", "helpdesk/desk", "desk load",
              "helpdesk load", "what")
    cells = []
    for r in rows:
        cells.append((r["measurement"], _ms(r["desk_p50_ms"]), _ms(r["desk_p95_ms"]), _ms(r["peer_p50_ms"]),
                      _ms(r["peer_p95_ms"]), format_ratio(r["ratio"]), r["desk_load"], r["peer_load"],
                      ("ERROR " + r["error"][:80]) if r["error"] else r["what"]))
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    package, theirs = peer.get("package", PACKAGE), f"{peer.get('open_tickets', 0):,} open in {peer.get('database')}"
    if desk_open is None:  # bench/peer.py alone
        title = f"{package} alone at {tickets:,} tickets ({theirs}); gunicorn -w {peer.get('workers')}; ms"
    else:
        title = (f"The desk beside {package} at {tickets:,} tickets (desk {desk_open:,} open, helpdesk {theirs}); "
                 f"gunicorn -w {peer.get('workers')} each; ms")
    lines = [title]
    for row in [header, tuple("-" * w for w in widths), *cells]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    busy = [r["measurement"] for r in rows if r["busy"]]
    lines.append(f"helpdesk/desk: the peer's p50 over ours (10× = ten times slower); BUSY: other processes used more "
                 f"than {busy_share:.0%} of the machine just before a figure" + (f" ({', '.join(busy)})" if busy
                                                                                  else " (none)"))
    return "\n".join(lines)


def summary(rows: list[dict], peer: dict) -> dict:
    """The peer's part of the suite's JSON line."""
    return {**{k: v for k, v in peer.items() if k != "measurements"}, "measurements": peer.get("measurements", {}),
            "ratios": {r["measurement"]: None if r["ratio"] is None else round(r["ratio"], 2) for r in rows}}


# The virtualenv and the project -----------------------------------------------------------------------------

def home() -> Path:
    """Outside the repository, one folder per pinned version."""
    return Path(tempfile.gettempdir()) / f"aftersales-peer-{PACKAGE}-{VERSION}"


def python_of(folder: Path) -> Path:
    return folder / "venv" / "bin" / "python"


def ensure_venv(folder: Path) -> Path:
    """The peer's virtualenv, made and installed unless a finished one (its `ready` file names the same
    requirements) is there."""
    ready = folder / "ready"
    wanted = "\n".join(REQUIREMENTS)
    if ready.exists() and ready.read_text() == wanted and python_of(folder).exists():
        return python_of(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"making a virtualenv in {folder} and installing {', '.join(REQUIREMENTS)} from PyPI …")
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    result = subprocess.run([str(python_of(folder)), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                             *REQUIREMENTS], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    ready.write_text(wanted)
    return python_of(folder)


SETTINGS = '''"""Generated by bench/peer.py: django-helpdesk's documented minimal setup, production-like (DEBUG off)."""
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites",  # required by django-helpdesk (links in e-mails)
    "django.contrib.humanize",  # required by django-helpdesk (elapsed times)
    "rest_framework",  # its REST API (/api/)
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peerdesk.urls"
WSGI_APPLICATION = "peerdesk.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.debug", "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth", "django.contrib.messages.context_processors.messages",
    ]},
}]
_db = urlsplit(os.environ["PEER_DATABASE_URL"])
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": _db.path.lstrip("/"), "USER": unquote(_db.username or ""),
    "PASSWORD": unquote(_db.password or ""), "HOST": _db.hostname or "", "PORT": str(_db.port or ""),
    "CONN_MAX_AGE": 60,  # as the desk's bench runs
}}
SITE_ID = 1
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"
HELPDESK_TEAMS_MODE_ENABLED = False  # teams need pinax-teams; the desk has none either
HELPDESK_API_ENABLED = True  # its default in 2.x (HELPDESK_ACTIVATE_API_ENDPOINT in older releases)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # messages built, nothing sent
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_ROOT = BASE_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
'''

URLS = '''from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
'''

WSGI = '''import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
application = get_wsgi_application()
'''

MANAGE = '''import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''


def write_project(folder: Path) -> Path:
    """The Django project around django-helpdesk, rewritten each run (cheap; always this file's version)."""
    project = folder / "project"
    package = project / "peerdesk"
    package.mkdir(parents=True, exist_ok=True)
    for path, text in ((package / "__init__.py", ""), (package / "settings.py", SETTINGS), (package / "urls.py", URLS),
                       (package / "wsgi.py", WSGI), (project / "manage.py", MANAGE)):
        path.write_text(text)
    return project


# The database ----------------------------------------------------------------------------------------------

def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else DEFAULT_SERVER


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{name}", query=""))


def _connect(name: str):
    import psycopg2

    conn = psycopg2.connect(urlunsplit(urlsplit(database_url(name))._replace(scheme="postgresql")))
    conn.autocommit = True
    return conn


def _finished_dataset(name: str, tickets: int) -> dict | None:
    import psycopg2

    admin = _connect("postgres")
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                return None
    finally:
        admin.close()
    try:
        conn = _connect(name)
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_peer_dataset') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return None
            cursor.execute("SELECT details FROM bench_peer_dataset WHERE n_tickets = %s AND version = %s "
                           "AND package = %s AND finished_at IS NOT NULL", [tickets, PEER_DATASET_VERSION, VERSION])
            row = cursor.fetchone()
            return None if row is None else row[0]
    finally:
        conn.close()


def drop_databases(names: list[str] | None = None) -> list[str]:
    """Drop the named peer databases, or every peer_helpdesk_* database on the server."""
    admin = _connect("postgres")
    try:
        with admin.cursor() as cursor:
            if names is None:
                cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{DATABASE_PREFIX}\\_%"])
                names = [row[0] for row in cursor.fetchall()]
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
    return names


class Peer:
    """The installed peer: its python, its project, its database, and how to run things in them."""

    def __init__(self, folder: Path, tickets: int):
        self.folder = folder
        self.python = ensure_venv(folder)
        self.project = write_project(folder)
        self.database = database_name(tickets)
        self.url = database_url(self.database)
        self.tickets = tickets
        self.secret_key = secrets.token_urlsafe(50)

    def env(self) -> dict:
        # A clean environment: nothing of the desk's settings (DATABASE_URL, DJANGO_SETTINGS_MODULE …) leaks in.
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(self.folder),
                "DJANGO_SETTINGS_MODULE": "peerdesk.settings", "PEER_DATABASE_URL": self.url,
                "PEER_SECRET_KEY": self.secret_key, "PYTHONPATH": str(self.project)}

    def run(self, *args: str, timeout: float = 3600) -> str:
        result = subprocess.run([str(self.python), *args], cwd=self.project, env=self.env(), capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def helper(self, *args: str) -> dict:
        """bench/peer_helpdesk.py in the peer's python; its last output line is JSON."""
        return json.loads(self.run(str(ROOT / "bench" / "peer_helpdesk.py"), *args).strip().splitlines()[-1])

    def ensure_dataset(self, *, rebuild: bool = False) -> dict:
        details = None if rebuild else _finished_dataset(self.database, self.tickets)
        if details is not None:
            log(f"{self.database}: dataset of {self.tickets:,} tickets already there")
            return details
        log(f"{self.database}: creating, migrating and seeding {self.tickets:,} tickets …")
        admin = _connect("postgres")
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            admin.close()
        started = time.perf_counter()
        self.run("manage.py", "migrate", "--noinput", "-v", "0")
        details = self.helper("seed", "--tickets", str(self.tickets))
        log(f"{self.database}: built in {time.perf_counter() - started:.0f} s")
        return details


class PeerServer:
    """gunicorn of the peer's virtualenv serving the generated project (bench/processes.py)."""

    def __init__(self, peer: Peer, workers: int):
        from bench import processes

        self.service, self.port = processes.gunicorn(
            "the peer's gunicorn", peer.python.parent / "gunicorn", "peerdesk.wsgi:application", workers=workers,
            timeout=300, cwd=peer.project, env=peer.env(), log_dir=peer.folder, ready_path="/login/",
            extra=("--chdir", str(peer.project)))

    def tail(self) -> str:
        return self.service.tail()

    def stop(self) -> None:
        self.service.stop()


# Measuring ---------------------------------------------------------------------------------------------------

def page_latency(client: http_load.Client, paths: list[str], *, requests: int, max_seconds: float,
                 warmup: int) -> dict:
    """http_load.latency for a page that needs several requests before a person sees it: each sample is
    all of `paths`, one after the other, on the same connection (as the browser's script fetches them)."""
    def load_all() -> list[float]:
        parts = []
        for path in paths:
            begin = time.perf_counter()
            status, body = client.request("GET", path)
            parts.append((time.perf_counter() - begin) * 1000)
            if status != 200:
                raise http_load.HTTPError(f"GET {path} answered {status}: {body[:300]!r}")
        return parts

    warm_until = time.perf_counter() + max_seconds / 4
    for i in range(warmup):
        if i and time.perf_counter() > warm_until:
            break
        load_all()
    samples: list[list[float]] = []
    started = time.perf_counter()
    while len(samples) < requests and time.perf_counter() - started < max_seconds:
        samples.append(load_all())
    totals = [sum(parts) for parts in samples]
    return {
        "requests": len(samples), "p50_ms": round(statistics.median(totals), 2),
        "p95_ms": round(http_load.percentile(totals, 0.95), 2), "seconds": round(time.perf_counter() - started, 2),
        "parts_p50_ms": [round(statistics.median(column), 2) for column in zip(*samples, strict=True)],
        "paths": paths,
    }


def timed(results: dict, name: str, action: Callable[[], dict], busy_share: float) -> None:
    """As the suite's attempt(): the load before and after, BUSY when something else ran just before; a
    failure is recorded and the others go on."""
    from bench.suite import machine_load

    try:
        before = machine_load()
        figures = action()
        figures.update(load_before=before["load"], load_after=round(os.getloadavg()[0], 2),
                       others_cpu=before["others_cpu"], busy=before["others_cpu"] > busy_share)
        results[name] = figures
    except Exception as error:  # a broken measurement must not hide the others
        log(f"{name} failed: {error!r}")
        results[name] = {"error": repr(error)[:300]}


def measure(args, *, due: int | None = None) -> dict:
    """Install (or reuse) the peer, its dataset, and take its figures. `due`: tickets to make due for
    escalation (our sweep's count), else --due, else 2% of the open tickets."""
    started = time.perf_counter()
    peer = Peer(home(), args.tickets)
    details = peer.ensure_dataset(rebuild=getattr(args, "rebuild", False))
    results: dict[str, dict] = {}
    wanted = args.selected
    detail = int(details["detail_ticket_id"])
    http_names = [name for name in ("queue_page", "queue_api", "ticket_page", "dashboard") if name in wanted]
    if http_names:
        server = PeerServer(peer, args.workers)
        try:
            session = http_load.login(server.port, details["supervisor_username"], details["password"],
                                      path="/login/")
            paths = {"queue_api": f"/api/tickets/?status={PEER_OPEN_STATUSES}", "ticket_page": f"/tickets/{detail}/",
                     "dashboard": "/dashboard/"}
            for name in http_names:
                if name == "queue_page":
                    timed(results, name, lambda: list_latency(session, args), args.busy_share)
                else:
                    timed(results, name, lambda name=name: {**http_load.latency(
                        session, paths[name], requests=args.requests, max_seconds=args.max_seconds,
                        warmup=args.warmup), "path": paths[name]}, args.busy_share)
        finally:
            server.stop()
    if "sla_sweep" in wanted:
        count = due if due is not None else args.due
        if count is None:
            count = max(1, round(0.02 * int(details["open_tickets"])))
        timed(results, "sla_sweep", lambda: escalation(peer, count, args.escalation_runs), args.busy_share)
    return {"package": f"{PACKAGE}=={VERSION}", "database": peer.database, "tickets": args.tickets,
            "open_tickets": details["open_tickets"], "workers": args.workers, "venv": str(peer.folder),
            "seconds": round(time.perf_counter() - started, 1), "measurements": results}


def list_latency(session: http_load.Client, args) -> dict:
    page = f"/tickets/?status={PEER_OPEN_STATUSES.replace(',', '&status=')}"
    status, body = session.request("GET", page)
    found = re.search(rb'datatables_ticket_list/([A-Za-z0-9+/=_-]+)', body)
    if status != 200 or not found:
        raise http_load.HTTPError(f"GET {page} answered {status} without its datatables URL")
    # The first page as its script asks for it (tickets_per_page 25, the list's default order).
    data = f"/datatables_ticket_list/{found.group(1).decode()}?draw=1&start=0&length=25"
    return page_latency(session, [page, data], requests=args.requests, max_seconds=args.max_seconds,
                        warmup=args.warmup)


def escalation(peer: Peer, due: int, runs: int) -> dict:
    figures = peer.helper("escalate", "--due", str(due), "--runs", str(max(1, runs)))
    runs_ms = figures["runs_ms"]
    started = time.perf_counter()
    peer.run("manage.py", "escalate_tickets")  # as cron runs it: the helper left the same tickets due
    process_ms = round((time.perf_counter() - started) * 1000, 1)
    peer.helper("due", "--due", str(due))
    return {"p50_ms": round(statistics.median(runs_ms), 1), "p95_ms": round(http_load.percentile(runs_ms, 0.95), 1),
            "runs_ms": runs_ms, "due": due, "escalated": figures["escalated"], "queries": figures["queries"],
            "manage_py_ms": process_ms, "runs": len(runs_ms)}


def clean() -> None:
    folder = home()
    shutil.rmtree(folder, ignore_errors=True)
    dropped = drop_databases()
    log(f"removed {folder}; dropped {', '.join(dropped) or 'no database'}")


def peer_table(peer: dict, busy_share: float) -> str:
    """The peer's figures alone (bench/peer.py without the suite): the table with our side empty."""
    rows = comparison_rows({}, peer["measurements"])
    return comparison_table(rows, tickets=peer["tickets"], desk_open=None, peer=peer, busy_share=busy_share)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.clean:
        clean()
        return 0
    peer = measure(args)
    print(peer_table(peer, args.busy_share))
    print(json.dumps(peer, ensure_ascii=False, default=str))
    return 1 if any("error" in r for r in peer["measurements"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
