"""Notification e-mails: mail the unsent notices batch after batch, each batch claimed (SKIP LOCKED),
sent over one mail-server connection at a set rate, and marked sent only once it went out.

Run by Celery beat on its own schedule (tickets/tasks.py, notifications_email_task).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Notification
from ..notification_text import NOTIFICATION_RELATED, notification_sentence

logger = logging.getLogger(__name__)

EMAIL_CLAIM_TIMEOUT = timedelta(minutes=10)
EMAIL_BATCH_SIZE = 100
# One run drains the backlog for at most this long: below the task's soft time limit (200 s) and about
# the beat interval (60 s), so runs seldom overlap; when they do, SKIP LOCKED splits the work.
EMAIL_RUN_SECONDS = 50


def notifications_send_emails(
    *,
    now: datetime | None = None,
    batch_size: int = EMAIL_BATCH_SIZE,
    seconds: float = EMAIL_RUN_SECONDS,
    rate: float | None = None,
) -> int:
    """Mail unsent notifications, batch after batch, until none is left or `seconds` have passed.

    Each batch is claimed in a short transaction of its own and sent over one mail-server connection,
    at most `rate` (NOTIFICATION_EMAIL_RATE) a second. A notice is marked sent only after it went out,
    so none is lost: a worker that died mid-batch leaves its claims to time out (EMAIL_CLAIM_TIMEOUT)
    and be mailed again, that batch perhaps twice. A notice whose sending failed keeps its claim and is
    tried again after the timeout; when the server cannot be reached the rest of the batch is released
    and the run ends. Returns the number of e-mails sent.
    """
    pacer = _Pacer(settings.NOTIFICATION_EMAIL_RATE if rate is None else rate)
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline:
        batch = _email_batch_claim(now=now or timezone.now(), batch_size=batch_size)
        if not batch:
            break
        count, finished = _email_batch_send(batch, pacer=pacer, deadline=deadline)
        sent += count
        if not finished:
            break
    return sent


@transaction.atomic
def _email_batch_claim(*, now: datetime, batch_size: int) -> list[Notification]:
    # SKIP LOCKED: a run on another worker at the same moment takes the next batch, never this one; the
    # claim stamp committed with it keeps these out of every later claim until it times out. Ids first,
    # from the unsent index alone: joined to users and tickets, PostgreSQL chose to read and sort the whole
    # backlog for each batch when its statistics were older than a burst (160 ms a batch at 30,000).
    ids = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(email_sent_at__isnull=True)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return []
    Notification.objects.filter(pk__in=ids).update(email_claimed_at=now)
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related("recipient", *NOTIFICATION_RELATED)
        .only("kind", "data", "recipient__email", "ticket__number", "ticket__customer__name",
              "ticket__order__platform", "ticket__order__external_number", "subtask__kind",
              "subtask__department__code", "subtask__department__name", "subtask__department__name_en")
        .order_by("created_at", "pk")
    )


def _email_batch_send(batch: list[Notification], *, pacer: _Pacer, deadline: float) -> tuple[int, bool]:
    """Send a claimed batch over one connection, then mark what went out in one UPDATE and release what
    was not tried. Returns (e-mails sent, whether the whole batch was tried)."""
    labels = {kind: str(label) for kind, label in Notification.Kind.choices}  # get_kind_display: slow
    done: list[int] = []  # mailed, or nothing to mail (the recipient has no address)
    untried: list[int] = []
    sent = 0
    connection = None
    try:
        for index, notification in enumerate(batch):
            address = notification.recipient.email
            if not address:
                done.append(notification.pk)
                continue
            if time.monotonic() >= deadline:
                untried = [n.pk for n in batch[index:]]
                break
            if connection is None:
                try:
                    connection = get_connection()
                    connection.open()
                except OSError:
                    logger.warning("mail server unreachable; %d notices wait for the next run",
                                   len(batch) - index, exc_info=True)
                    connection = None
                    untried = [n.pk for n in batch[index:]]
                    break
            pacer.wait()
            try:
                label = labels.get(notification.kind, notification.kind)
                connection.send_messages([_notification_email(notification, address, label)])
            except Exception:  # refused, the server went away, or a notice that cannot be written
                # Not the whole run: one bad notice must not hold up everyone else's.
                logger.warning("mail to %s failed; tried again after %s", address, EMAIL_CLAIM_TIMEOUT, exc_info=True)
                _close_quietly(connection)
                connection = None  # the next notice opens a fresh one (or finds the server gone)
                continue
            done.append(notification.pk)
            sent += 1
    finally:
        Notification.objects.filter(pk__in=done).update(email_sent_at=timezone.now())
        if untried:
            Notification.objects.filter(pk__in=untried).update(email_claimed_at=None)
        _close_quietly(connection)
    return sent, not untried


def _close_quietly(connection) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except OSError:  # QUIT on a connection that already broke
        logger.debug("mail connection did not close cleanly", exc_info=True)


class _Pacer:
    """At most `rate` sends a second, evenly spaced (0: no limit)."""

    def __init__(self, rate: float):
        self.interval = 1 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval


def _notification_email(notification: Notification, address: str, label: str) -> EmailMessage:
    return EmailMessage(
        subject=f"[{notification.ticket.number}] {label}",
        body=_notification_text(notification, label),
        to=[address],
        # Which notice this is, for tracing a complaint (and for the tests that count deliveries).
        headers={"X-Aftersales-Notification": str(notification.pk)},
    )


def _notification_text(notification: Notification, label: str) -> str:
    # The sentence (with its clock, due time and departments) and the customer's name masked whoever reads
    # it: an e-mail leaves the desk.
    return "\n".join([f"{label}: {notification.ticket.number}", notification_sentence(notification, masked=True)])
