"""The SLA sweep through a real Celery worker on a real (private) Redis broker and PostgreSQL.

Each test starts its own redis-server on a free port and `celery -A aftersales worker` subprocesses
that use the test database pytest-django created, so what the worker commits the test can read
(hence transactional tests). Covered: the same sweep sent twice notifies once; a worker killed
with SIGKILL in the middle of a sweep loses nothing and duplicates nothing; a broker outage stops
neither intake nor updates, and the reminders arrive once the broker is back.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.celery import app
from customers.models import Customer
from tests.factories import CustomerFactory, make_user
from tests.redis_server import wait_for
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Message, Notification, Priority, Status, Ticket, TicketEvent
from tickets.sla.models import SLACheck, SLAPolicy
from tickets.tasks import sla_sweep_task

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(120),
]

BASE_DIR = Path(django_settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")
PAST = timedelta(hours=49)  # first response (48 h) breached; resolution (7 days) not yet at 50 %
STOP_TIMEOUT = 10


# Processes --------------------------------------------------------------------------------------------


def stop(process: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    """SIGTERM (or `sig`), then SIGKILL after a timeout; always reaps the process."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def worker_database_url() -> str:
    """The URL of the test database pytest-django created (the worker must use the same one)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"




class Worker:
    """`celery -A aftersales worker --pool=solo --concurrency=1` as a subprocess, logging to a file."""

    count = 0

    def __init__(self, broker_url: str, log_dir: Path, **extra_env: str):
        Worker.count += 1
        self.name = f"sla-test-{os.getpid()}-{Worker.count}@%h"
        self.log = log_dir / f"worker-{Worker.count}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "aftersales.settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": broker_url,
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "localhost",
            "AFTERSALES_VAR_DIR": str(log_dir / "var"),
            "CONN_MAX_AGE": "0",
            **extra_env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(CELERY), "-A", "aftersales", "worker", "--pool=solo", "--concurrency=1", "-n", self.name,
                    "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self.process.poll() is not None or " ready." in self.text(), timeout=45, what="worker ready")
        assert self.process.poll() is None, f"worker exited early:\n{self.text()[-3000:]}"
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_succeeded(self, *task_ids: str, timeout: float = 60) -> None:
        def done():
            assert self.process.poll() is None, f"worker died:\n{self.text()[-3000:]}"
            text = self.text()
            failed = [t for t in task_ids if re.search(rf"{t}\] (raised|retry)", text)]
            assert not failed, f"task failed:\n{text[-3000:]}"
            return all(f"{t}] succeeded" in text for t in task_ids)

        wait_for(done, timeout=timeout, interval=0.2, what=f"tasks {task_ids}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def running_worker(broker_url: str, log_dir: Path, **extra_env: str):
    worker = Worker(broker_url, log_dir, **extra_env)
    try:
        yield worker.start()
    finally:
        worker.stop()


@pytest.fixture
def celery_on(private_redis):
    """This process publishes for real, to the private broker (the test settings run tasks eagerly)."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.broker_url = private_redis.url
    app.conf.task_always_eager = False
    try:
        yield private_redis
    finally:
        app.conf.update(saved)


def send_sweeps(count: int = 1) -> list[str]:
    """Publish `count` sweep tasks on a fresh connection to the configured (private) broker."""
    with app.connection_for_write() as conn:
        return [sla_sweep_task.apply_async(connection=conn, retry=True).id for _ in range(count)]


# Data ----------------------------------------------------------------------------------------------------


@pytest.fixture
def people(settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    return {
        "agent": make_user("agent", username="worker-agent"),
        "sup1": make_user("supervisor", username="worker-sup1"),
        "sup2": make_user("supervisor", username="worker-sup2"),
    }


def overdue_ticket(agent, **fields) -> Ticket:
    """A ticket taken in 49 hours ago (through the service, so its clocks started then)."""
    with time_machine.travel(timezone.now() - PAST, tick=False):
        ticket = services.ticket_create(
            actor=agent,
            channel="chat",
            description="快递显示签收但没收到货",
            customer=CustomerFactory(),
            type="reship",
            category="logistics",
            **fields,
        )
        return ticket_take(ticket=ticket, actor=agent)


def expected_notices(ticket_ids, people) -> list[tuple[int, str, int, str]]:
    """Per ticket: the 50 % and 80 % warnings to the agent, the breach to the agent and every supervisor."""
    rows = []
    for ticket_id in ticket_ids:
        rows += [(ticket_id, "sla_warning", 50, "worker-agent"), (ticket_id, "sla_warning", 80, "worker-agent")]
        rows += [(ticket_id, "sla_breach", 100, name) for name in ("worker-agent", "worker-sup1", "worker-sup2")]
    return sorted(rows)


def stored_notices(ticket_ids) -> list[tuple[int, str, int, str]]:
    return sorted(
        (n.ticket_id, n.kind, n.data["percent"], n.recipient.username)
        for n in Notification.objects.filter(ticket_id__in=ticket_ids).select_related("recipient")
    )


# (a) the same sweep twice ------------------------------------------------------------------------------------


def test_a_sweep_sent_twice_at_once_notifies_once(people, celery_on, tmp_path):
    tickets = [overdue_ticket(people["agent"]) for _ in range(3)]
    ids = [t.pk for t in tickets]

    with running_worker(celery_on.url, tmp_path) as worker:
        task_ids = send_sweeps(2)
        worker.wait_succeeded(*task_ids)

    assert stored_notices(ids) == expected_notices(ids, people)
    assert TicketEvent.objects.filter(ticket_id__in=ids, action="sla_breached").count() == len(ids)
    assert set(Ticket.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)) == {1}


# (b) a worker killed in the middle of a sweep ---------------------------------------------------------------


def bulk_overdue_tickets(count: int, assignee) -> list[int]:
    """`count` open tickets taken in 49 hours ago, written with bulk operations (no per-ticket services)."""
    policy = SLAPolicy.objects.get(
        is_active=True, big_promo_only=False, priority="", ticket_type="", channel="", customer_tier=""
    )
    created = timezone.now() - PAST
    with time_machine.travel(created, tick=False):
        customers = Customer.objects.bulk_create(
            Customer(name=f"批量顾客{i}", phone=f"139{i:08d}", platform="taobao", platform_account=f"bulk_{i}")
            for i in range(50)
        )
        tickets = Ticket.objects.bulk_create(
            (
                Ticket(
                    number=f"BK{i:08d}",
                    channel="chat",
                    customer=customers[i % len(customers)],
                    description="批量工单",
                    priority=Priority.P3,
                    status=Status.NEW,
                    assignee=assignee,
                    sla_policy=policy,
                    first_response_due_at=created + timedelta(hours=48),
                    resolution_started_at=created,
                    resolution_due_at=created + timedelta(days=7),
                )
                for i in range(count)
            ),
            batch_size=1000,
        )
        SLACheck.objects.bulk_create(SLACheck(ticket=t, at=created + timedelta(hours=24)) for t in tickets)
    return [t.pk for t in tickets]


def idle_database() -> bool:
    """No other session of the test database is inside a transaction (a killed worker's is rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state NOT IN ('idle')"
        )
        return cursor.fetchone()[0] == 0


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(people, celery_on, tmp_path):
    total = 2000
    ids = bulk_overdue_tickets(total, people["agent"])
    breaches = Notification.objects.filter(ticket_id__in=ids, kind=Notification.Kind.SLA_BREACH)

    # A sweep in small batches; SIGKILL as soon as its first batch is committed.
    first = Worker(celery_on.url, tmp_path, SLA_SWEEP_BATCH_SIZE="200")
    try:
        first.start()
        send_sweeps(1)
        wait_for(breaches.exists, timeout=60, interval=0.02, what="the first committed batch")
        first.kill()
    finally:
        first.stop()
    done_before_restart = breaches.values("ticket_id").distinct().count()
    assert 0 < done_before_restart < total, "the kill must land in the middle of the sweep"
    wait_for(idle_database, timeout=15, what="the killed worker's transaction to roll back")

    with running_worker(celery_on.url, tmp_path) as worker:
        worker.wait_succeeded(*send_sweeps(1), timeout=75)

    # Every ticket: its breach exactly once to each of the agent and the two supervisors, one event.
    per_ticket = breaches.values("ticket_id").annotate(n=Count("id")).values_list("n", flat=True)
    assert len(per_ticket) == total
    assert set(per_ticket) == {3}
    assert not breaches.values("ticket_id", "recipient_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Notification.objects.filter(ticket_id__in=ids).count() == 5 * total
    assert TicketEvent.objects.filter(ticket_id__in=ids, action="sla_breached").count() == total
    assert TicketEvent.objects.filter(ticket_id__in=ids, action="sla_warning").count() == 2 * total
    assert set(Ticket.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)) == {1}


# (c) broker outage -------------------------------------------------------------------------------------------


def test_a_broker_outage_delays_reminders_but_loses_none(people, celery_on, tmp_path, settings):
    agent = people["agent"]
    # In production Redis is the cache too: point this process's cache at the private server as well.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": celery_on.url}
    }
    with running_worker(celery_on.url, tmp_path) as worker:
        celery_on.stop()

        # Intake and updates go on without the broker,
        tickets = [overdue_ticket(agent), overdue_ticket(agent)]
        services.ticket_classify(ticket=tickets[0], actor=agent, symptom="包裹丢失")
        services.message_add(ticket=tickets[1], actor=None, direction=Message.Direction.INBOUND, body="在吗？")
        client = APIClient()
        client.force_authenticate(user=agent)
        response = client.post(
            "/api/v1/tickets/",
            {"channel": "chat", "customer": CustomerFactory().pk, "description": "屏幕碎了"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert Ticket.objects.filter(pk=response.json()["id"]).exists()

        # and once the broker is back the worker's sweep delivers every reminder, once.
        celery_on.start()
        worker.wait_succeeded(*send_sweeps(1), timeout=75)

    ids = [t.pk for t in tickets]
    assert stored_notices(ids) == expected_notices(ids, people)


def test_api_intake_works_with_production_throttles_during_a_redis_outage(people, private_redis, settings, monkeypatch):
    from aftersales.throttling import AnonRateThrottle, UserRateThrottle
    from tickets.api.views import TicketViewSet

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": private_redis.url}
    }
    monkeypatch.setattr(TicketViewSet, "throttle_classes", [AnonRateThrottle, UserRateThrottle])
    client = APIClient()
    client.force_authenticate(user=people["agent"])
    payload = {"channel": "chat", "customer": CustomerFactory().pk, "description": "屏幕碎了"}
    assert client.post("/api/v1/tickets/", payload, format="json").status_code == 201  # Redis up: fine

    private_redis.stop()
    response = client.post("/api/v1/tickets/", payload, format="json")

    assert response.status_code == 201
