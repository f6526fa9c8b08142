"""Celery tasks: thin wrappers over services; safe to re-deliver (the services re-check state)."""

from celery import shared_task
from django.db import OperationalError

from .sla.sweep import auto_close_silent_tickets, notifications_send_emails, sla_sweep, subtask_sweep


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sla_sweep_task(self) -> dict:
    result = sla_sweep()
    subtasks = subtask_sweep()
    emails = notifications_send_emails()
    return {
        "tickets": result.tickets,
        "notifications": result.notifications,
        "escalations": result.escalations,
        "subtasks": subtasks,
        "emails": emails,
    }


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def auto_close_task(self) -> int:
    return auto_close_silent_tickets()


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def incident_detect_task(self) -> int:
    from .incidents import incident_detect

    return len(incident_detect())
import tickets.pricediff_tasks  # noqa
