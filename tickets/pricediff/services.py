"""Bulk price-difference refunds (退差/价保): read an uploaded CSV or XLSX, validate every row in
bulk (a few queries per few thousand rows, none per row), store the preview, refund the valid rows
from a Celery task in bounded chunks, and report on every row.

Why running it twice pays nothing twice:
- the same file (same sha256) finds its earlier batch instead of making a new one;
- every refund carries the dedupe key `pricediff:<order item>:<new price>` (unique on Refund), so a
  line already refunded for this drop, by this batch or any other, is skipped;
- the task claims VALID rows with `SELECT ... FOR UPDATE SKIP LOCKED`, so a re-delivered task running
  next to the first never takes the same rows, and a done batch is left alone;
- the refund cap is orders.services.refund_request's own (refund_request_lines applies it to a whole
  chunk), checked under the orders' row locks, so a refund made between preview and run makes that row
  fail instead of overpaying; the dedupe keys are read under the same locks.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales.celery import enqueue_after_commit
from customers.services import customer_shop_get
from orders import money
from orders.models import OrderItem, Refund
from orders.money import ZERO
from orders.services import LineRefund, refund_request_lines

from ..events import event_record
from ..models import Category, Channel, Department, Subtask, Ticket, TicketType
from ..notifications import Notification
from ..services import ticket_create
from ..subtasks import subtask_create
from ..workflow import Action, ticket_transition
from .models import TICKET_SOURCE, PriceDiffBatch, PriceDiffRow
from .policies import approval_total_limit, pricediff_can_read, pricediff_require_supervisor
from .selectors import pricediff_ticket_of
from .upload import (
    MAX_FILE_BYTES,
    PREVIEW_CHUNK,
    UploadRow,
    chunks,
    dedupe_key,
    read_rows,
    validate_rows,
)

Row = PriceDiffRow.Status
BatchStatus = PriceDiffBatch.Status

RUN_CHUNK = 500  # rows per transaction in the run
# A task refunds for at most this long, then hands the rest to a fresh task: every run stays far
# below CELERY_TASK_SOFT_TIME_LIMIT however big the file is.
RUN_SLICE_SECONDS = 60
# Jobs started per batch on PostgreSQL: they share the rows through SKIP LOCKED, so Celery workers
# refund in parallel. SQLite has no SKIP LOCKED (and one writer at a time): one job there.
PARALLEL_JOBS = 4
RUNNABLE = (BatchStatus.PREVIEWED, BatchStatus.FAILED)  # a failed job is resumed, never restarted


# --- services -----------------------------------------------------------------------------------


def pricediff_preview(*, actor, file_name: str, content: bytes, now: datetime | None = None):
    """Read, validate and store an upload; return (batch, created). Refunds nothing.

    The same file uploaded again returns its earlier batch (created=False). A file that cannot be
    read at all raises ValidationError with one file-level message; row problems are stored per row.
    """
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError(_("The file is larger than %(mb)d MB: split it.") % {"mb": MAX_FILE_BYTES // 2**20})
    checksum = hashlib.sha256(content).hexdigest()
    earlier = PriceDiffBatch.objects.filter(file_sha256=checksum).order_by("created_at", "id").first()
    if earlier is not None:
        return earlier, False
    rows = read_rows(content)
    validate_rows(rows, actor=actor, now=now or timezone.now())
    try:
        return _batch_store(actor=actor, file_name=file_name, checksum=checksum, rows=rows), True
    except IntegrityError:
        # The same file was uploaded twice at the same moment: the first one's batch is the batch.
        return PriceDiffBatch.objects.get(file_sha256=checksum), False


@transaction.atomic
def _batch_store(*, actor, file_name: str, checksum: str, rows: list[UploadRow]) -> PriceDiffBatch:
    valid = [row for row in rows if row.status == Row.VALID]
    valid_amount = sum((row.amount for row in valid), ZERO)
    over_limit_rows = sum(1 for row in valid if row.over_limit)
    batch = PriceDiffBatch.objects.create(
        file_name=file_name[:255],
        file_sha256=checksum,
        uploaded_by=actor,
        total_rows=len(rows),
        valid_rows=len(valid),
        valid_amount=valid_amount,
        over_limit_rows=over_limit_rows,
        approval_needed=bool(over_limit_rows) or valid_amount > approval_total_limit(),
    )
    for chunk in chunks(rows, PREVIEW_CHUNK):
        PriceDiffRow.objects.bulk_create(
            PriceDiffRow(
                batch=batch,
                row_number=row.row_number,
                order_number=row.order_number[:64],
                sku=row.sku[:64],
                new_price=row.new_price,
                reason=row.reason,
                order_item_id=row.order_item_id,
                amount=row.amount,
                over_limit=row.over_limit,
                status=row.status,
                error=row.error,
            )
            for row in chunk
        )
    return batch


def pricediff_approval_reasons(batch: PriceDiffBatch) -> list[str]:
    """Why the batch needs a second person (shown on the preview and to the approvers)."""
    reasons = []
    if batch.over_limit_rows:
        reasons.append(ngettext("%(count)d row is above the uploader's single-refund limit of ¥%(limit)s.",
                                "%(count)d rows are above the uploader's single-refund limit of ¥%(limit)s.",
                                batch.over_limit_rows)
                       % {"count": batch.over_limit_rows, "limit": money.refund_limit_of(batch.uploaded_by)})
    if batch.valid_amount > approval_total_limit():
        reasons.append(_("The batch refunds ¥%(amount)s in total, above the shop's ¥%(limit)s for a batch.")
                       % {"amount": batch.valid_amount, "limit": approval_total_limit()})
    return reasons


@transaction.atomic
def pricediff_execute(*, batch: PriceDiffBatch, actor) -> PriceDiffBatch:
    """Run a previewed batch (or resume a failed one) — or, when it is above a limit and nobody else
    approved it yet, send it for approval instead.

    Resuming a failed batch is safe: only rows still VALID are taken, and refunds carry dedupe keys.
    """
    pricediff_require_supervisor(actor)
    # Locked: two clicks on "Run" (or two supervisors at once) start the job once.
    batch = PriceDiffBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in RUNNABLE:
        raise ValidationError(_("This batch is %(status)s; only a previewed batch can be run.")
                              % {"status": batch.get_status_display()})
    if not batch.valid_rows:
        raise ValidationError(_("This batch has no valid row to refund."))
    if batch.approval_needed and batch.decided_by_id is None:
        PriceDiffBatch.status_flow.move(batch, BatchStatus.AWAITING_APPROVAL)
        _approvers_notify(batch, actor)
        return batch
    return _batch_start(batch)


def _batch_start(batch: PriceDiffBatch) -> PriceDiffBatch:
    from .tasks import pricediff_run_task

    PriceDiffBatch.status_flow.move(batch, BatchStatus.RUNNING, started_at=timezone.now())
    batch_id = batch.pk
    jobs = PARALLEL_JOBS if connection.features.has_select_for_update_skip_locked else 1
    for _job in range(jobs):
        enqueue_after_commit(pricediff_run_task, batch_id)  # broker down: pricediff_resume_stalled_task
    return batch


@transaction.atomic
def pricediff_decide(*, batch: PriceDiffBatch, actor, approve: bool, reason: str = "") -> PriceDiffBatch:
    """The second person approves (the job starts) or rejects (nothing is ever paid) a waiting batch."""
    batch = PriceDiffBatch.objects.select_for_update().get(pk=batch.pk)
    if not pricediff_can_read(actor):
        raise PermissionDenied
    if batch.uploaded_by_id == actor.pk:
        raise PermissionDenied(_("Nobody approves their own batch."))
    if batch.status != BatchStatus.AWAITING_APPROVAL:
        raise ValidationError(_("This batch is %(status)s; only a batch awaiting approval can be decided.")
                              % {"status": batch.get_status_display()})
    if not approve and not reason.strip():
        raise ValidationError(_("Say why the batch is rejected."))
    batch.decided_by, batch.decided_at, batch.decision_reason = actor, timezone.now(), reason.strip()[:300]
    batch.save(update_fields=["decided_by", "decided_at", "decision_reason"])
    ticket = _batch_ticket(batch)
    event_record(
        ticket=ticket, actor=actor, action="batch_approved" if approve else "batch_rejected",
        changes={"batch": [None, batch.pk], "amount": [None, str(batch.valid_amount)]}, reason=reason,
    )
    if approve:
        return _batch_start(batch)
    PriceDiffBatch.status_flow.move(batch, BatchStatus.REJECTED, finished_at=timezone.now())
    return batch


def _approvers_notify(batch: PriceDiffBatch, actor) -> None:
    """Every supervisor but the uploader, and finance, get one notice on the batch's ticket."""
    from django.contrib.auth import get_user_model

    from ..roles import Role

    ticket = _batch_ticket(batch)
    event_record(
        ticket=ticket, actor=actor, action="batch_approval_requested",
        changes={"batch": [None, batch.pk], "amount": [None, str(batch.valid_amount)]},
        reason="; ".join(pricediff_approval_reasons(batch)),
    )
    approvers = (
        get_user_model().objects.filter(is_active=True)
        .filter(models.Q(groups__name=Role.SUPERVISOR) | models.Q(staff_profile__department__code="finance",
                                                                   groups__name=Role.DEPARTMENT_STAFF))
        .exclude(pk=batch.uploaded_by_id)
        .values_list("pk", flat=True)
        .distinct()
    )
    Notification.objects.bulk_create(
        [Notification(recipient_id=pk, kind=Notification.Kind.APPROVAL_REQUESTED, ticket=ticket,
                      data={"pricediff_batch": batch.pk, "amount": str(batch.valid_amount)},
                      dedupe_key=f"pricediff_approval:{batch.pk}") for pk in approvers],
        ignore_conflicts=True,
    )


def pricediff_run(*, batch_id: int, seconds: float | None = None) -> bool:
    """Refund the valid rows of a running batch, one chunk per transaction; finish the batch.

    Returns True when there is nothing more to do (finished, already done, not running), False when
    the time slice ran out first and the caller should continue later.
    """
    batch = PriceDiffBatch.objects.filter(pk=batch_id).select_related("uploaded_by", "decided_by").first()
    if batch is None or batch.status != BatchStatus.RUNNING:
        return True
    deadline = None if seconds is None else time.monotonic() + seconds
    while _run_chunk(batch):
        if deadline is not None and time.monotonic() >= deadline:
            return False
    _batch_finish(batch_id=batch.pk)
    return True


@transaction.atomic
def _run_chunk(batch: PriceDiffBatch) -> int:
    """Refund one chunk of rows in one transaction, with a fixed number of statements whatever its size:
    claim the rows, load their lines, refund_request_lines (lock the orders, read the figures, insert the
    refunds and their lines), write back every row's outcome and the batch's progress."""
    # SKIP LOCKED: parallel jobs (and a re-delivered task) take the next chunk, never this one.
    rows = list(
        PriceDiffRow.objects.select_for_update(skip_locked=True)
        .filter(batch_id=batch.pk, status=Row.VALID)
        .order_by("row_number")[:RUN_CHUNK]
    )
    if not rows:
        return 0
    items = OrderItem.objects.in_bulk([row.order_item_id for row in rows if row.order_item_id])
    asked = []  # (row, LineRefund), in row order: earlier rows use up what is left first, as in the preview
    for row in rows:
        item = items.get(row.order_item_id)
        if item is None:
            row.status, row.error = Row.FAILED, _("The order line no longer exists.")
            continue
        reason = (row.reason or _("Price protection: new price ¥%(price)s") % {"price": row.new_price})[:300]
        asked.append((row, LineRefund(item=item, amount=row.amount, reason=reason, new_price=row.new_price,
                                      dedupe_key=dedupe_key(row.order_item_id, row.new_price))))
    outcomes = refund_request_lines(
        lines=[line for _row, line in asked], actor=batch.uploaded_by, kind=Refund.Kind.PRICE_DIFFERENCE,
        approved_by=batch.decided_by, must_be_approved=True,
    ) if asked else []
    refunded, refunded_amount = 0, Decimal("0")
    for (row, line), outcome in zip(asked, outcomes, strict=True):
        if outcome.duplicate:
            row.status, row.refund_id = Row.SKIPPED, outcome.refund.pk
            row.error = _("Already refunded for this price drop (refund #%(id)d).") % {"id": outcome.refund.pk}
        elif outcome.error:
            row.status, row.error = Row.FAILED, outcome.error[:300]
        else:
            row.status, row.refund_id, row.error = Row.REFUNDED, outcome.refund.pk, ""
            refunded += 1
            refunded_amount += line.amount
    _rows_record(rows)
    PriceDiffBatch.objects.filter(pk=batch.pk).update(
        processed_rows=F("processed_rows") + len(rows),
        refunded_rows=F("refunded_rows") + refunded,
        refunded_amount=F("refunded_amount") + refunded_amount,
    )
    return len(rows)


def _rows_record(rows: list[PriceDiffRow]) -> None:
    """Every row's outcome in one UPDATE joined to a VALUES list (PostgreSQL and SQLite alike; their
    VALUES columns are both called column1, column2, ...). bulk_update's CASE WHEN per row and field
    spent two thirds of the run building expressions in Python and made PostgreSQL plan a huge CASE."""
    table = connection.ops.quote_name(PriceDiffRow._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = v.column2, error = v.column3, refund_id = CAST(v.column4 AS bigint) "
            f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
            [field for row in rows for field in (row.pk, row.status, row.error, row.refund_id)],
        )


def pricediff_mark_failed(*, batch_id: int) -> bool:
    """The job stopped on an unexpected error: stop the progress bar; "Run" resumes it later."""
    return bool(
        PriceDiffBatch.status_flow.move_all(
            PriceDiffBatch.objects.filter(pk=batch_id), BatchStatus.FAILED, finished_at=timezone.now()
        )
    )


@transaction.atomic
def _batch_finish(*, batch_id: int) -> None:
    # Locked so two workers finishing at once make one ticket; the ticket's unique external id backs it up.
    batch = PriceDiffBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != BatchStatus.RUNNING:
        return
    if PriceDiffRow.objects.filter(batch_id=batch_id, status=Row.VALID).exists():
        return  # another worker still holds a chunk; it finishes the batch after its last one
    if batch.refunded_rows:
        _payment_subtask_create(batch)
    PriceDiffBatch.status_flow.move(batch, BatchStatus.DONE, finished_at=timezone.now())


def _batch_ticket(batch: PriceDiffBatch) -> Ticket:
    """The batch's own ticket (filed under the shop, not under a buyer of the file): where approvers are
    notified and finance is asked to pay. One per batch (its external id is unique)."""
    ticket = pricediff_ticket_of(batch)
    if ticket is not None:
        return ticket
    actor = batch.uploaded_by
    ticket = ticket_create(
        actor=actor,
        channel=Channel.OTHER,
        customer=customer_shop_get(),
        description=_("Price-difference refund batch %(file)s (#%(batch)d): %(count)d rows, ¥%(amount)s.")
        % {"file": batch.file_name, "batch": batch.pk, "count": batch.valid_rows, "amount": batch.valid_amount},
        type=TicketType.PRICE_DIFFERENCE,
        category=Category.PRICE,
        external_source=TICKET_SOURCE,
        external_id=str(batch.pk),
    )
    ticket_transition(ticket=ticket, action=Action.TRIAGE, actor=actor, manual=False)
    return ticket


def _payment_subtask_create(batch: PriceDiffBatch) -> Subtask:
    """One finance subtask pays the whole batch; it links to the batch's report."""
    figures = {"file": batch.file_name, "batch": batch.pk, "count": batch.refunded_rows,
               "amount": batch.refunded_amount}
    ticket = _batch_ticket(batch)
    subtask = subtask_create(
        ticket=ticket,
        actor=batch.uploaded_by,
        department=Department.objects.get(code="finance"),
        kind=Subtask.Kind.REFUND_PAYMENT,
        description=_("Pay the %(count)d approved refunds (¥%(amount)s) of price-difference batch #%(batch)d "
                      "%(file)s; its result report lists every refund.") % figures,
    )
    return subtask
