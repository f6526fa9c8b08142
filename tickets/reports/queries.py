"""The supervisor reports: one function per report, every figure aggregated in the database.

Every report covers the tickets *created* in the period, except CSAT, which covers the surveys
*answered* in the period. Each report runs a fixed number of GROUP BY / aggregate queries whatever
the data size (pinned in tests/reports); Python only reshapes the few aggregated rows. Durations are
wall-clock hours (not business time), rounded to one decimal; percentages to one decimal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.timezone import shop_timezone
from customers.models import Platform
from orders.models import Product

from ..followup.models import SatisfactionSurvey
from ..models import Category, Channel, CloseOutcome, Priority, Responsibility, Status, Ticket, TicketType
from .aggregates import HoursBetween, Percentile, Percentiles, percentiles_or_none

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Sane calendar bounds: no desk has tickets outside them, and far dates break (year 1 minus a day
# overflows; before ~1900 zones have local-mean-time offsets like +08:05:43 that are not ISO 8601).
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
TOP_PRODUCTS = 20

CREATED_SCOPE = gettext_lazy("Tickets created in the period")
ANSWERED_SCOPE = gettext_lazy("Surveys answered in the period")

# Types where goods or money go back (退货退款, 换货, 仅退款, 补寄): the shop's return share.
RETURN_TYPES = (TicketType.RETURN_REFUND, TicketType.EXCHANGE, TicketType.REFUND_ONLY, TicketType.RESHIP)
# A ticket reopened loses resolved_at (tickets/workflow.py), so "ever resolved" also looks at the count.
EVER_RESOLVED = (
    Q(resolved_at__isnull=False)
    | Q(reopen_count__gt=0)
    | Q(status__in=[Status.RESOLVED, Status.CLOSED, Status.ARCHIVED])
)


# Period ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local dates `start`..`end`, both included; as instants [start_at, end_at) in the shop's zone."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> Period:
        today = today or timezone.localdate(timezone=shop_timezone())
        return cls(start=today - timedelta(days=days - 1), end=today)

    @classmethod
    def from_dates(cls, start: date | None = None, end: date | None = None) -> Period:
        """The period asked for; a missing end is today, a missing start is 30 days before the end.
        Raises ValidationError keyed by the query parameter (`from`, `to`) at fault."""
        out_of_range = {
            parameter: _("Give a date between %(earliest)s and %(latest)s.")
            % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
            for parameter, day in (("from", start), ("to", end))
            if day is not None and not EARLIEST <= day <= LATEST
        }
        if out_of_range:
            raise ValidationError(out_of_range, code="out_of_range")
        end = end or timezone.localdate(timezone=shop_timezone())
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise ValidationError({"to": _("The end date is before the start date.")}, code="reversed")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(
                {"to": _("A period can be at most %(max)d days long.") % {"max": MAX_DAYS}}, code="too_long"
            )
        return cls(start=start, end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=shop_timezone())

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight at the start of the day after `end` (23:59:59.999 on `end` still counts)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=shop_timezone())

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def as_query(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def as_dict(self) -> dict:
        return {
            **self.as_query(),
            "start": self.start_at,
            "end": self.end_at,
            "days": self.days,
            "time_zone": settings.TIME_ZONE,
        }


# What a report returns -----------------------------------------------------------------------------


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


# a. Volume -------------------------------------------------------------------------------------------


def volume(period: Period) -> Report:
    """Tickets by type, category, channel, platform and local day. 2 queries: one GROUP BY over the
    four dimensions together (a few thousand groups at most, summed per dimension here) instead of
    four scans of the period, and one per day."""
    tickets = _tickets(period)
    dimensions = [
        ("type", _("Type"), "type", TicketType),
        ("category", _("Category"), "category", Category),
        ("channel", _("Channel"), "channel", Channel),
        ("platform", _("Platform"), "customer__platform", Platform),
    ]
    field_names = [field_name for _k, _b, field_name, _c in dimensions]
    counts = _sum_by_dimension(tickets.values(*field_names).annotate(n=Count("id")), field_names, ["n"])
    per_day = dict(
        tickets.annotate(day=TruncDate("created_at", tzinfo=shop_timezone())).values_list("day").annotate(n=Count("id"))
    )
    total = sum(figures["n"] for figures in counts["type"].values())
    rows = [[_("All"), "total", _("All tickets"), total, _pct(total, total)]]
    for key, breakdown, field_name, choices in dimensions:
        for value, figures in _largest_first(counts[field_name], "n", choices):
            label = _choice_label(choices, value, _("Unclassified"))
            rows.append([breakdown, f"{key}:{value}", label, figures["n"], _pct(figures["n"], total)])
    days = period.dates()
    day_counts = [per_day.get(day, 0) for day in days]
    rows += [
        [_("Day"), f"day:{day.isoformat()}", day.isoformat(), n, _pct(n, total)]
        for day, n in zip(days, day_counts, strict=True)
    ]
    return Report(
        name="volume",
        title=_("Ticket volume"),
        scope=str(CREATED_SCOPE),
        columns=[
            Column("breakdown", _("Breakdown")),
            Column("key", _("Code")),
            Column("label", _("Value")),
            Column("tickets", _("Tickets"), "count"),
            Column("share_pct", _("Share (%)"), "percent"),
        ],
        rows=rows,
        chart=_chart("line", [d.isoformat() for d in days], [(_("Tickets per day"), day_counts)]),
    )


# b. Response times ---------------------------------------------------------------------------------


def _response_figures() -> dict:
    first_response = HoursBetween("first_response_at", "created_at")
    resolution = HoursBetween("resolved_at", "created_at")
    with_sla = Q(sla_policy__isnull=False)
    return {
        "tickets": Count("id"),
        "sla_tickets": Count("id", filter=with_sla),
        "fr_count": Count("first_response_at"),
        "fr_percentiles": Percentiles(first_response, (0.5, 0.9)),  # median and p90 from one sort
        "fr_met": Count("id", filter=with_sla & Q(first_response_breached=False)),
        "res_count": Count("resolved_at"),
        "res_percentiles": Percentiles(resolution, (0.5, 0.9)),
        "res_met": Count("id", filter=with_sla & Q(resolution_breached=False)),
    }


def response_times(period: Period) -> Report:
    """First response and resolution: count, median, p90 and % met against the SLA, overall and by
    priority. A ticket with an SLA policy meets a clock when that clock was not breached. 2 queries."""
    tickets = _tickets(period)
    overall = tickets.aggregate(**_response_figures())
    by_priority = {row["priority"]: row for row in tickets.values("priority").annotate(**_response_figures())}

    def row(key, label, f):
        fr_median, fr_p90 = percentiles_or_none(f["fr_percentiles"], 2)
        res_median, res_p90 = percentiles_or_none(f["res_percentiles"], 2)
        return [
            key, label, f["tickets"], f["sla_tickets"],
            f["fr_count"], _round1(fr_median), _round1(fr_p90), _pct(f["fr_met"], f["sla_tickets"]),
            f["res_count"], _round1(res_median), _round1(res_p90), _pct(f["res_met"], f["sla_tickets"]),
        ]

    empty = dict.fromkeys(_response_figures(), 0) | {"fr_percentiles": None, "res_percentiles": None}
    rows = [row("all", _("All priorities"), overall)]
    rows += [row(p.value, str(p.label), by_priority.get(p.value, empty)) for p in Priority]
    return Report(
        name="response_times",
        title=_("Response and resolution times"),
        scope=str(CREATED_SCOPE),
        columns=[
            Column("key", _("Priority")),
            Column("label", _("Label")),
            Column("tickets", _("Tickets"), "count"),
            Column("sla_tickets", _("With SLA"), "count"),
            Column("first_response_count", _("First responses"), "count"),
            Column("first_response_median_h", _("First response median (h)"), "hours"),
            Column("first_response_p90_h", _("First response p90 (h)"), "hours"),
            Column("first_response_sla_met_pct", _("First response SLA met (%)"), "percent"),
            Column("resolution_count", _("Resolved"), "count"),
            Column("resolution_median_h", _("Resolution median (h)"), "hours"),
            Column("resolution_p90_h", _("Resolution p90 (h)"), "hours"),
            Column("resolution_sla_met_pct", _("Resolution SLA met (%)"), "percent"),
        ],
        rows=rows,
        chart=_chart(
            "bar",
            [r[1] for r in rows],
            [
                (_("First response median (h)"), [r[5] for r in rows]),
                (_("Resolution median (h)"), [r[9] for r in rows]),
            ],
            unit="h",
        ),
    )


# c. SLA compliance ---------------------------------------------------------------------------------


def _sla_figures() -> dict:
    return {
        "sla_tickets": Count("id"),
        "fr_breached": Count("id", filter=Q(first_response_breached=True)),
        "res_breached": Count("id", filter=Q(resolution_breached=True)),
        "compliant": Count("id", filter=Q(first_response_breached=False, resolution_breached=False)),
    }


def sla(period: Period) -> Report:
    """SLA compliance of the tickets with an SLA policy: compliant when neither the first-response nor
    the resolution clock was breached. Overall, by type, by platform. 1 query: counts by (type,
    platform) together, summed here (counts add up; at most types x platforms groups)."""
    with_sla = _tickets(period).filter(sla_policy__isnull=False)
    groups = with_sla.values("type", "customer__platform").annotate(**_sla_figures())
    totals = _sum_by_dimension(groups, ["type", "customer__platform"], list(_sla_figures()))

    def row(breakdown, key, label, f):
        return [breakdown, key, label, f["sla_tickets"], f["fr_breached"], f["res_breached"], f["compliant"],
                _pct(f["compliant"], f["sla_tickets"])]

    overall = sum(totals["type"].values(), Counter())
    rows = [row(_("All"), "total", _("All tickets with an SLA"), overall)]
    for key, breakdown, field_name, choices in [
        ("type", _("Type"), "type", TicketType),
        ("platform", _("Platform"), "customer__platform", Platform),
    ]:
        for value, f in _largest_first(totals[field_name], "sla_tickets", choices):
            rows.append(row(breakdown, f"{key}:{value}", _choice_label(choices, value, _("Unclassified")), f))
    return Report(
        name="sla",
        title=_("SLA compliance"),
        scope=str(CREATED_SCOPE),
        columns=[
            Column("breakdown", _("Breakdown")),
            Column("key", _("Code")),
            Column("label", _("Value")),
            Column("sla_tickets", _("Tickets with SLA"), "count"),
            Column("first_response_breached", _("First response breached"), "count"),
            Column("resolution_breached", _("Resolution breached"), "count"),
            Column("compliant", _("Compliant"), "count"),
            Column("compliance_pct", _("Compliance (%)"), "percent"),
        ],
        rows=rows,
        chart=_chart(
            "bar",
            [f"{r[0]} · {r[2]}" for r in rows],
            [(_("Compliance (%)"), [r[7] for r in rows])],
            unit="%",
            horizontal=True,
        ),
    )


# d. Customer satisfaction --------------------------------------------------------------------------


def csat(period: Period) -> Report:
    """Surveys answered in the period: average score, count, 1..5 distribution, "not solved". 1 query."""
    surveys = SatisfactionSurvey.objects.filter(created_at__gte=period.start_at, created_at__lt=period.end_at)
    f = surveys.aggregate(
        answers=Count("id"),
        average=Avg("score"),
        unscored=Count("id", filter=Q(score__isnull=True)),
        not_solved=Count("id", filter=Q(solved=False)),
        **{f"score_{s}": Count("id", filter=Q(score=s)) for s in range(1, 6)},
    )
    answers = f["answers"]
    rows = [["all", _("All answers"), answers, _pct(answers, answers), _round1(f["average"])]]
    rows += [[f"score_{s}", f"{s} ★", f[f"score_{s}"], _pct(f[f"score_{s}"], answers), None] for s in range(1, 6)]
    rows.append(["no_score", _("No score given"), f["unscored"], _pct(f["unscored"], answers), None])
    rows.append(["not_solved", _("Not solved"), f["not_solved"], _pct(f["not_solved"], answers), None])
    return Report(
        name="csat",
        title=_("Customer satisfaction (CSAT)"),
        scope=str(ANSWERED_SCOPE),
        columns=[
            Column("key", _("Code")),
            Column("label", _("Answer")),
            Column("answers", _("Answers"), "count"),
            Column("share_pct", _("Share of answers (%)"), "percent"),
            Column("average_score", _("Average score (1–5)"), "score"),
        ],
        rows=rows,
        chart=_chart("bar", [r[1] for r in rows[1:6]], [(_("Answers"), [r[2] for r in rows[1:6]])]),
    )


# e. Reopens and close outcomes ----------------------------------------------------------------------


def reopens(period: Period) -> Report:
    """Reopen rate = tickets reopened at least once ÷ tickets ever resolved; how follow-ups ended
    (confirmed / rated / silent) as shares of the tickets closed with an outcome. 1 query."""
    f = _tickets(period).aggregate(
        ever_resolved=Count("id", filter=EVER_RESOLVED),
        reopened=Count("id", filter=Q(reopen_count__gt=0)),
        reopens=Sum("reopen_count", default=0),
        **{f"outcome_{o}": Count("id", filter=Q(close_outcome=o)) for o in CloseOutcome.values},
    )
    outcomes = [(o, f[f"outcome_{o}"]) for o in CloseOutcome]
    with_outcome = sum(n for _o, n in outcomes)
    rows = [
        ["ever_resolved", _("Tickets ever resolved"), f["ever_resolved"], None],
        ["reopened", _("Reopened at least once (reopen rate)"), f["reopened"], _pct(f["reopened"], f["ever_resolved"])],
        ["reopens", _("Reopens in total"), f["reopens"], None],
        ["closed_with_outcome", _("Closed after follow-up"), with_outcome, _pct(with_outcome, with_outcome)],
    ]
    rows += [[f"outcome_{o.value}", str(o.label), n, _pct(n, with_outcome)] for o, n in outcomes]
    return Report(
        name="reopens",
        title=_("Reopens and follow-up outcomes"),
        scope=str(CREATED_SCOPE),
        columns=_count_share_columns(_("Code"), _("Figure")),
        rows=rows,
        chart=_chart("doughnut", [str(o.label) for o, _n in outcomes], [(_("Tickets"), [n for _o, n in outcomes])]),
    )


# f. Returns -------------------------------------------------------------------------------------------


def returns(period: Period) -> Report:
    """Share of return/refund, exchange, refund-only and reship tickets among all tickets. 1 query."""
    f = _tickets(period).aggregate(
        total=Count("id"), **{t.value: Count("id", filter=Q(type=t)) for t in RETURN_TYPES}
    )
    total = f["total"]
    returned = sum(f[t.value] for t in RETURN_TYPES)
    rows = [["all", _("All tickets"), total, _pct(total, total)]]
    rows += [[t.value, str(t.label), f[t.value], _pct(f[t.value], total)] for t in RETURN_TYPES]
    rows.append(["returns", _("Returns, refunds, exchanges and reships"), returned, _pct(returned, total)])
    return Report(
        name="returns",
        title=_("Returns and refunds"),
        scope=str(CREATED_SCOPE),
        columns=_count_share_columns(_("Type"), _("Label")),
        rows=rows,
        chart=_chart(
            "doughnut",
            [*(t.label for t in RETURN_TYPES), _("Other tickets")],
            [(_("Tickets"), [*(f[t.value] for t in RETURN_TYPES), total - returned])],
        ),
    )


# g. Product defects ---------------------------------------------------------------------------------


def defects(period: Period) -> Report:
    """The products named (affected items) on the most product-quality tickets, top 20, with their
    share of all quality tickets (a ticket naming two products counts for both; two lines of the
    same product count once). 3 queries."""
    quality = _tickets(period).filter(category=Category.PRODUCT_QUALITY)
    total = quality.count()
    # Grouped by the product id alone (a narrow sort for COUNT(DISTINCT)); SKU and name come after.
    top = list(
        Ticket.affected_items.through.objects.filter(ticket__in=quality)
        .values("orderitem__product_id")
        .annotate(tickets=Count("ticket_id", distinct=True))
        .order_by("-tickets", "orderitem__product_id")[:TOP_PRODUCTS]
    )
    products = Product.objects.in_bulk([p["orderitem__product_id"] for p in top])
    ranked = sorted(
        ((products[p["orderitem__product_id"]], p["tickets"]) for p in top), key=lambda pt: (-pt[1], pt[0].sku)
    )
    rows = [["", _("All product-quality tickets"), total, _pct(total, total)]]
    rows += [[product.sku, product.name, n, _pct(n, total)] for product, n in ranked]
    return Report(
        name="defects",
        title=_("Product defects (top 20)"),
        scope=str(CREATED_SCOPE),
        columns=_count_share_columns(_("SKU"), _("Product")),
        rows=rows,
        chart=_chart(
            "bar", [f"{r[0]} {r[1]}" for r in rows[1:]], [(_("Quality tickets"), [r[2] for r in rows[1:]])],
            horizontal=True,
        ),
    )


# h. Responsibility --------------------------------------------------------------------------------


def responsibility(period: Period) -> Report:
    """Who caused the problem (责任方): counts and shares. 1 query."""
    counts = dict(_tickets(period).values_list("responsibility").annotate(n=Count("id")))
    total = sum(counts.values())
    rows = [["all", _("All tickets"), total, _pct(total, total)]]
    rows += [[r.value, str(r.label), counts.get(r.value, 0), _pct(counts.get(r.value, 0), total)]
             for r in Responsibility]
    return Report(
        name="responsibility",
        title=_("Responsibility"),
        scope=str(CREATED_SCOPE),
        columns=_count_share_columns(_("Code"), _("Responsibility")),
        rows=rows,
        chart=_chart("doughnut", [r[1] for r in rows[1:]], [(_("Tickets"), [r[2] for r in rows[1:]])]),
    )


# i. Agents ----------------------------------------------------------------------------------------


def agents(period: Period) -> Report:
    """Per assignee, over the tickets created in the period: handled (resolved), median first response
    and resolution hours, CSAT of the surveys on those tickets, reopens. 3 queries."""
    tickets = _tickets(period).filter(assignee__isnull=False)
    # Grouped by the id alone: the medians need the period's rows sorted by the group key, and a
    # narrow integer key sorts far faster than (id, username, names); the names come separately.
    per_agent = list(
        tickets.values("assignee_id").annotate(
            tickets=Count("id"),
            handled=Count("id", filter=Q(resolved_at__isnull=False)),
            fr_median=Percentile(HoursBetween("first_response_at", "created_at"), 0.5),
            res_median=Percentile(HoursBetween("resolved_at", "created_at"), 0.5),
            reopens=Sum("reopen_count", default=0),
        )
    )
    # Surveys on their own: joined to the tickets above they would repeat tickets in the medians.
    satisfaction = {
        row["ticket__assignee_id"]: row
        for row in SatisfactionSurvey.objects.filter(
            ticket__created_at__gte=period.start_at, ticket__created_at__lt=period.end_at,
            ticket__assignee__isnull=False,
        )
        .order_by()
        .values("ticket__assignee_id")
        .annotate(average=Avg("score"), surveys=Count("id"))
    }
    people = {
        person["pk"]: person
        for person in get_user_model().objects.filter(pk__in=[a["assignee_id"] for a in per_agent])
        .values("pk", "username", "first_name", "last_name")
    }
    rows = []
    for a in per_agent:
        person = people[a["assignee_id"]]
        survey = satisfaction.get(a["assignee_id"], {"average": None, "surveys": 0})
        name = f"{person['first_name']} {person['last_name']}".strip() or person["username"]
        rows.append([
            person["username"], name, a["tickets"], a["handled"], _round1(a["fr_median"]),
            _round1(a["res_median"]), _round1(survey["average"]), survey["surveys"], a["reopens"],
        ])
    rows.sort(key=lambda r: (-r[3], r[0]))  # most handled first (one row per agent)
    return Report(
        name="agents",
        title=_("Agents"),
        scope=str(CREATED_SCOPE),
        columns=[
            Column("key", _("Username")),
            Column("label", _("Agent")),
            Column("tickets", _("Tickets assigned"), "count"),
            Column("handled", _("Handled (resolved)"), "count"),
            Column("first_response_median_h", _("First response median (h)"), "hours"),
            Column("resolution_median_h", _("Resolution median (h)"), "hours"),
            Column("csat_average", _("CSAT average"), "score"),
            Column("surveys", _("Surveys"), "count"),
            Column("reopens", _("Reopens"), "count"),
        ],
        rows=rows,
        chart=_chart("bar", [r[1] for r in rows], [(_("Handled (resolved)"), [r[3] for r in rows])]),
    )


# The catalogue, in page order ------------------------------------------------------------------------

REPORTS: dict[str, Callable[[Period], Report]] = {
    "volume": volume,
    "response_times": response_times,
    "sla": sla,
    "csat": csat,
    "reopens": reopens,
    "returns": returns,
    "defects": defects,
    "responsibility": responsibility,
    "agents": agents,
}


def report_run(name: str, period: Period) -> Report:
    return REPORTS[name](period)


def reports_run_all(period: Period) -> list[Report]:
    return [build(period) for build in REPORTS.values()]
