"""Celery tasks: thin wrappers over services; safe to re-deliver (the services re-check state).

All are periodic (beat): a run lost with its worker is simply the next run's work, so none needs
reject_on_worker_lost. Retries back off at most 60 s, far below the broker's visibility timeout.
"""

from celery import shared_task
from django.db import OperationalError

from .sla.mail import notifications_send_emails
from .sla.subtask_sweep import subtask_sweep
from .sla.sweep import auto_close_silent_tickets, sla_sweep

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 3}


@shared_task(bind=True, acks_late=True, **RETRY)
def sla_sweep_task(self) -> dict:
    result = sla_sweep()
    subtasks = subtask_sweep()
    return {
        "tickets": result.tickets,
        "notifications": result.notifications,
        "escalations": result.escalations,
        "subtasks": subtasks,
    }


@shared_task(bind=True, acks_late=True, **RETRY)
def intake_process_task(self) -> int:
    """Make the tickets of the pending platform events (queued after a webhook stored one, and by beat as a
    safety sweep). The queued mark is cleared first: an event stored from now on queues another task, and one
    stored before is read by this one."""
    from django.core.cache import cache

    from .intake import INTAKE_QUEUED_KEY, intake_events_process

    cache.delete(INTAKE_QUEUED_KEY)
    return intake_events_process()


@shared_task(bind=True, acks_late=True, **RETRY)
def notifications_email_task(self) -> int:
    """Mail the unsent notifications, draining the backlog for up to EMAIL_RUN_SECONDS (below the soft
    time limit); its own beat entry, so a slow mail server never delays the SLA sweep."""
    return notifications_send_emails()


@shared_task(bind=True, acks_late=True, **RETRY)
def auto_close_task(self) -> int:
    return auto_close_silent_tickets()


@shared_task(bind=True, acks_late=True, **RETRY)
def incident_detect_task(self) -> int:
    from .incidents.detect import incident_detect

    return len(incident_detect())


@shared_task(bind=True, acks_late=True, **RETRY)
def delivery_send_task(self, delivery_id: int) -> str:
    """Send one delivery (queued after the reply's transaction commits); safe to run twice."""
    from .outbound.service import delivery_send

    return delivery_send(delivery_id)


@shared_task(bind=True, acks_late=True, **RETRY)
def deliveries_retry_task(self) -> int:
    from .outbound.service import deliveries_retry_due

    return deliveries_retry_due()


@shared_task(bind=True, acks_late=True, **RETRY)
def mailboxes_poll_task(self) -> int:
    from .mail.imap import mailboxes_poll

    return mailboxes_poll()


import tickets.pricediff.tasks  # noqa
