"""Cells a spreadsheet must not run: every CSV and XLSX the desk writes (reports, queue exports) goes
through these, so a customer's text starting with "=" or "+" is shown, never evaluated."""

from openpyxl.cell.cell import TYPE_STRING

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A CSV value that Excel reads as text when it would start a formula (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def keep_as_text(cell) -> None:
    """openpyxl stores any text starting with "=" as a formula; keep it text."""
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = TYPE_STRING
