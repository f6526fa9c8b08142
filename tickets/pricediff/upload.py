"""Reading an uploaded price-difference file (CSV or XLSX) and checking every row in bulk: a few
queries per few thousand rows, none per row. Nothing here pays."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from orders import money
from orders.models import Order, OrderItem, Refund
from orders.money import COUNTING, ZERO

from .models import PriceDiffBatch, PriceDiffRow

Row = PriceDiffRow.Status
BatchStatus = PriceDiffBatch.Status


PREVIEW_CHUNK = 5_000  # rows per bulk insert in the preview
MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
PROBLEMS_SHOWN = 200
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
PLATFORM_NAMES = {"淘宝": "taobao", "天猫": "tmall", "京东": "jd", "抖音": "douyin", "拼多多": "pinduoduo"}


def _header_key(name) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


_HEADER_ALIASES = {_header_key(alias): field for field, aliases in COLUMNS.items() for alias in aliases}


def dedupe_key(order_item_id: int, new_price: Decimal) -> str:
    """One refund per order line and price drop (Refund.dedupe_key is unique)."""
    return f"pricediff:{order_item_id}:{new_price.quantize(CENT)}"


# --- reading the file ---------------------------------------------------------------------------


@dataclass
class UploadRow:
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


def read_rows(content: bytes) -> list[UploadRow]:
    """Every data row of the file; row_number is the spreadsheet's row (the header is row 1)."""
    columns: dict[str, int] | None = None
    rows: list[UploadRow] = []
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
        row = UploadRow(
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


def chunks(values: Iterable, size: int) -> Iterator[list]:
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


@dataclass
class _Lines:
    """The orders and order lines a file names, read in chunks of keys."""

    orders_by_number: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    orders: dict[int, dict] = field(default_factory=dict)
    lines: dict[tuple[int, str], list[dict]] = field(default_factory=lambda: defaultdict(list))
    items: dict[int, dict] = field(default_factory=dict)
    order_paid: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


@dataclass
class _Refunded:
    """What each order and line already gave back, what earlier price drops refunded on each line, and the
    dedupe keys already used."""

    by_order: dict[int, Decimal] = field(default_factory=dict)
    by_item: dict[int, Decimal] = field(default_factory=dict)
    protected: dict[int, Decimal] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)


def validate_rows(rows: list[UploadRow], *, actor, now: datetime) -> None:
    """Check every row against the database with queries per chunk of keys, never per row."""
    step = _in_size()
    found = _lines_of(rows, step)
    matched = _match_lines(rows, found, now=now)
    _price_rows(rows, found, _refunded_before(rows, found, matched, step), actor=actor)


def _lines_of(rows: list[UploadRow], step: int) -> _Lines:
    found = _Lines()
    numbers = sorted({row.order_number[:64] for row in rows if row.status == Row.VALID})
    for chunk in chunks(numbers, step):
        for order in Order.objects.filter(external_number__in=chunk).values(
            "id", "external_number", "platform", "placed_at", "status", "paid_amount"
        ):
            found.orders_by_number[order["external_number"]].append(order)
    found.orders = {order["id"]: order for same in found.orders_by_number.values() for order in same}
    for chunk in chunks(found.orders, step):
        for item in OrderItem.objects.filter(order_id__in=chunk).values(
            "id", "order_id", "product__sku", "unit_price", "quantity", "paid_amount"
        ):
            found.items[item["id"]] = item
            found.lines[(item["order_id"], item["product__sku"])].append(item)
            found.order_paid[item["order_id"]] += item["paid_amount"]
    return found


def _match_lines(rows: list[UploadRow], found: _Lines, *, now: datetime) -> list[int]:
    """Pass 1: which order line each row means; refuses the rows that name none, or one twice. Returns
    the matched lines."""
    days = price_protection_days()
    window_start = now - timedelta(days=days)
    first_row_of_item: dict[int, int] = {}
    for row in rows:
        if row.status != Row.VALID:
            continue
        orders = found.orders_by_number.get(row.order_number, [])
        if row.platform:
            orders = [order for order in orders if order["platform"] == row.platform]
        if not orders:
            row.refuse(_("Unknown order number %(number)s.") % {"number": row.order_number})
            continue
        if len(orders) > 1:
            row.refuse(_("Order number %(number)s exists on several platforms: add a platform column.")
                       % {"number": row.order_number})
            continue
        order = orders[0]
        if order["status"] == Order.Status.CANCELLED:
            row.refuse(_("The order is cancelled."))
            continue
        if order["placed_at"] < window_start:
            row.refuse(_("Ordered on %(date)s, outside the %(days)d-day price-protection window.")
                       % {"date": date_format(timezone.localtime(order["placed_at"]), "Y-m-d"), "days": days})
            continue
        matching = found.lines.get((order["id"], row.sku), [])
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
    return sorted(first_row_of_item)


def _refunded_before(rows: list[UploadRow], found: _Lines, item_ids: list[int], step: int) -> _Refunded:
    refunded = _Refunded()
    order_ids = sorted({found.items[item_id]["order_id"] for item_id in item_ids})
    Through = Refund.items.through  # noqa: N806
    for chunk in chunks(order_ids, step):
        refunded.by_order.update(
            Refund.objects.filter(order_id__in=chunk, status__in=COUNTING)
            .values_list("order_id").annotate(total=Sum("amount")).values_list("order_id", "total")
        )
    for chunk in chunks(item_ids, step):
        counting = Through.objects.filter(orderitem_id__in=chunk, refund__status__in=COUNTING).values_list(
            "orderitem_id"
        )
        refunded.by_item.update(counting.annotate(total=Sum("refund__amount")).values_list("orderitem_id", "total"))
        refunded.protected.update(
            counting.filter(refund__kind=Refund.Kind.PRICE_DIFFERENCE)
            .annotate(total=Sum("refund__amount")).values_list("orderitem_id", "total")
        )
    keys = [dedupe_key(row.order_item_id, row.new_price) for row in rows if row.status == Row.VALID]
    for chunk in chunks(keys, step):
        refunded.keys.update(Refund.objects.filter(dedupe_key__in=chunk).values_list("dedupe_key", "id"))
    return refunded


def _price_rows(rows: list[UploadRow], found: _Lines, refunded: _Refunded, *, actor) -> None:
    """Pass 2: the amount, by orders/money.py's rule (rows earlier in the file use up what is left first)."""
    used_by_order: dict[int, Decimal] = defaultdict(Decimal)
    used_by_item: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.status != Row.VALID:
            continue
        item = found.items[row.order_item_id]
        order = found.orders[item["order_id"]]
        refund_id = refunded.keys.get(dedupe_key(item["id"], row.new_price))
        if refund_id is not None:
            row.refuse(_("Already refunded for this price drop (refund #%(id)d).") % {"id": refund_id}, Row.SKIPPED)
            continue
        owed = money.price_difference(
            paid_amount=item["paid_amount"],
            quantity=item["quantity"],
            new_price=row.new_price,
            protected_before=refunded.protected.get(item["id"], ZERO),
            left=money.line_left(
                paid=item["paid_amount"],
                refunded=refunded.by_item.get(item["id"], ZERO) + used_by_item[item["id"]],
                order_paid=found.order_paid.get(order["id"]) or order["paid_amount"],
                order_refunded=refunded.by_order.get(order["id"], ZERO) + used_by_order[order["id"]],
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
