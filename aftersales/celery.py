import logging
import os
from functools import partial
from pathlib import Path

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# What a publish raises when the broker cannot be reached in time: kombu wraps the transport's
# connection errors and timeouts (refused, reset, frozen server) in its OperationalError once the
# publish retries are used up.
BROKER_ERRORS = (BrokerError,)


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender, **kwargs):
    # The filesystem transport (embedded default) raises FileNotFoundError on missing folders.
    if str(sender.conf.broker_url).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            folder = sender.conf.broker_transport_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """`task.delay(*args)` (run no sooner than `countdown` seconds from now when given), or False with a
    warning when the broker is unreachable.

    Only for work that a database record keeps and a periodic job finds again when its task never ran
    (a running price-difference batch: pricediff_resume_stalled_task), so an outage delays it, never
    loses it. The publish gives up within seconds (settings: socket timeouts, TASK_PUBLISH_RETRY_POLICY).
    """
    try:
        task.apply_async(args, countdown=countdown)
    except BROKER_ERRORS as error:
        logger.warning("broker unreachable (%r): %s%r not queued; its periodic job will pick it up",
                       error, task.name, args)
        return False
    return True


def enqueue_after_commit(task, *args) -> None:
    """Queue the task once the current transaction commits (see enqueue).

    By then the request's writes are saved: a broker error raised here would answer 500 for work that
    was done, and invite the user to do it twice.
    """
    transaction.on_commit(partial(enqueue, task, *args))
