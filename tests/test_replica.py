"""Reports, exports and the dashboard's charts on a real PostgreSQL streaming replica (aftersales/db_router.py).

Once for this module, after pytest-django has made the test database on the primary, `pg_basebackup -R -X stream`
copies the cluster into a temporary folder and a second cluster (this machine's PostgreSQL binaries) starts
from it on a free loopback port as a hot standby streaming from the primary. The `replica` alias then
points at it (TEST MIRROR: Django neither creates nor flushes it; the standby is read-only anyway). The
tests commit on the primary (transaction=True: an uncommitted write never reaches a replica), wait until
the standby has replayed it, and pause replay to make the lag visible.

Needs the primary on loopback to accept replication connections from its user (pg_hba.conf:
`host replication postgres 127.0.0.1/32 trust`; .ci/run adds it), and, when the tests run as root,
`runuser` to run the second cluster as the `postgres` user (PostgreSQL refuses to run as root).
"""

import copy
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales import db_router
from tests.conftest import REQUIRE_SERVICES
from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.models import Ticket
from tickets.reports.periods import Period
from tickets.reports.queries import report_run

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", "replica"]),
]

# A hot standby refuses to start with less of these than its primary has.
MATCHED_SETTINGS = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                    "max_locks_per_transaction")
REPLAY_WAIT_SECONDS = 20


def _unavailable(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"streaming replica: {reason}")
    pytest.skip(f"streaming replica: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Standby:
    """The second cluster: started, stopped, asked where its replay is."""

    def __init__(self, directory: Path, port: int, as_owner: list[str], pg_ctl: str):
        self.directory, self.port, self.as_owner, self.pg_ctl = directory, port, as_owner, pg_ctl
        self.data = directory / "data"

    def _ctl(self, *args: str) -> None:
        result = subprocess.run([*self.as_owner, self.pg_ctl, "-D", str(self.data), *args], capture_output=True,
                                text=True, timeout=60)
        if result.returncode != 0:
            log = (self.directory / "log").read_text() if (self.directory / "log").exists() else ""
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {result.stdout}{result.stderr}\n{log[-2000:]}")

    def start(self) -> None:
        self._ctl("-l", str(self.directory / "log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup, django_db_blocker):
    """A hot standby of the primary, with the test database in it, named `replica` for this module's tests
    only (module scope: set up before pytest-django checks a test's databases; gone before other modules)."""
    primary = connections["default"].settings_dict
    if connections["default"].vendor != "postgresql":
        _unavailable("needs PostgreSQL")
    if primary["HOST"] not in ("127.0.0.1", "localhost", "::1"):
        _unavailable(f"the primary must be on loopback, not {primary['HOST']!r}")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    pg_ctl = f"/usr/lib/postgresql/{versions[-1]}/bin/pg_ctl" if versions else ""
    basebackup = f"/usr/lib/postgresql/{versions[-1]}/bin/pg_basebackup" if versions else ""
    if not (os.path.exists(pg_ctl) and os.path.exists(basebackup)):
        _unavailable("no /usr/lib/postgresql/<version>/bin/pg_ctl and pg_basebackup")
    # PostgreSQL refuses to run as root: the cluster runs as `postgres`, which owns its folder.
    running_as_root = os.geteuid() == 0
    as_owner = ["runuser", "-u", "postgres", "--"] if running_as_root else []
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        matched = {}
        for name in MATCHED_SETTINGS:
            cursor.execute(f"SHOW {name}")
            matched[name] = cursor.fetchone()[0]

    directory = Path(tempfile.mkdtemp(prefix="aftersales-replica-"))
    if running_as_root:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    started = time.monotonic()
    # Taken now, after the test database exists on the primary: the standby starts with it.
    copied = subprocess.run(
        [*as_owner, basebackup, "-D", str(directory / "data"), "-R", "-X", "stream", "-c", "fast",
         "-h", primary["HOST"], "-p", str(primary["PORT"] or 5432), "-U", primary["USER"]],
        capture_output=True, text=True, timeout=180,
    )
    if copied.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        if "no pg_hba.conf entry for replication" in copied.stderr:
            _unavailable(f"the primary refuses replication connections; add `host replication {primary['USER']} "
                         f"127.0.0.1/32 trust` to its pg_hba.conf and reload ({copied.stderr.strip()})")
        _unavailable(f"pg_basebackup failed: {copied.stderr.strip()}")

    standby = Standby(directory, _free_port(), as_owner, pg_ctl)
    # Debian keeps postgresql.conf and pg_hba.conf in /etc: the copy has neither, so it gets its own.
    conf = [f"port = {standby.port}", "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{directory}'", "hot_standby = on", "shared_buffers = 32MB",
            "fsync = off", *(f"{name} = {value}" for name, value in matched.items())]
    (standby.data / "postgresql.conf").write_text("\n".join(conf) + "\n")
    (standby.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    if running_as_root:
        for name in ("postgresql.conf", "pg_hba.conf"):
            os.chown(standby.data / name, owner.pw_uid, owner.pw_gid)
    try:
        standby.start()
    except RuntimeError as error:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(str(error))
    logging.getLogger(__name__).warning("streaming replica up in %.1f s", time.monotonic() - started)

    # What settings.py makes of REPLICA_DATABASE_URL, for the test database: the primary's settings with the
    # standby's address, a mirror of default for the test machinery.
    replica = copy.deepcopy(primary)
    replica.update(HOST="127.0.0.1", PORT=str(standby.port), TEST={**replica.get("TEST", {}), "MIRROR": "default"})
    replica["OPTIONS"] = {**replica.get("OPTIONS", {}), "connect_timeout": 3}
    settings.DATABASES[db_router.REPLICA] = replica
    connections.settings[db_router.REPLICA] = replica
    try:
        yield standby
    finally:
        connections[db_router.REPLICA].close()
        del connections[db_router.REPLICA]
        settings.DATABASES.pop(db_router.REPLICA, None)
        connections.settings.pop(db_router.REPLICA, None)
        try:
            subprocess.run([*as_owner, pg_ctl, "-D", str(standby.data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def replica(streaming_replica, monkeypatch):
    monkeypatch.setattr(db_router, "_replica_down_until", 0.0)  # an earlier test's outage is forgotten
    return streaming_replica


def _wait_for_replay() -> None:
    """Until the standby has replayed everything the primary has committed so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    with connections[db_router.REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay up to {target} in {REPLAY_WAIT_SECONDS} s")
            time.sleep(0.05)


def _replica(sql: str) -> None:
    with connections[db_router.REPLICA].cursor() as cursor:
        cursor.execute(sql)


def _intake(agent, description: str) -> Ticket:
    return services.ticket_create(actor=agent, channel="phone", description=description, customer=CustomerFactory(),
                                  type="repair", category="product_quality")


def _volume_total() -> int:
    report = report_run("volume", Period.last_days(7))
    return next(row[3] for row in report.rows if row[1] == "total")


def test_reports_read_the_replica_and_lag_behind_the_primary_while_replay_is_paused(replica):
    # Given two tickets taken on the primary, replayed on the standby
    agent = make_user("agent", username="replica_agent")
    first = _intake(agent, "洗衣机漏水")
    _intake(agent, "电饭煲不加热")
    _wait_for_replay()
    _replica("SELECT pg_is_in_recovery()")  # a hot standby indeed (read-only, streaming)

    # When a report runs, its queries go to the replica and none to the primary
    with CaptureQueriesContext(connections["default"]) as on_primary, \
            CaptureQueriesContext(connections[db_router.REPLICA]) as on_replica:
        assert _volume_total() == 2
    assert [q for q in on_replica.captured_queries if "tickets_ticket" in q["sql"]]
    assert on_primary.captured_queries == []

    # When replay is paused and a third ticket is taken, the report (replica) does not see it yet while
    # the primary, which the ticket page reads, does
    _replica("SELECT pg_wal_replay_pause()")
    try:
        third = _intake(agent, "冰箱不制冷")
        assert Ticket.objects.count() == 3
        client = _logged_in(make_user("supervisor", username="replica_sup"))
        assert client.get(reverse("tickets:detail", args=[third.pk])).status_code == 200
        assert _volume_total() == 2
    finally:
        _replica("SELECT pg_wal_replay_resume()")
    # Then, replayed, the report counts it
    _wait_for_replay()
    assert _volume_total() == 3
    assert first.pk != third.pk


def _logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_report_pages_exports_and_dashboard_charts_read_the_replica(replica):
    agent = make_user("agent", username="replica_agent2")
    supervisor = make_user("supervisor", username="replica_sup2")
    _intake(agent, "洗衣机漏水")
    _wait_for_replay()
    client = _logged_in(supervisor)
    cache.clear()  # the dashboard's charts are cached: computed afresh here

    pages = {
        "reports page": reverse("tickets:reports"),
        "report CSV": reverse("tickets:report_csv", args=["volume"]),
        "queue export CSV": reverse("tickets:export_csv") + "?queue=open",
        "dashboard charts": reverse("tickets:dashboard"),
    }
    for name, url in pages.items():
        with CaptureQueriesContext(connections[db_router.REPLICA]) as on_replica:
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, name
        assert [q for q in on_replica.captured_queries if "tickets_ticket" in q["sql"]], name
        if name == "queue export CSV":
            assert body.count(b"\n") == 2  # the header and the one ticket, read from the replica


def test_a_write_request_or_a_transaction_reads_the_primary(replica):
    """What a POST wrote, or a transaction has not committed, is not on the replica: neither reads it there."""
    seen = {}

    def view(request):
        seen[request.method] = db_router.reads_from()
        return None

    middleware = db_router.PrimaryAfterWriteMiddleware(view)
    for method in ("get", "post", "put", "patch", "delete", "head"):
        middleware(getattr(RequestFactory(), method)("/"))
    assert seen == {"GET": "replica", "POST": "default", "PUT": "default", "PATCH": "default",
                    "DELETE": "default", "HEAD": "replica"}
    assert db_router.reads_from() == "replica"  # the flag ends with its request
    with transaction.atomic():
        assert db_router.reads_from() == "default"
        with db_router.replica_reads():
            with CaptureQueriesContext(connections[db_router.REPLICA]) as on_replica:
                Ticket.objects.count()
    assert on_replica.captured_queries == []


def test_writes_and_migrations_go_to_the_primary_and_objects_of_both_relate(replica):
    router = db_router.ReplicaRouter()
    assert router.db_for_write(Ticket) == "default"
    with db_router.replica_reads():
        assert router.db_for_write(Ticket) == "default"
        assert router.db_for_read(Ticket) == "replica"
    assert router.db_for_read(Ticket) is None  # outside an opt-in: Django's default, the primary
    assert router.allow_migrate("default", "tickets") and not router.allow_migrate("replica", "tickets")
    agent = make_user("agent", username="replica_agent3")
    _intake(agent, "洗衣机漏水")
    _wait_for_replay()
    on_replica = Ticket.objects.using("replica").get()
    assert on_replica._state.db == "replica"
    assert router.allow_relation(on_replica, agent) is True


def test_reports_fall_back_to_the_primary_with_a_warning_when_the_replica_is_down(replica, caplog):
    agent = make_user("agent", username="replica_agent4")
    _intake(agent, "洗衣机漏水")
    _wait_for_replay()
    assert _volume_total() == 1
    replica.stop()
    try:
        client = _logged_in(make_user("supervisor", username="replica_sup4"))
        with caplog.at_level(logging.WARNING, logger="aftersales.db_router"), \
                CaptureQueriesContext(connections["default"]) as on_primary:
            response = client.get(reverse("tickets:report_csv", args=["volume"]))
        assert response.status_code == 200
        assert [q for q in on_primary.captured_queries if "tickets_ticket" in q["sql"]]
        assert "replica database unreachable" in caplog.text
        # Then for a while the replica is left alone: no connection attempt, no warning, the primary answers
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="aftersales.db_router"):
            started = time.monotonic()
            assert _volume_total() == 1
        assert caplog.text == "" and time.monotonic() - started < 2
    finally:
        replica.start()
