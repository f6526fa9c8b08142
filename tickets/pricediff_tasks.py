"""Celery task for bulk price-difference refunds (tickets/pricediff.py does the work)."""

from celery import shared_task
from django.db import OperationalError

from . import pricediff


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def pricediff_run_task(self, batch_id: int) -> bool:
    """Refund a running batch for one time slice; a fresh task continues a big batch.

    Safe to re-deliver: rows are claimed with SKIP LOCKED, refunds carry a unique dedupe key, and a
    batch that is not running (done, or never confirmed) is left alone.
    """
    try:
        finished = pricediff.pricediff_run(batch_id=batch_id, seconds=pricediff.RUN_SLICE_SECONDS)
    except OperationalError:
        raise  # transient: retried
    except Exception:
        pricediff.pricediff_mark_failed(batch_id=batch_id)
        raise
    if not finished:
        pricediff_run_task.delay(batch_id)
    return finished
