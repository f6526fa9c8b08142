"""Reading batches: the list, a summary, progress, the row-by-row report."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import Count
from django.utils.translation import gettext as _

from ..models import Ticket
from .models import TICKET_SOURCE, PriceDiffBatch, PriceDiffRow
from .upload import PROBLEM_STATUSES, PROBLEMS_SHOWN, chunks

Row = PriceDiffRow.Status
BatchStatus = PriceDiffBatch.Status


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
    for chunk in chunks(rows.values_list(*fields).iterator(chunk_size=2_000), 1_000):
        yield "".join(
            writer.writerow([_safe_cell(value) for value in (
                number, order_number, sku, price, reason, labels.get(status, status), amount, refund_id, error
            )])
            for number, order_number, sku, price, reason, status, amount, refund_id, error in chunk
        ).encode()
