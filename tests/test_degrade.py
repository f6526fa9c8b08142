"""Degrade, don't fail: with Redis (the cache and the broker) down, the desk still takes and shows tickets.

The Redis tests start their own redis-server on a free port (never the shared one), point this
process's cache and Celery broker at it, drive intake (browser form, API, signed webhook), the
agent queue, the ticket page, the customer link (django-ratelimit) and /healthz, stop or freeze the
server, drive them again, and start it again. The rest use a port where nothing listens.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from aftersales import cache as fail_open
from aftersales.cache import FailOpenRedisCache
from aftersales.celery import app, enqueue
from aftersales.throttling import AnonRateThrottle, UserRateThrottle
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.playbook.test_pricediff import csv_bytes, line, upload
from tickets import services
from tickets.intake import sign
from tickets.models import IntakeEvent, IntakeSource, Ticket
from tickets.portal.links import customer_link_issue
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch
from tickets.pricediff.tasks import STALLED_AFTER_SECONDS, pricediff_resume_stalled_task, pricediff_run_task
from tickets.tasks import auto_close_task, intake_process_task

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}  # as settings.CACHES


# A private redis-server: tests/redis_server.py -----------------------------------------------------


@contextmanager
def broker_at(url: str):
    """This process publishes for real to `url` (the test settings run tasks eagerly)."""
    with pytest.MonkeyPatch.context() as patch:
        drop_broker_connections()
        # In the app's own changes, removed afterwards: Django's settings show through again.
        patch.setitem(app.conf.changes, "broker_url", url)
        patch.setitem(app.conf.changes, "task_always_eager", False)
        try:
            yield
        finally:
            drop_broker_connections()


def drop_broker_connections() -> None:
    """The app keeps its connection and producer pools for the broker it first published to: forget them
    (as Celery does after a fork), else .delay would still go to the previous broker. Not closed: kombu
    keeps them per broker URL for the whole process and hands the same ones out again."""
    app._pool = None
    app.amqp._producer_pool = None


# The fail-open cache and the enqueue helper, against a port where nothing listens ------------------------


@pytest.fixture
def dead_cache():
    fail_open._down_until.clear()
    yield FailOpenRedisCache(DEAD_REDIS, {"OPTIONS": CACHE_OPTIONS})
    fail_open._down_until.clear()


def test_an_unreachable_cache_answers_as_an_empty_cache_that_stores_nothing(dead_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="aftersales.cache"):
        assert dead_cache.get("k") is None
    assert "cache unreachable" in caplog.text
    assert dead_cache.get("k", "default") == "default"
    assert dead_cache.add("k", 1) is False
    assert dead_cache.set("k", 1) is None
    assert dead_cache.get_many(["a", "b"]) == {}
    assert dead_cache.set_many({"a": 1}) == ["a"]
    assert dead_cache.get_or_set("k", lambda: 42) == 42  # computed, not stored
    assert dead_cache.has_key("k") is False
    assert dead_cache.delete("k") is False
    with pytest.raises(ValueError):  # as for a missing key: django-ratelimit then fails open
        dead_cache.incr("k")
    with pytest.raises(ValueError):
        dead_cache.decr("k")
    with pytest.raises(redis.ConnectionError):  # /healthz asks the server itself
        dead_cache.ping()


def test_after_a_failure_the_cache_leaves_redis_alone_for_a_few_seconds(dead_cache, monkeypatch):
    dead_cache.get("k")
    calls = []
    monkeypatch.setattr(dead_cache._cache, "get", lambda *args: calls.append(args))

    assert dead_cache.get("k", "d") == "d"
    assert calls == []  # not even tried

    fail_open._down_until[DEAD_REDIS] = time.monotonic() - 1  # the window is over: tried again
    dead_cache.get("k")
    assert len(calls) == 1


def test_a_task_that_cannot_be_queued_is_logged_not_raised(caplog):
    with broker_at(DEAD_REDIS), caplog.at_level(logging.WARNING, logger="aftersales.celery"):
        started = time.monotonic()
        assert enqueue(auto_close_task) is False
        elapsed = time.monotonic() - started

    assert "broker unreachable" in caplog.text and "tickets.tasks.auto_close_task" in caplog.text
    assert elapsed < 2, f"a refused broker held the caller {elapsed:.1f} s"


@pytest.mark.django_db
def test_a_running_batch_whose_job_was_never_queued_is_resumed_once_it_has_stalled(
    supervisor, django_capture_on_commit_callbacks, settings
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # a fresh one
    line("TB-S1", "SKU-S1", "199.00")
    batch, _ = pricediff.pricediff_preview(actor=supervisor, file_name="drop.csv",
                                           content=csv_bytes([("TB-S1", "SKU-S1", "179", "价保")]))
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: no job was queued
        batch = pricediff.pricediff_execute(batch=batch, actor=supervisor)
    assert batch.status == PriceDiffBatch.Status.RUNNING

    assert pricediff_resume_stalled_task() == []  # first look: progress noted
    with time_machine.travel(timezone.now() + timedelta(seconds=STALLED_AFTER_SECONDS - 30)):
        assert pricediff_resume_stalled_task() == []  # not stalled long enough
    with time_machine.travel(timezone.now() + timedelta(seconds=STALLED_AFTER_SECONDS + 30)):
        assert pricediff_resume_stalled_task() == [batch.pk]  # queued (eager here: it runs at once)

    batch.refresh_from_db()
    assert (batch.status, batch.refunded_rows) == (PriceDiffBatch.Status.DONE, 1)
    assert pricediff_resume_stalled_task() == []  # done: nothing to watch


# The desk with Redis down ----------------------------------------------------------------------------------


class Desk:
    """One of each request the desk must keep answering; counts answers and 5xx per endpoint."""

    ENDPOINTS = ("intake form", "API intake", "intake webhook", "queue", "ticket page", "customer link", "healthz")

    def __init__(self):
        self.agent = make_user("agent", username="degrade-agent")
        self.browser = Client()
        self.browser.force_login(self.agent)
        self.api = APIClient()
        self.api.force_authenticate(user=self.agent)
        self.source = IntakeSource.objects.create(name="tb-degrade", platform="taobao", secret="degrade-secret")
        self.ticket = services.ticket_create(actor=self.agent, channel="chat", description="屏幕碎了",
                                             customer=CustomerFactory(), type="exchange",
                                             category="wrong_or_missing_item")
        self.link, _ = customer_link_issue(ticket=self.ticket, actor=self.agent)
        self.rounds = 0
        self.answers: dict[str, list[int]] = defaultdict(list)
        self.slowest: dict[str, float] = defaultdict(float)

    def drive(self) -> dict[str, int]:
        """Every endpoint once; returns this round's status codes."""
        self.rounds += 1
        n = self.rounds
        item = OrderItemFactory(order=OrderFactory(external_number=f"TB-DEGRADE-{n:04d}"))
        event = {"platform": "taobao", "aftersale_id": f"TB-RF-DEGRADE-{n:04d}", "order_id": f"39100000{n:04d}",
                 "buyer_account": f"tb_degrade_{n}", "type": "return_refund", "reason": "尺码不符", "amount": "99.00"}
        body = json.dumps(event, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        requests = {
            "intake form": lambda: self.browser.post("/tickets/new/", {
                "order_number": item.order.external_number, "affected_items": [item.pk], "channel": "phone",
                "description": "双十一买的羽绒服，下单M码收到L码"}),
            "API intake": lambda: self.api.post("/api/v1/tickets/", {
                "channel": "chat", "customer": CustomerFactory().pk, "description": "屏幕碎了"}, format="json"),
            "intake webhook": lambda: APIClient().post("/api/v1/intake/", data=body, content_type="application/json",
                                                       headers={"X-Intake-Source": self.source.name,
                                                                "X-Intake-Timestamp": timestamp,
                                                                "X-Intake-Signature": sign(
                                                                    secret=self.source.secret, timestamp=timestamp,
                                                                    body=body)}),
            "queue": lambda: self.browser.get("/"),
            "ticket page": lambda: self.browser.get(f"/tickets/{self.ticket.pk}/"),
            "customer link": lambda: Client().get(self.link),
            "healthz": lambda: Client().get("/healthz"),
        }
        codes = {}
        for name, request in requests.items():
            started = time.monotonic()
            codes[name] = request().status_code
            self.slowest[name] = max(self.slowest[name], time.monotonic() - started)
            self.answers[name].append(codes[name])
        return codes

    def health(self) -> dict:
        return Client().get("/healthz").json()

    def report(self, title: str) -> str:
        lines = [title]
        for name in self.ENDPOINTS:
            codes = self.answers[name]
            lines.append(f"  {name:15} {len(codes):3} requests, {sum(c >= 500 for c in codes)} 5xx, "
                         f"slowest {self.slowest[name] * 1000:6.1f} ms, codes {sorted(set(codes))}")
        return "\n".join(lines)

    def reset(self) -> None:
        self.answers.clear()
        self.slowest.clear()


EXPECTED = {"intake form": 302, "API intake": 201, "intake webhook": 202, "queue": 200, "ticket page": 200,
            "customer link": 200}


@pytest.fixture
def desk_on_private_redis(private_redis, settings, monkeypatch):
    """This process as production runs it: cache, throttles, rate limit and broker on the private Redis,
    the cached counts switched on (the test settings count afresh on every page)."""
    fail_open._down_until.clear()
    settings.CACHES = {"default": {"BACKEND": "aftersales.cache.FailOpenRedisCache", "LOCATION": private_redis.url,
                                   "OPTIONS": CACHE_OPTIONS}}
    settings.ASSIGNMENT_LOAD_SECONDS = 10
    settings.QUEUE_COUNTS_SECONDS = 5
    monkeypatch.setattr(APIView, "throttle_classes", [AnonRateThrottle, UserRateThrottle])
    with broker_at(private_redis.url):
        yield private_redis
    fail_open._down_until.clear()


def without_health(codes: dict) -> dict:
    return {name: code for name, code in codes.items() if name != "healthz"}


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db
def test_with_redis_down_intake_queue_and_ticket_page_work_and_health_says_degraded(
    desk_on_private_redis, supervisor, django_capture_on_commit_callbacks, capsys, caplog
):
    redis_server = desk_on_private_redis
    desk = Desk()

    # Redis up: everything answers, the cache is used, health is ok.
    assert without_health(desk.drive()) == EXPECTED
    assert redis_server.client().dbsize() > 0  # queue counts, loads, throttles, rate limit: in Redis
    assert desk.health() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok", "down": []}
    up = desk.report("Redis up")
    desk.reset()

    tickets_before = Ticket.objects.count()
    # (Here a request's on-commit callbacks never run: the webhook's events all wait, pending, for a worker.)
    pending_before = IntakeEvent.objects.filter(state=IntakeEvent.State.PENDING).count()
    redis_server.stop()

    for _ in range(5):
        assert without_health(desk.drive()) == EXPECTED
    health = desk.health()
    assert (health["status"], health["down"]) == ("degraded", ["cache", "broker"])
    assert health["cache"].startswith("unreachable") and health["broker"].startswith("unreachable")
    assert desk.answers["healthz"] == [200] * 5
    # Form and API: each ticket written. Webhook: each event stored and answered with its receipt; its ticket
    # waits for the worker (its task could not be queued).
    assert Ticket.objects.count() == tickets_before + 5 * 2
    assert IntakeEvent.objects.filter(state=IntakeEvent.State.PENDING).count() == pending_before + 5
    down = desk.report("Redis down")

    # A price-difference run confirmed while the broker is down: saved and answered, its job left to
    # the stalled-batch sweep.
    line("TB-PD-1", "SKU-PD-1", "199.00")
    browser = Client()
    browser.force_login(supervisor)
    upload(browser, csv_bytes([("TB-PD-1", "SKU-PD-1", "179", "价保")]))
    batch = PriceDiffBatch.objects.get()
    with caplog.at_level(logging.WARNING, logger="aftersales.celery"):
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(reverse("tickets:pricediff_execute", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == PriceDiffBatch.Status.RUNNING
    assert "broker unreachable" in caplog.text

    # Redis back: health is ok again at once, and the stalled batch gets its job.
    redis_server.start()
    assert desk.health() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok", "down": []}
    desk.reset()
    assert without_health(desk.drive()) == EXPECTED
    assert pricediff_resume_stalled_task() == []
    # The beat's intake sweep makes the tickets of the events stored while the broker was down.
    pending = IntakeEvent.objects.filter(state=IntakeEvent.State.PENDING).count()
    tickets = Ticket.objects.count()
    assert intake_process_task() == pending >= 5
    assert not IntakeEvent.objects.filter(state=IntakeEvent.State.PENDING).exists()
    assert Ticket.objects.count() == tickets + pending
    with time_machine.travel(timezone.now() + timedelta(seconds=STALLED_AFTER_SECONDS + 30)):
        assert pricediff_resume_stalled_task() == [batch.pk]
    queued = [json.loads(m) for m in redis_server.client().lrange("celery", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued] == [
        (pricediff_run_task.name, f"({batch.pk},)")
    ]

    with capsys.disabled():
        print(f"\n{up}\n{down}\n{desk.report('Redis back')}")


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db
def test_a_frozen_redis_costs_a_request_at_most_a_timeout_and_health_says_degraded(desk_on_private_redis, capsys):
    redis_server = desk_on_private_redis
    desk = Desk()
    assert without_health(desk.drive()) == EXPECTED
    desk.reset()

    redis_server.freeze()
    try:
        for _ in range(3):
            assert without_health(desk.drive()) == EXPECTED
        health = desk.health()
    finally:
        redis_server.thaw()

    assert (health["status"], health["down"]) == ("degraded", ["cache", "broker"])
    assert health["cache"] == "unreachable: TimeoutError"
    # One cache timeout (0.5 s) then the cache is left alone; health waits for both probes (0.5 s + 1 s).
    slow = {name: seconds for name, seconds in desk.slowest.items() if seconds > (3 if name == "healthz" else 1.5)}
    assert not slow, f"requests held by the frozen server: {slow}"
    assert desk.health()["status"] == "ok"
    with capsys.disabled():
        print("\n" + desk.report("Redis frozen (SIGSTOP)"))
