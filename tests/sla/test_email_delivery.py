"""Notification e-mail delivery: a burst drains within a run or two, each notice mailed exactly once,
at a set rate, one mail-server connection per batch; failures never lose a notice; two runs at once
share the work (SKIP LOCKED); a worker killed mid-run has its task run again by another worker
within the broker's visibility timeout.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.utils import timezone

from aftersales.celery import app
from tests.factories import TicketFactory, UserFactory
from tests.redis_server import PrivateRedis, wait_for
from tests.test_degrade import broker_at
from tickets.models import Notification
from tickets.sla import mail
from tickets.sla.mail import EMAIL_CLAIM_TIMEOUT, notifications_send_emails
from tickets.tasks import notifications_email_task

BURST = 30_000
OLD_PER_RUN = 100  # what one run sent before: a batch of 100 a minute


def make_notices(count: int, *, recipients: int = 20, tickets: int = 50, prefix: str = "burst") -> list[int]:
    users = [UserFactory(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com") for i in range(recipients)]
    rows = [TicketFactory() for _ in range(tickets)]
    due = timezone.now()
    notices = Notification.objects.bulk_create(  # PostgreSQL and SQLite return the new ids
        (
            Notification(
                recipient=users[i % recipients], ticket=rows[i % tickets], kind=Notification.Kind.SLA_WARNING,
                data={"clock": "first_response", "percent": 50, "due_at": due.isoformat()},
                dedupe_key=f"{prefix}:{i}",
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    return sorted(n.pk for n in notices)


def mailed_ids(outbox) -> Counter:
    return Counter(int(m.extra_headers["X-Aftersales-Notification"]) for m in outbox)


def unsent():
    return Notification.objects.filter(email_sent_at__isnull=True)


# The drain -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_of_30000_notices_drains_in_a_few_runs_each_mailed_once(mailoutbox, capsys):
    ids = make_notices(BURST)

    runs, started = 0, time.monotonic()
    while unsent().exists():
        runs += 1
        assert runs <= 3, "the burst did not drain in three runs"
        notifications_send_emails()
    seconds = time.monotonic() - started

    counts = mailed_ids(mailoutbox)
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}
    assert not Notification.objects.filter(email_claimed_at__isnull=True).exists()
    with capsys.disabled():
        print(f"\n{BURST:,} notices drained in {runs} run(s), {seconds:.1f} s ({BURST / seconds:,.0f}/s, "
              f"{connection.vendor}, locmem backend); at {OLD_PER_RUN} a run (one a minute) that was "
              f"{BURST // OLD_PER_RUN} runs, {BURST / OLD_PER_RUN / 60:.1f} hours")


@pytest.mark.django_db
def test_a_run_stops_at_its_time_budget_and_the_next_run_goes_on(mailoutbox):
    ids = make_notices(60, recipients=3, tickets=3)

    first = notifications_send_emails(rate=100, seconds=0.25, batch_size=20)

    assert 10 <= first < 60
    assert unsent().count() == 60 - first
    # What the run did not try is released at once (not left to the ten-minute claim timeout).
    assert not unsent().filter(email_claimed_at__isnull=False).exists()
    assert notifications_send_emails() == 60 - first
    counts = mailed_ids(mailoutbox)
    assert sorted(counts) == ids and set(counts.values()) == {1}


@pytest.mark.django_db
def test_the_rate_setting_spaces_the_sends(mailoutbox, settings):
    make_notices(30, recipients=3, tickets=3)
    settings.NOTIFICATION_EMAIL_RATE = 100

    started = time.monotonic()
    assert notifications_send_emails() == 30
    elapsed = time.monotonic() - started

    assert elapsed >= 0.29  # 30 sends, 10 ms apart


class CountingBackend(EmailBackend):
    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return True


@pytest.mark.django_db
def test_one_mail_server_connection_per_batch(mailoutbox, settings):
    make_notices(250, recipients=5, tickets=5)
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0

    assert notifications_send_emails(batch_size=100) == 250

    assert CountingBackend.opened == 3


class UnreachableBackend(EmailBackend):
    def open(self):
        raise ConnectionRefusedError("mail server down")


@pytest.mark.django_db
def test_an_unreachable_mail_server_ends_the_run_and_loses_nothing(mailoutbox, settings):
    ids = make_notices(150, recipients=3, tickets=3)
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableBackend"

    assert notifications_send_emails() == 0

    assert unsent().count() == 150
    assert not Notification.objects.filter(email_claimed_at__isnull=False).exists()  # released for the next run
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_emails() == 150
    assert sorted(mailed_ids(mailoutbox)) == ids


class RefusingBackend(EmailBackend):
    """Refuses one address, as a mail server refuses a mailbox that does not exist."""

    def send_messages(self, messages):
        for message in messages:
            if "refused" in message.to[0]:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"no such mailbox")})
        return super().send_messages(messages)


@pytest.mark.django_db
def test_a_refused_notice_keeps_its_claim_and_is_tried_again_after_the_timeout(mailoutbox, settings):
    ids = make_notices(10, recipients=2, tickets=2)
    refused = UserFactory(username="refused", email="refused@example.com")
    bad = Notification.objects.create(recipient=refused, ticket_id=Notification.objects.first().ticket_id,
                                      kind=Notification.Kind.SLA_WARNING, dedupe_key="refused")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    assert notifications_send_emails() == 10

    assert sorted(mailed_ids(mailoutbox)) == ids
    bad.refresh_from_db()
    assert bad.email_sent_at is None and bad.email_claimed_at is not None
    assert notifications_send_emails() == 0  # not retried within the same minute…
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_emails(now=timezone.now() + EMAIL_CLAIM_TIMEOUT + timedelta(seconds=1)) == 1  # …but later
    assert unsent().count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_share_the_backlog_and_mail_each_notice_once(mailoutbox):
    ids = make_notices(3000)
    results, errors = [], []

    def run():
        try:
            results.append(notifications_send_emails(batch_size=50))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(results) == 3000 and min(results) > 0  # both took a share
    counts = mailed_ids(mailoutbox)
    assert sorted(counts) == ids and set(counts.values()) == {1}


# A worker killed mid-run ----------------------------------------------------------------------------------


CELERY = Path(sys.executable).with_name("celery")
VISIBILITY_TIMEOUT = 5


def worker_env(broker_url: str, var_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": broker_url,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "AFTERSALES_VAR_DIR": str(var_dir),
        "CONN_MAX_AGE": "0",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "NOTIFICATION_EMAIL_RATE": "100",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


def start_worker(name: str, env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(CELERY), "-A", "aftersales", "worker", "--pool=solo", "--concurrency=1", "-n", f"{name}@%h",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=django_settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    wait_for(lambda: process.poll() is not None or " ready." in log.read_text(errors="replace"), timeout=45,
             what=f"{name} ready")
    assert process.poll() is None, f"{name} exited early:\n{log.read_text(errors='replace')[-3000:]}"
    return process


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_run_has_its_task_run_again_by_another_within_the_visibility_timeout(
    tmp_path, capsys
):
    make_notices(1000, prefix="kill")
    redis_server = PrivateRedis()
    workers = []
    try:
        redis_server.start()
        env = worker_env(redis_server.url, tmp_path / "var")
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        workers.append(start_worker("mail-first", env, first_log))
        with broker_at(redis_server.url), app.connection_for_write() as conn:
            task_id = notifications_email_task.apply_async(connection=conn).id

        # Killed once two batches went out (100 a second: about two seconds into a ten-second run).
        wait_for(lambda: Notification.objects.filter(email_sent_at__isnull=False).count() >= 200, timeout=45,
                 what="the first batches")
        workers[0].kill()
        workers[0].wait(timeout=10)
        killed_at = time.monotonic()
        sent_before = Notification.objects.filter(email_sent_at__isnull=False).count()
        assert sent_before < 1000, "the kill must land in the middle of the run"

        workers.append(start_worker("mail-second", env, second_log))
        wait_for(lambda: f"[{task_id}] received" in second_log.read_text(errors="replace"), timeout=45,
                 what="the task to be handed to the second worker")
        rerun_after = time.monotonic() - killed_at
        wait_for(lambda: f"[{task_id}] succeeded" in second_log.read_text(errors="replace"), timeout=45,
                 what="the second run")
    finally:
        for process in workers:
            stop_worker(process)
        redis_server.stop()

    assert rerun_after < VISIBILITY_TIMEOUT + 30  # restore on start (or within 10 s), plus a worker start
    # Nothing lost: only the batch in the killed worker's hands is still claimed, and mailed once its claim
    # times out.
    held = unsent().count()
    assert held <= mail.EMAIL_BATCH_SIZE
    assert not unsent().filter(email_claimed_at__isnull=True).exists()
    later = timezone.now() + EMAIL_CLAIM_TIMEOUT + timedelta(seconds=1)
    assert notifications_send_emails(now=later) == held
    assert not unsent().exists()
    with capsys.disabled():
        print(f"\nworker SIGKILLed after {sent_before} of 1000 notices; the same task ran again on a new worker "
              f"{rerun_after:.1f} s later (visibility timeout {VISIBILITY_TIMEOUT} s, worker start included); "
              f"{held} notices of the killed batch mailed after their claim timed out")

