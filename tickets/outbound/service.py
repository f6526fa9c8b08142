"""The one outbound service: plan a reply's deliveries, send one, retry what is due, send again on request.

A delivery moves queued -> sending -> sent (-> delivered, reported by the receiver), or -> failed (tried again
at next_attempt_at, back-off below) -> ... -> dead after OUTBOUND_MAX_ATTEMPTS or a permanent refusal. A channel
that applies but is not set up gives no_channel at planning; a supervisor sends it again from the undelivered
list once it is (delivery_resend).

Nothing is sent twice: the state is checked under a row lock before each attempt, and the receiver sees the same
idempotency key (delivery.key, also the e-mail's Message-ID) on every attempt.
"""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.celery import enqueue, enqueue_after_commit

from ..events import EventAction, event_record
from ..models import Channel, Delivery, Message
from ..notes import note
from . import PermanentFailure, TemporaryFailure

logger = logging.getLogger(__name__)

State = Delivery.State
# A planned delivery is due this long after its reply commits: its task normally sends it within a second; the
# retry sweep finds it after that only when the task was never queued (broker down) or lost with its worker.
GRACE = timedelta(seconds=60)
# Waits after the 1st, 2nd, ... failed attempt; the last one repeats.
BACKOFF_SECONDS = [30, 60, 120, 300, 600, 1800, 3600]
# A delivery left 'sending' longer than the task's hard time limit belongs to a worker that died mid-send:
# no worker can still be in it, so it is tried again (the receiver's idempotency key absorbs a doubled send).
SENDING_STALE = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
# Sent inline by one sweep when the broker cannot take the tasks (each waits up to OUTBOUND_TIMEOUT_SECONDS).
INLINE_PER_SWEEP = 10
SWEEP_BATCH = 200

PLATFORM_SOURCES = {"taobao", "tmall", "jd", "douyin", "pinduoduo"}
# Channels a message may be recorded on without being sent (what was said on the phone, in a chat...).
RECORD_ONLY = {Channel.PHONE, Channel.CHAT, Channel.SOCIAL, Channel.CUSTOMER_LINK, Channel.OTHER}
CHANNEL_NOTES = {
    Delivery.Channel.EMAIL: gettext_noop("E-mail"),
    Delivery.Channel.PLATFORM_CHAT: gettext_noop("Platform chat"),
    Delivery.Channel.SMS: gettext_noop("SMS"),
}
ADAPTER_MODULES = {
    Delivery.Channel.EMAIL: "tickets.outbound.email",
    Delivery.Channel.PLATFORM_CHAT: "tickets.outbound.platform",
    Delivery.Channel.SMS: "tickets.outbound.sms",
}


def adapter_for(channel: str):
    """The channel's adapter module, imported when first used (the SMS adapter may not be installed)."""
    return importlib.import_module(ADAPTER_MODULES[channel])


def channels_for(message: Message) -> list[str]:
    """The channels that reach the customer for this reply (common rule: the case's own way in)."""
    ticket = message.ticket
    if message.channel != ticket.channel and message.channel in RECORD_ONLY:
        return []  # recorded as said elsewhere (a call, a chat), not sent
    channels = []
    if ticket.channel == Channel.EMAIL or ticket.messages.filter(
        direction=Message.Direction.INBOUND).exclude(email_message_id="").exists():
        channels.append(Delivery.Channel.EMAIL)
    if ticket.external_source in PLATFORM_SOURCES or ticket.channel in (Channel.PLATFORM, Channel.PLATFORM_DISPUTE):
        channels.append(Delivery.Channel.PLATFORM_CHAT)
    return channels


def _readiness(channel: str, message: Message) -> tuple[str, str]:
    """(recipient, why it cannot be sent or "")."""
    try:
        adapter = adapter_for(channel)
    except ImportError:
        return "", _("This desk has no %(channel)s adapter.") % {"channel": _(CHANNEL_NOTES[channel])}
    reason = adapter.configured(message)
    recipient = adapter.recipient(message) or ""
    if not reason and not recipient:
        reason = _("The customer has no address on this channel.")
    return recipient, reason


def _send_task():
    # Looked up at run time: tickets.tasks (the Celery entry points) also registers the features' tasks, which
    # the core may not import at module level (import-linter); the task itself only calls back into this module.
    return import_string("tickets.tasks.delivery_send_task")


def _queue(delivery: Delivery) -> None:
    enqueue_after_commit(_send_task(), delivery.pk)


def deliveries_plan(message: Message, *, channels: list[str] | None = None) -> list[Delivery]:
    """The deliveries of an outbound message, in the caller's transaction (message_add's): queued where the
    channel is set up (sent after commit), no_channel with the reason where it is not. `channels`: given by a
    caller that asks for one channel (SMS), else the ticket's rule."""
    planned = []
    now = timezone.now()
    for channel in channels if channels is not None else channels_for(message):
        recipient, reason = _readiness(channel, message)
        delivery = Delivery(message=message, channel=channel, recipient=recipient[:254])
        if reason:
            delivery.state, delivery.last_error = State.NO_CHANNEL, reason
        else:
            delivery.state, delivery.next_attempt_at = State.QUEUED, now + GRACE
        delivery.save(force_insert=True)
        if delivery.state == State.QUEUED:
            _before_queue(delivery)
            _queue(delivery)
        planned.append(delivery)
    return planned


def _before_queue(delivery: Delivery) -> None:
    """E-mail: the Message-ID is fixed now and kept on the message, so a customer's quick answer to it threads."""
    if delivery.channel == Delivery.Channel.EMAIL and not delivery.message.email_message_id:
        from .email import message_id_for

        delivery.message.email_message_id = message_id_for(delivery)
        delivery.message.save(update_fields=["email_message_id"])


def _claim(delivery_id: int) -> tuple[Delivery | None, str]:
    """Lock the row and mark it sending (committed before the slow send), or say why not."""
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update(of=("self",)).select_related("message__ticket__customer")
                    .filter(pk=delivery_id).first())
        if delivery is None:
            return None, "missing"
        stale = delivery.state == State.SENDING and delivery.updated_at < timezone.now() - SENDING_STALE
        if delivery.state not in (State.QUEUED, State.FAILED) and not stale:
            return None, delivery.state  # done, dead, not configured, or another worker is on it
        delivery.state = State.SENDING
        delivery.attempts += 1
        delivery.save(update_fields=["state", "attempts", "updated_at"])
    return delivery, ""


def delivery_give_up(delivery: Delivery, *, error: str, why) -> None:
    """The delivery will never reach the customer: dead with the error, and a "reply not delivered" event with
    `why` (a note) on its ticket, in the caller's transaction (the row locked by the caller). Our last attempt,
    a bounce, the platform's report: every way a reply is lost ends here."""
    delivery.state, delivery.last_error, delivery.next_attempt_at = State.DEAD, error, None
    delivery.save(update_fields=["state", "last_error", "next_attempt_at", "updated_at"])
    event_record(ticket_id=delivery.message.ticket_id, actor=None, action=EventAction.MESSAGE_UNDELIVERED,
                 reason=why)
    logger.warning("delivery %s (%s) dead: %s", delivery.pk, delivery.channel, error[:200])


def delivery_send(delivery_id: int) -> str:
    """Send one delivery now; safe to call twice (the second call finds it sent or sending and returns)."""
    delivery, skipped = _claim(delivery_id)
    if delivery is None:
        return skipped
    external_id, error, permanent = "", "", False
    try:
        adapter = adapter_for(delivery.channel)
    except ImportError:
        adapter = None
        error, permanent = _("This desk has no %(channel)s adapter.") % {
            "channel": _(CHANNEL_NOTES[delivery.channel])}, True
    try:
        if adapter is not None:
            external_id = adapter.send(delivery) or ""
    except PermanentFailure as failure:
        error, permanent = str(failure) or _("Refused by the receiver."), True
    except TemporaryFailure as failure:
        error = str(failure) or _("The receiver did not answer.")
    except Exception as failure:  # a bug or an unforeseen error must not leave the delivery 'sending' for good
        logger.exception("delivery %s: unexpected error while sending", delivery.pk)
        error = _("Unexpected error: %(error)s") % {"error": type(failure).__name__}
    return _record(delivery, external_id=external_id, error=error[:1000], permanent=permanent)


@transaction.atomic
def _record(delivery: Delivery, *, external_id: str, error: str, permanent: bool) -> str:
    current = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if current.state != State.SENDING or current.attempts != delivery.attempts:
        return current.state  # taken over after it went stale: the newer attempt records its own outcome
    now = timezone.now()
    if not error:
        current.state, current.sent_at, current.external_id = State.SENT, now, external_id[:255]
        current.last_error, current.next_attempt_at = "", None
    elif permanent or current.attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
        delivery_give_up(current, error=error, why=note(
            "Not delivered by %(channel)s: %(error)s", channel=note(CHANNEL_NOTES[current.channel]), error=error))
        return current.state
    else:
        wait = BACKOFF_SECONDS[min(current.attempts, len(BACKOFF_SECONDS)) - 1]
        current.state, current.last_error = State.FAILED, error
        current.next_attempt_at = now + timedelta(seconds=wait)
    current.save(update_fields=["state", "sent_at", "external_id", "last_error", "next_attempt_at", "updated_at"])
    if error:
        logger.warning("delivery %s (%s) attempt %s: %s -> %s", current.pk, current.channel, current.attempts,
                       error[:200], current.state)
    return current.state


def _due(now) -> Q:
    return Q(state__in=[State.QUEUED, State.FAILED], next_attempt_at__lte=now) | _stale(now)


def _stale(now) -> Q:
    return Q(state=State.SENDING, updated_at__lt=now - SENDING_STALE)


def _take(delivery_id: int, now) -> bool:
    """Compare and set: move a due delivery's next attempt on (a stale 'sending' one back to failed), so the next
    sweep does not queue it again while its task waits. False when a concurrent sweep or sender took it first."""
    due = Q(state__in=[State.QUEUED, State.FAILED], next_attempt_at__lte=now)
    if Delivery.objects.filter(due, pk=delivery_id).update(next_attempt_at=now + GRACE):
        return True
    return bool(Delivery.objects.filter(_stale(now), pk=delivery_id).update(
        state=State.FAILED, next_attempt_at=now + GRACE, updated_at=now,
        last_error=_("Interrupted while sending (the worker stopped); tried again."),
    ))


def deliveries_retry_due(*, now=None) -> int:
    """Queue the deliveries due again (failed ones at their time, queued ones whose task was lost, sending ones
    whose worker died). Each is claimed by moving its next attempt on, so the next sweep does not queue it again
    while its task waits; when the broker is down a few are sent inline instead. Returns how many were taken."""
    now = now or timezone.now()
    ids = list(Delivery.objects.filter(_due(now)).order_by("next_attempt_at", "id").values_list("pk", flat=True)
               [:SWEEP_BATCH])
    taken = 0
    inline = 0
    for delivery_id in ids:
        if not _take(delivery_id, now):
            continue
        taken += 1
        if not enqueue(_send_task(), delivery_id):
            if inline >= INLINE_PER_SWEEP:
                continue  # left due: a later sweep takes it
            inline += 1
            delivery_send(delivery_id)
    return taken


@transaction.atomic
def delivery_resend(*, delivery: Delivery, actor) -> Delivery:
    """A supervisor sends a dead or not-configured delivery again, once its channel is set up: a fresh round of
    attempts with the same idempotency key. ValidationError when it cannot go (and nothing changes)."""
    delivery = (Delivery.objects.select_for_update(of=("self",)).select_related("message__ticket__customer")
                .get(pk=delivery.pk))
    if delivery.state not in (State.DEAD, State.NO_CHANNEL):
        raise ValidationError(_("Only an undelivered reply can be sent again."))
    recipient, reason = _readiness(delivery.channel, delivery.message)
    if reason:
        raise ValidationError(reason)
    delivery.recipient, delivery.state, delivery.attempts = recipient[:254], State.QUEUED, 0
    delivery.last_error, delivery.next_attempt_at = "", timezone.now() + GRACE
    delivery.save(update_fields=["recipient", "state", "attempts", "last_error", "next_attempt_at", "updated_at"])
    _before_queue(delivery)
    _queue(delivery)
    logger.info("delivery %s sent again by user %s", delivery.pk, getattr(actor, "pk", None))
    return delivery
