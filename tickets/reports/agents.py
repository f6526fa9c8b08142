"""The per-agent report: tickets handled, median response and resolution hours, CSAT, reopens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, Sum
from django.utils.translation import gettext as _

from ..followup.models import SatisfactionSurvey
from .aggregates import HoursBetween, Percentile
from .base import CREATED_SCOPE, Column, Report, _chart, _round1, _tickets
from .periods import Period

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
