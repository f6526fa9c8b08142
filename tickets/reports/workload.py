"""Reports on the work coming in and its pace: volume, response and resolution times, SLA compliance."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from aftersales.timezone import shop_timezone
from customers.models import Platform

from ..models import Category, Channel, Priority, TicketType
from .aggregates import HoursBetween, Percentiles, percentiles_or_none
from .base import (
    CREATED_SCOPE,
    Column,
    Report,
    _chart,
    _choice_label,
    _largest_first,
    _pct,
    _round1,
    _sum_by_dimension,
    _tickets,
)
from .periods import Period

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
