"""Bulk price-difference refunds (退差/价保): read an uploaded CSV or XLSX, validate every row in
bulk (a few queries per few thousand rows, none per row), store the preview, refund the valid rows
from a Celery task in bounded chunks, and report on every row.

Why running it twice pays nothing twice:
- the same file (same sha256) finds its earlier batch instead of making a new one;
- every refund carries the dedupe key `pricediff:<order item>:<new price>` (unique on Refund), so a
  line already refunded for this drop, by this batch or any other, is skipped;
- the task claims VALID rows with `SELECT ... FOR UPDATE SKIP LOCKED`, so a re-delivered task running
  next to the first never takes the same rows, and a done batch is left alone;
- the refund cap is orders.services.refund_request's own, checked under the order's row lock, so a
  refund made between preview and run makes that row fail instead of overpaying.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, F, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales.celery import enqueue_after_commit
from customers.services import customer_shop_get
from orders import money
from orders.models import Order, OrderItem, PriceDiffBatch, PriceDiffRow, Refund
from orders.money import COUNTING, ZERO
from orders.services import refund_request

from ..events import event_record
from ..models import Category, Channel, Department, Subtask, Ticket, TicketType
from ..notifications import Notification
from ..policies import is_finance_staff, is_supervisor
from ..services import ticket_create
from ..subtasks import subtask_create
from ..workflow import Action, ticket_transition

Row = PriceDiffRow.Status
BatchStatus = PriceDiffBatch.Status

PREVIEW_CHUNK = 5_000  # rows per bulk insert in the preview
RUN_CHUNK = 500  # rows per transaction in the run
# A task refunds for at most this long, then hands the rest to a fresh task: every run stays far
# below CELERY_TASK_SOFT_TIME_LIMIT however big the file is.
RUN_SLICE_SECONDS = 60
# Jobs started per batch on PostgreSQL: they share the rows through SKIP LOCKED, so Celery workers
# refund in parallel. SQLite has no SKIP LOCKED (and one writer at a time): one job there.
PARALLEL_JOBS = 4
MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
PROBLEMS_SHOWN = 200
TICKET_SOURCE = "pricediff"  # Ticket.external_source of a batch's payment ticket; external_id = batch id
CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.99")  # what a MONEY field (12 digits, 2 decimals) holds

# Accepted header names, compared without case, spaces, "_" or "-".
COLUMNS = {
    "order_number": ("order_number", "order_no", "order_id", "订单号", "订单编号"),
    "sku": ("sku", "sku_code", "商品编码", "SKU编码"),
    "new_price": ("new_price", "新价格", "新价"),
    "reason": ("reason", "原因", "退差原因"),
    "platform": ("platform", "平台"),  # optional: only needed when an order number exists on two platforms
}
REQUIRED = ("order_number", "sku", "new_price")
PROBLEM_STATUSES = (Row.INVALID, Row.SKIPPED, Row.FAILED)
RUNNABLE = (BatchStatus.PREVIEWED, BatchStatus.FAILED)  # a failed job is resumed, never restarted
PLATFORM_NAMES = {"淘宝": "taobao", "天猫": "tmall", "京东": "jd", "抖音": "douyin", "拼多多": "pinduoduo"}


def _header_key(name) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


_HEADER_ALIASES = {_header_key(alias): field for field, aliases in COLUMNS.items() for alias in aliases}


def dedupe_key(order_item_id: int, new_price: Decimal) -> str:
    """One refund per order line and price drop (Refund.dedupe_key is unique)."""
    return f"pricediff:{order_item_id}:{new_price.quantize(CENT)}"


# --- access -------------------------------------------------------------------------------------


def pricediff_require_supervisor(user) -> None:
    """Uploading and running bulk refunds is a supervisor's tool."""
    if not is_supervisor(user):
        raise PermissionDenied


def pricediff_can_read(user) -> bool:
    """Supervisors, and finance, who approves batches and pays them from the batch's report."""
    return is_supervisor(user) or is_finance_staff(user)


def pricediff_can_decide(user, batch: PriceDiffBatch) -> bool:
    """A second person approves: a supervisor who did not upload the batch, or finance. Never the uploader."""
    return pricediff_can_read(user) and batch.uploaded_by_id != user.pk


def pricediff_require_reader(user) -> None:
    if not pricediff_can_read(user):
        raise PermissionDenied


def pricediff_batch_get_for_user(*, user, batch_id: int) -> PriceDiffBatch:
    pricediff_require_reader(user)
    return get_object_or_404(PriceDiffBatch.objects.select_related("uploaded_by", "decided_by"), pk=batch_id)


def approval_total_limit() -> Decimal:
    """Shop-wide: a batch refunding more than this in total needs a second person's approval."""
    return Decimal(str(settings.PRICEDIFF_APPROVAL_TOTAL))


# --- reading the file ---------------------------------------------------------------------------


@dataclass
class _Row:
    row_number: int
    order_number: str
    sku: str
    reason: str
    platform: str
    new_price: Decimal | None = None
    order_item_id: int | None = None
    amount: Decimal | None = None
    status: str = Row.VALID
    error: str = ""
    over_limit: bool = False

    def refuse(self, message: str, status: str = Row.INVALID) -> None:
        if self.status == Row.VALID:  # the first problem found is the one reported
            self.status, self.error = status, str(message)[:300]


class _BadCell(Exception):
    pass


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Excel keeps numbers as floats: 12.0 is "12"; order numbers past 15 digits are already
        # rounded by Excel, and come out in exponent form so _clean_code can say why.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _clean_code(text: str) -> str:
    """Order numbers and SKUs as people keep them away from Excel: ="123", '123 or a leading tab."""
    text = text.strip().lstrip("'")
    match = re.fullmatch(r'="(.*)"', text)
    return (match.group(1) if match else text).strip()


def _parse_price(text: str) -> Decimal:
    cleaned = text.strip().replace(",", "").lstrip("¥￥").removesuffix("元").strip()
    if not cleaned:
        raise _BadCell(_("The new price is missing."))
    try:
        price = Decimal(cleaned)
    except InvalidOperation:
        raise _BadCell(_("“%(value)s” is not a price.") % {"value": text[:50]}) from None
    if not price.is_finite():
        raise _BadCell(_("“%(value)s” is not a price.") % {"value": text[:50]})
    if price < 0:
        raise _BadCell(_("The new price cannot be negative."))
    if price > MAX_PRICE:
        raise _BadCell(_("“%(value)s” is too large for a price.") % {"value": text[:50]})
    if price != price.quantize(CENT):
        raise _BadCell(_("“%(value)s” has more than two decimals.") % {"value": text[:50]})
    return price.quantize(CENT)


def _csv_records(content: bytes) -> Iterator[list]:
    # Excel's "CSV UTF-8" starts with a BOM; plain "CSV" from a Chinese Excel is GBK (a subset of gb18030).
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is neither UTF-8 nor GBK text: save it as CSV or XLSX.")) from None
    if "\x00" in text:
        raise ValidationError(_("This is not a CSV or XLSX file."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as error:
        raise ValidationError(
            _("The CSV cannot be read near line %(line)d: %(error)s") % {"line": reader.line_num, "error": error}
        ) from None


def _xlsx_records(content: bytes) -> Iterator[list]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationError(_("The XLSX file cannot be opened: save it again from Excel, or as CSV.")) from None
    try:
        if not workbook.worksheets:
            raise ValidationError(_("The XLSX file has no sheet."))
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def _records(content: bytes) -> Iterator[list]:
    if content[:4] == b"PK\x03\x04":
        return _xlsx_records(content)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationError(_("Old Excel .xls files cannot be read: save it as .xlsx or CSV."))
    return _csv_records(content)


def _columns_of(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        field = _HEADER_ALIASES.get(_header_key(name))
        if field and field not in columns:
            columns[field] = index
    missing = [field for field in REQUIRED if field not in columns]
    if missing:
        raise ValidationError(
            _(
                "The first row must name the columns; missing: %(missing)s. Expected: order_number (订单号), "
                "sku (商品编码), new_price (新价格), and optionally reason (原因) and platform (平台)."
            )
            % {"missing": ", ".join(missing)}
        )
    return columns


def _cell(cells: list[str], columns: dict[str, int], field: str) -> str:
    index = columns.get(field)
    return cells[index] if index is not None and index < len(cells) else ""


def _read_rows(content: bytes) -> list[_Row]:
    """Every data row of the file; row_number is the spreadsheet's row (the header is row 1)."""
    columns: dict[str, int] | None = None
    rows: list[_Row] = []
    for row_number, record in enumerate(_records(content), start=1):
        cells = [_cell_text(value) for value in record]
        if not any(cells):
            continue  # blank lines (Excel leaves some at the end)
        if columns is None:
            columns = _columns_of(cells)
            continue
        if len(rows) >= MAX_ROWS:
            raise ValidationError(_("More than %(max)d rows: split the file.") % {"max": MAX_ROWS})
        platform = _cell(cells, columns, "platform")
        row = _Row(
            row_number=row_number,
            order_number=_clean_code(_cell(cells, columns, "order_number")),
            sku=_clean_code(_cell(cells, columns, "sku")),
            reason=_cell(cells, columns, "reason")[:300],
            platform=PLATFORM_NAMES.get(platform, platform.lower()),
        )
        if not row.order_number:
            row.refuse(_("The order number is missing."))
        elif re.fullmatch(r"[\d.]+[eE]\+?\d+", row.order_number):
            row.refuse(_("Excel turned order number %(value)s into a number and rounded it: format the column as "
                         "text and export again.") % {"value": row.order_number})
        if not row.sku:
            row.refuse(_("The SKU is missing."))
        try:
            row.new_price = _parse_price(_cell(cells, columns, "new_price"))
        except _BadCell as error:
            row.refuse(str(error))
        rows.append(row)
    if columns is None:
        raise ValidationError(_("The file is empty."))
    if not rows:
        raise ValidationError(_("The file has a header row but no data rows."))
    return rows


# --- validating in bulk -------------------------------------------------------------------------


def _chunks(values: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_size() -> int:
    # SQLite allows 999 parameters per query; PostgreSQL takes thousands easily.
    return min(5_000, (connection.features.max_query_params or 5_000) - 50)


def price_protection_days() -> int:
    return getattr(settings, "PRICE_PROTECTION_DAYS", 30)


def _validate(rows: list[_Row], *, actor, now: datetime) -> None:
    """Check every row against the database with queries per chunk of keys, never per row."""
    days = price_protection_days()
    window_start = now - timedelta(days=days)
    step = _in_size()

    orders_by_number: dict[str, list[dict]] = defaultdict(list)
    numbers = sorted({row.order_number[:64] for row in rows if row.status == Row.VALID})
    for chunk in _chunks(numbers, step):
        for order in Order.objects.filter(external_number__in=chunk).values(
            "id", "external_number", "platform", "placed_at", "status", "paid_amount"
        ):
            orders_by_number[order["external_number"]].append(order)

    orders = {order["id"]: order for found in orders_by_number.values() for order in found}
    lines: dict[tuple[int, str], list[dict]] = defaultdict(list)
    items: dict[int, dict] = {}
    order_paid: dict[int, Decimal] = defaultdict(Decimal)
    for chunk in _chunks(orders, step):
        for item in OrderItem.objects.filter(order_id__in=chunk).values(
            "id", "order_id", "product__sku", "unit_price", "quantity", "paid_amount"
        ):
            items[item["id"]] = item
            lines[(item["order_id"], item["product__sku"])].append(item)
            order_paid[item["order_id"]] += item["paid_amount"]

    # Pass 1: which order line each row means.
    first_row_of_item: dict[int, int] = {}
    for row in rows:
        if row.status != Row.VALID:
            continue
        found = orders_by_number.get(row.order_number, [])
        if row.platform:
            found = [order for order in found if order["platform"] == row.platform]
        if not found:
            row.refuse(_("Unknown order number %(number)s.") % {"number": row.order_number})
            continue
        if len(found) > 1:
            row.refuse(_("Order number %(number)s exists on several platforms: add a platform column.")
                       % {"number": row.order_number})
            continue
        order = found[0]
        if order["status"] == Order.Status.CANCELLED:
            row.refuse(_("The order is cancelled."))
            continue
        if order["placed_at"] < window_start:
            row.refuse(_("Ordered on %(date)s, outside the %(days)d-day price-protection window.")
                       % {"date": date_format(timezone.localtime(order["placed_at"]), "Y-m-d"), "days": days})
            continue
        matching = lines.get((order["id"], row.sku), [])
        if not matching:
            row.refuse(_("SKU %(sku)s is not on order %(number)s.") % {"sku": row.sku, "number": row.order_number})
            continue
        if len(matching) > 1:
            row.refuse(_("Order %(number)s has several lines with SKU %(sku)s: refund them one by one on a ticket.")
                       % {"sku": row.sku, "number": row.order_number})
            continue
        item_id = matching[0]["id"]
        row.order_item_id = item_id
        if item_id in first_row_of_item:
            row.refuse(_("The same order line is already in row %(row)d.") % {"row": first_row_of_item[item_id]})
            continue
        first_row_of_item[item_id] = row.row_number

    # What each order and line already gave back, and what earlier price drops refunded on each line.
    item_ids = sorted(first_row_of_item)
    order_ids = sorted({items[item_id]["order_id"] for item_id in item_ids})
    Through = Refund.items.through  # noqa: N806
    order_refunded: dict[int, Decimal] = {}
    item_refunded: dict[int, Decimal] = {}
    item_protected: dict[int, Decimal] = {}
    taken_keys: dict[str, int] = {}
    for chunk in _chunks(order_ids, step):
        order_refunded.update(
            Refund.objects.filter(order_id__in=chunk, status__in=COUNTING)
            .values_list("order_id").annotate(total=Sum("amount")).values_list("order_id", "total")
        )
    for chunk in _chunks(item_ids, step):
        counting = Through.objects.filter(orderitem_id__in=chunk, refund__status__in=COUNTING).values_list(
            "orderitem_id"
        )
        item_refunded.update(counting.annotate(total=Sum("refund__amount")).values_list("orderitem_id", "total"))
        item_protected.update(
            counting.filter(refund__kind=Refund.Kind.PRICE_DIFFERENCE)
            .annotate(total=Sum("refund__amount")).values_list("orderitem_id", "total")
        )
    keys = [dedupe_key(row.order_item_id, row.new_price) for row in rows if row.status == Row.VALID]
    for chunk in _chunks(keys, step):
        taken_keys.update(Refund.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", "id"))

    # Pass 2: the amount, by orders/money.py's rule (rows earlier in the file use up what is left first).
    used_by_order: dict[int, Decimal] = defaultdict(Decimal)
    used_by_item: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.status != Row.VALID:
            continue
        item = items[row.order_item_id]
        order = orders[item["order_id"]]
        refund_id = taken_keys.get(dedupe_key(item["id"], row.new_price))
        if refund_id is not None:
            row.refuse(_("Already refunded for this price drop (refund #%(id)d).") % {"id": refund_id}, Row.SKIPPED)
            continue
        owed = money.price_difference(
            paid_amount=item["paid_amount"],
            quantity=item["quantity"],
            new_price=row.new_price,
            protected_before=item_protected.get(item["id"], ZERO),
            left=money.line_left(
                paid=item["paid_amount"],
                refunded=item_refunded.get(item["id"], ZERO) + used_by_item[item["id"]],
                order_paid=order_paid.get(order["id"]) or order["paid_amount"],
                order_refunded=order_refunded.get(order["id"], ZERO) + used_by_order[order["id"]],
            ),
        )
        if owed.amount is None:
            row.refuse(owed.refusal)
            continue
        row.amount = owed.amount
        # Above the uploader's single-refund limit: kept, and the batch waits for a second person's approval.
        row.over_limit = not money.within_limit(actor, row.amount)
        used_by_item[item["id"]] += row.amount
        used_by_order[order["id"]] += row.amount


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
    rows = _read_rows(content)
    _validate(rows, actor=actor, now=now or timezone.now())
    try:
        return _batch_store(actor=actor, file_name=file_name, checksum=checksum, rows=rows), True
    except IntegrityError:
        # The same file was uploaded twice at the same moment: the first one's batch is the batch.
        return PriceDiffBatch.objects.get(file_sha256=checksum), False


@transaction.atomic
def _batch_store(*, actor, file_name: str, checksum: str, rows: list[_Row]) -> PriceDiffBatch:
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
    for chunk in _chunks(rows, PREVIEW_CHUNK):
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
    # SKIP LOCKED: parallel jobs (and a re-delivered task) take the next chunk, never this one. Two jobs
    # whose chunks share an order can deadlock on its row lock: PostgreSQL aborts one, its chunk rolls
    # back whole (OperationalError) and the task retries it.
    rows = list(
        PriceDiffRow.objects.select_for_update(skip_locked=True)
        .filter(batch_id=batch.pk, status=Row.VALID)
        .order_by("row_number")[:RUN_CHUNK]
    )
    if not rows:
        return 0
    items = OrderItem.objects.select_related("order").in_bulk([row.order_item_id for row in rows if row.order_item_id])
    keys = {row.pk: dedupe_key(row.order_item_id, row.new_price) for row in rows if row.order_item_id}
    taken = dict(Refund.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", "id"))
    refunded, refunded_amount = 0, Decimal("0")
    for row in rows:
        item = items.get(row.order_item_id)
        if item is None:
            row.status, row.error = Row.FAILED, _("The order line no longer exists.")
            continue
        key = keys[row.pk]
        if key in taken:
            row.status, row.refund_id = Row.SKIPPED, taken[key]
            row.error = _("Already refunded for this price drop (refund #%(id)d).") % {"id": taken[key]}
            continue
        try:
            # refund_request is atomic itself: a savepoint here, so a refused row rolls back alone.
            refund = refund_request(
                order=item.order,
                amount=row.amount,
                reason=(row.reason or _("Price protection: new price ¥%(price)s") % {"price": row.new_price})[:300],
                actor=batch.uploaded_by,
                items=[item],
                kind=Refund.Kind.PRICE_DIFFERENCE,
                approved_by=batch.decided_by,
                must_be_approved=True,
                dedupe_key=key,
            )
        except ValidationError as error:
            row.status, row.error = Row.FAILED, "; ".join(error.messages)[:300]
        except IntegrityError:
            # Another batch refunded this drop between our check and the insert (Refund.dedupe_key is unique).
            row.status, row.error = Row.SKIPPED, _("Already refunded for this price drop.")
        else:
            row.status, row.refund_id, row.error = Row.REFUNDED, refund.pk, ""
            refunded += 1
            refunded_amount += refund.amount
    # Batches of 100: one CASE over 500 rows costs PostgreSQL more to plan than five small ones.
    PriceDiffRow.objects.bulk_update(rows, ["status", "error", "refund"], batch_size=100)
    PriceDiffBatch.objects.filter(pk=batch.pk).update(
        processed_rows=F("processed_rows") + len(rows),
        refunded_rows=F("refunded_rows") + refunded,
        refunded_amount=F("refunded_amount") + refunded_amount,
    )
    return len(rows)


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


# --- reads --------------------------------------------------------------------------------------


def pricediff_batch_list():
    return PriceDiffBatch.objects.select_related("uploaded_by").order_by("-created_at", "-id")[:100]


def pricediff_batch_summary(batch: PriceDiffBatch) -> dict:
    """Counts per row status, the first problems and rows above the limit, and the batch's payment ticket
    (5 queries)."""
    counts = dict(
        PriceDiffRow.objects.filter(batch_id=batch.pk).values_list("status").annotate(n=Count("id"))
        .values_list("status", "n")
    )
    problems = list(
        PriceDiffRow.objects.filter(batch_id=batch.pk, status__in=PROBLEM_STATUSES).order_by("row_number")[
            :PROBLEMS_SHOWN
        ]
    )
    over_limit = list(
        PriceDiffRow.objects.filter(batch_id=batch.pk, over_limit=True).order_by("row_number")[:PROBLEMS_SHOWN]
    ) if batch.over_limit_rows else []
    return {
        "counts": [(label, counts.get(value, 0)) for value, label in Row.choices],
        "over_limit": over_limit,
        "problem_count": sum(counts.get(status, 0) for status in PROBLEM_STATUSES),
        "problems": problems,
        "ticket": pricediff_ticket_of(batch),
    }


def pricediff_batch_of_ticket(ticket: Ticket) -> PriceDiffBatch | None:
    """The batch a payment ticket belongs to (no query for any other ticket)."""
    if ticket.external_source != TICKET_SOURCE:
        return None
    return PriceDiffBatch.objects.filter(pk=int(ticket.external_id)).first()


def pricediff_ticket_of(batch: PriceDiffBatch) -> Ticket | None:
    return Ticket.objects.filter(external_source=TICKET_SOURCE, external_id=str(batch.pk)).first()


def pricediff_progress(batch: PriceDiffBatch) -> int:
    """Percent of the valid rows processed (for the progress bar)."""
    return 100 if not batch.valid_rows else min(100, batch.processed_rows * 100 // batch.valid_rows)


def _safe_cell(value) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ (or a tab/CR) is shown as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def pricediff_report_csv(batch: PriceDiffBatch, *, problems_only: bool = False) -> Iterator[bytes]:
    """Every row (or only those with a problem) as CSV in UTF-8 with a BOM, streamed in chunks."""
    writer = csv.writer(_Echo())
    labels = dict(Row.choices)
    yield "\ufeff".encode()
    yield writer.writerow([_("row"), _("order number"), _("SKU"), _("new price"), _("reason"), _("status"),
                           _("amount"), _("refund"), _("error")]).encode()
    rows = PriceDiffRow.objects.filter(batch_id=batch.pk).order_by("row_number")
    if problems_only:
        rows = rows.filter(status__in=PROBLEM_STATUSES)
    fields = ("row_number", "order_number", "sku", "new_price", "reason", "status", "amount", "refund_id", "error")
    for chunk in _chunks(rows.values_list(*fields).iterator(chunk_size=2_000), 1_000):
        yield "".join(
            writer.writerow([_safe_cell(value) for value in (
                number, order_number, sku, price, reason, labels.get(status, status), amount, refund_id, error
            )])
            for number, order_number, sku, price, reason, status, amount, refund_id, error in chunk
        ).encode()
