"""What a report returns (Report, Column) and the helpers the report builders share.

Durations are wall-clock hours (not business time), rounded to one decimal; percentages to one decimal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Ticket
from .periods import Period

CREATED_SCOPE = gettext_lazy("Tickets created in the period")
ANSWERED_SCOPE = gettext_lazy("Surveys answered in the period")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | count | percent | hours | score: what the number is (units, export format)


@dataclass
class Report:
    name: str
    title: str
    scope: str
    columns: list[Column]
    rows: list[list]  # plain values (str, int, float, None), one list per row, in column order
    chart: dict = field(default_factory=dict)  # for static/js/reports.js: type, labels, datasets, unit
    # (term, definition) pairs written under the heading: how each figure is counted, in the reader's language.
    definitions: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "scope": self.scope,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
        }


def _pct(part, whole) -> float | None:
    if not whole:
        return None
    return _round1(100 * part / whole)


def _round1(value) -> float | None:
    """Half up to one decimal, the same on both databases (SQLite's julianday is a hair off exact)."""
    if value is None:
        return None
    return float(Decimal(repr(round(float(value), 6))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _choice_label(choices, value, blank: str) -> str:
    if not value:
        return blank
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)  # a code no longer among the choices: show it as stored


def _tickets(period: Period) -> QuerySet[Ticket]:
    # order_by(): no default ordering columns sneaking into the GROUP BY.
    return Ticket.objects.filter(created_at__gte=period.start_at, created_at__lt=period.end_at).order_by()


def _chart(kind: str, labels, datasets: list[tuple[str, list]], *, unit: str = "", horizontal: bool = False) -> dict:
    return {
        "type": kind,
        "labels": [str(label) for label in labels],
        "datasets": [{"label": str(label), "data": data} for label, data in datasets],
        "unit": unit,
        "horizontal": horizontal,
    }


def _count_share_columns(first: str, second: str) -> list[Column]:
    return [
        Column("key", first),
        Column("label", second),
        Column("tickets", _("Tickets"), "count"),
        Column("share_pct", _("Share (%)"), "percent"),
    ]


def _sum_by_dimension(groups, field_names: list[str], figures: list[str]) -> dict[str, dict]:
    """Rows grouped by several dimensions at once (one query) summed per dimension: counts add up.
    {field_name: {value: Counter(figure=n)}}."""
    totals: dict[str, dict] = {name: {} for name in field_names}
    for group in groups:
        for name in field_names:
            totals[name].setdefault(group[name], Counter()).update({k: group[k] for k in figures})
    return totals


def _largest_first(totals: dict, figure: str, choices) -> list:
    """Largest first; ties in the order the choices are declared, unknown values last."""
    order = {value: i for i, value in enumerate(choices.values)}
    return sorted(totals.items(), key=lambda kv: (-kv[1][figure], order.get(kv[0], len(order))))
