"""Celery tasks for bulk price-difference refunds (tickets/pricediff.py does the work)."""

import time

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from aftersales.celery import enqueue

from . import services as pricediff
from .models import PriceDiffBatch

# A running batch whose refunded-row count has not moved for this long gets a new job. Twice the
# broker's visibility timeout (300 s), so a job lost with its worker is first handed out again by the
# broker itself; a job that is merely slow or queued gains a harmless helper (jobs share rows).
STALLED_AFTER_SECONDS = 600


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True,
    retry_backoff_max=60, max_retries=5,
)
def pricediff_run_task(self, batch_id: int) -> bool:
    """Refund a running batch for one time slice; a fresh task continues a big batch.

    Safe to re-deliver, hence reject_on_worker_lost (a worker process killed mid-slice puts the task
    back at once): rows are claimed with SKIP LOCKED, refunds carry a unique dedupe key, and a batch
    that is not running (done, or never confirmed) is left alone.
    """
    try:
        finished = pricediff.pricediff_run(batch_id=batch_id, seconds=pricediff.RUN_SLICE_SECONDS)
    except OperationalError:
        raise  # transient: retried
    except Exception:
        pricediff.pricediff_mark_failed(batch_id=batch_id)
        raise
    if not finished:
        enqueue(pricediff_run_task, batch_id)  # broker down: pricediff_resume_stalled_task resumes it
    return finished


@shared_task(acks_late=True)
def pricediff_resume_stalled_task() -> list[int]:
    """Queue a job for each running batch without progress for STALLED_AFTER_SECONDS (beat).

    Its job may never have been queued (the broker was down when "Run" committed: enqueue_after_commit
    logged it) or may have been lost. Progress is the batch's processed-row count, last seen in the cache.
    """
    now = time.time()
    resumed = []
    running = PriceDiffBatch.objects.filter(status=PriceDiffBatch.Status.RUNNING)
    for batch_id, processed in running.values_list("pk", "processed_rows"):
        key = f"pricediff:progress:{batch_id}"
        seen = cache.get(key)
        if seen is not None and seen[0] == processed:
            if now - seen[1] < STALLED_AFTER_SECONDS or not enqueue(pricediff_run_task, batch_id):
                continue
            resumed.append(batch_id)  # and the new job gets its own STALLED_AFTER_SECONDS
        cache.set(key, [processed, now], STALLED_AFTER_SECONDS * 3)
    return resumed
