"""A queue (tab, filters, search and sort, every page of it) as a file: CSV streamed, XLSX written by
openpyxl's write-only workbook.

The tickets are read as the queue lists them: the ordered ids first (one query, bounded by
QUEUE_EXPORT_MAX_ROWS: a bigger selection is refused by the caller, never cut short), then the rows in
chunks with their customer, order and assignee (one query per chunk, none per row). The customer is
shown as `customer_contact_for` gives it to whoever exports; times are the shop's. Cells a spreadsheet
would run as a formula are kept text (OWASP "CSV injection").
"""

import csv
import tempfile
from collections.abc import Iterator
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from aftersales.spreadsheets import csv_safe, keep_as_text
from aftersales.timezone import shop_timezone

from .models import Ticket
from .policies import customer_contact_for
from .selectors import ticket_list

CHUNK_SIZE = 500  # ids per query (well under SQLite's bound variables)
TIME_FORMAT = "%Y-%m-%d %H:%M"


def export_headers() -> list[str]:
    return [_("Number"), _("Status"), _("Type"), _("Category"), _("Priority"), _("Risk"), _("SLA state"),
            _("SLA due (shop time)"), _("Platform"), _("Order number"), _("Customer"), _("Assignee"),
            _("Created (shop time)"), _("Updated (shop time)")]


def export_rows(ids: list[int], *, user, using: str = DEFAULT_DB_ALIAS) -> Iterator[list]:
    """One list of cells per ticket, in the order of `ids`, read from the database `using`; times as naive
    datetimes of the shop's zone."""
    zone = shop_timezone()

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start:start + CHUNK_SIZE]
        rows = ticket_list(Ticket.objects.using(using).filter(pk__in=chunk)).order_by().in_bulk()
        for pk in chunk:
            ticket = rows.get(pk)
            if ticket is None:  # gone between the two reads
                continue
            assignee = ticket.assignee
            yield [
                ticket.number or f"#{ticket.pk}",
                ticket.get_status_display(),
                ticket.get_type_display() if ticket.type else "",
                ticket.get_category_display() if ticket.category else "",
                ticket.get_priority_display(),
                ticket.get_risk_level_display(),
                ticket.get_sla_state_display(),
                local(ticket.sla_next_due_at),
                ticket.customer.get_platform_display(),
                ticket.order.external_number if ticket.order_id else "",
                customer_contact_for(user, ticket.customer)["name"],
                (assignee.get_full_name() or assignee.username) if assignee else "",
                local(ticket.created_at),
                local(ticket.updated_at),
            ]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    return csv_safe(str(value))


class _Echo:
    """csv.writer's file: hands each written line back instead of keeping it."""

    def write(self, value):
        return value


def queue_csv(ids: list[int], *, user, using: str = DEFAULT_DB_ALIAS) -> Iterator[bytes]:
    """The export as CSV in UTF-8 with a byte-order mark (Excel then reads Chinese correctly), yielded a
    chunk at a time. Read in the language of the request that asked for it (streaming runs after the view)."""
    language = translation.get_language()
    writer = csv.writer(_Echo())
    with translation.override(language):
        yield ("\ufeff" + writer.writerow(export_headers())).encode()
        batch: list[str] = []
        for row in export_rows(ids, user=user, using=using):
            batch.append(writer.writerow([_text(value) for value in row]))
            if len(batch) >= CHUNK_SIZE:
                yield "".join(batch).encode()
                batch = []
        if batch:
            yield "".join(batch).encode()


def queue_xlsx(ids: list[int], *, user, using: str = DEFAULT_DB_ALIAS) -> tempfile.SpooledTemporaryFile:
    """The export as an XLSX workbook in a temporary file (rewound), written row by row in openpyxl's
    write-only mode so a large export does not hold every cell in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Queue export"))
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, header, bold=True) for header in export_headers()])
    for row in export_rows(ids, user=user, using=using):
        sheet.append([_cell(sheet, value) for value in row])
    file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    workbook.save(file)
    file.seek(0)
    return file


def _cell(sheet, value, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    keep_as_text(cell)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    if bold:
        cell.font = Font(bold=True)
    return cell


def export_filename(queue: str, extension: str, *, now: datetime) -> str:
    return f"tickets_{queue}_{now.astimezone(shop_timezone()):%Y%m%d_%H%M}.{extension}"

