"""Reports as files: CSV for one report, XLSX for one or all (one sheet each).

CSV is UTF-8 with a byte-order mark so Excel reads Chinese correctly. Text a spreadsheet would run
as a formula (= + - @, and tab / carriage return that some importers strip first) is prefixed with
an apostrophe in CSV (OWASP "CSV injection"); in XLSX the cell is stored as text, never a formula.
"""

import csv
import io
import re

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING
from openpyxl.styles import Font

from aftersales.spreadsheets import csv_safe, keep_as_text

from .base import Report
from .periods import Period

SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31
DECIMAL_KINDS = {"percent", "hours", "score"}


def report_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(column.label) for column in report.columns])
    writer.writerows([csv_safe(value) for value in row] for row in report.rows)
    return buffer.getvalue().encode("utf-8")


def reports_xlsx(reports: list[Report], period: Period) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = _("After-sales reports %(start)s – %(end)s") % {
        "start": period.start.isoformat(), "end": period.end.isoformat(),
    }
    used: set[str] = set()
    for report in reports:
        _write_sheet(workbook.create_sheet(_sheet_name(report.title, used)), report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(name: str, period: Period, extension: str) -> str:
    return f"{name}_{period.start.isoformat()}_{period.end.isoformat()}.{extension}"


def _write_sheet(sheet, report: Report) -> None:
    sheet.append([column.label for column in report.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows:
        sheet.append([_xlsx_value(value) for value in row])
    for cells in sheet.iter_rows(min_row=2):
        for cell, column in zip(cells, report.columns, strict=False):
            keep_as_text(cell)
            if column.kind in DECIMAL_KINDS and cell.data_type != TYPE_STRING:
                cell.number_format = "0.0"
    sheet.freeze_panes = "A2"
    for index, column in enumerate(report.columns, start=1):
        width = max([len(str(column.label)), *(len(str(row[index - 1] or "")) for row in report.rows[:200])])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(max(width + 2, 8), 50)


def _xlsx_value(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _sheet_name(title: str, used: set[str]) -> str:
    base = SHEET_NAME_FORBIDDEN.sub(" ", str(title)).strip()[:SHEET_NAME_MAX] or str(_("Report"))
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name
