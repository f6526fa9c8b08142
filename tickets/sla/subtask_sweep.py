"""The subtask sweep: tell a department once when its subtask is due soon and once when it is overdue.

Run with the SLA sweep by Celery beat (tickets/tasks.py). Each batch claims its subtasks with SELECT … FOR
UPDATE SKIP LOCKED and a conditional UPDATE of the notice's stamp, so two sweeps never announce one twice.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..events import event_build, events_record
from ..models import Notification, Subtask


def subtask_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Tell a department once when its subtask is due soon and once when it is overdue."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SLA_SWEEP_BATCH_SIZE
    total = 0
    for stamp_field, moment_field, kind in (
        ("due_soon_notified_at", "due_soon_at", Notification.Kind.SUBTASK_DUE_SOON),
        ("overdue_notified_at", "due_at", Notification.Kind.SUBTASK_OVERDUE),
    ):
        while count := _subtask_batch(now, batch_size, stamp_field, moment_field, kind):
            total += count
    return total


@transaction.atomic
def _subtask_batch(now, batch_size, stamp_field, moment_field, kind) -> int:
    ids = list(
        Subtask.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=Subtask.ACTIVE_STATUSES, **{f"{stamp_field}__isnull": True, f"{moment_field}__lte": now})
        .values_list("pk", flat=True)[:batch_size]
    )
    if not ids:
        return 0
    # Claim: a conditional UPDATE, so a second sweep finds nothing left to announce.
    Subtask.objects.filter(pk__in=ids, **{f"{stamp_field}__isnull": True}).update(**{stamp_field: now})
    subtasks = list(Subtask.objects.filter(pk__in=ids).select_related("department", "assignee"))
    staff_by_department: dict[int, list] = {}
    for user in (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__department_id__in={s.department_id for s in subtasks})
        .select_related("staff_profile")
    ):
        staff_by_department.setdefault(user.staff_profile.department_id, []).append(user)
    notifications, events = [], []
    action = "subtask_overdue" if kind == Notification.Kind.SUBTASK_OVERDUE else "subtask_due_soon"
    for subtask in subtasks:
        recipients = [subtask.assignee] if subtask.assignee else staff_by_department.get(subtask.department_id, [])
        data = {"subtask": subtask.pk, "department": subtask.department.code, "due_at": subtask.due_at.isoformat()}
        key = f"{kind}:{subtask.pk}:{subtask.due_at.isoformat()}"
        notifications += [
            Notification(
                recipient=r, kind=kind, ticket_id=subtask.ticket_id, subtask=subtask, data=data, dedupe_key=key
            )
            for r in recipients
        ]
        events.append(event_build(ticket_id=subtask.ticket_id, action=action, changes={"subtask": [None, data]}))
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    events_record(events)
    return len(subtasks)
