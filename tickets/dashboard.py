"""Supervisor dashboard figures, aggregated in the database (constant queries, no loops over tickets)."""

from datetime import timedelta

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import OPEN_STATUSES, RiskLevel, SLAState, Status, Ticket, TicketEvent, TicketType
from .selectors import ticket_list

LIST_LIMIT = 20


def dashboard_figures(*, days: int = 14) -> dict:
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    open_tickets = Ticket.objects.open()
    by_status = dict(open_tickets.values_list("status").annotate(n=Count("id")))
    workload = list(
        open_tickets.filter(assignee__isnull=False)
        .values("assignee", "assignee__username")
        .annotate(
            open=Count("id"),
            breached=Count("id", filter=Q(sla_state=SLAState.BREACHED)),
            high_risk=Count("id", filter=Q(risk_level=RiskLevel.HIGH)),
        )
        .order_by("-open", "assignee__username")
    )
    today_counts = Ticket.objects.aggregate(
        intake=Count("id", filter=Q(created_at__gte=today)),
        resolved=Count("id", filter=Q(resolved_at__gte=today)),
    )
    volume = list(
        Ticket.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "type")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    first_response = list(
        Ticket.objects.filter(created_at__gte=since, first_response_at__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(avg=Avg(F("first_response_at") - F("created_at")))
        .order_by("day")
    )
    breaches = dict(
        TicketEvent.objects.filter(action="sla_breached", created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    day_labels = [(since + timedelta(days=i)).date() for i in range(days)]
    return {
        "by_status": [(Status(s).label, by_status.get(s, 0), s) for s in OPEN_STATUSES],
        "open_total": sum(by_status.values()),
        "workload": workload,
        "today": today_counts,
        "at_risk": ticket_list(open_tickets.filter(sla_state=SLAState.WARNING)).order_by("sla_next_check_at")[
            :LIST_LIMIT
        ],
        "breached": ticket_list(open_tickets.filter(sla_state=SLAState.BREACHED)).order_by(
            "-escalation_level", "created_at"
        )[:LIST_LIMIT],
        "escalated_or_high_risk": ticket_list(
            open_tickets.filter(Q(escalation_level__gt=0) | Q(risk_level=RiskLevel.HIGH))
        ).order_by("-escalation_level", "-created_at")[:LIST_LIMIT],
        "chart": {
            "days": [d.isoformat() for d in day_labels],
            "volume": _series_by_type(volume, day_labels),
            "first_response_hours": [
                _hours(next((r["avg"] for r in first_response if r["day"] == d), None)) for d in day_labels
            ],
            "breaches": [breaches.get(d, 0) for d in day_labels],
        },
    }


def _series_by_type(rows, days) -> dict[str, list[int]]:
    series: dict[str, list[int]] = {}
    index = {d: i for i, d in enumerate(days)}
    for row in rows:
        if row["day"] in index:
            label = str(TicketType(row["type"]).label) if row["type"] else str(_("Unclassified"))
            series.setdefault(label, [0] * len(days))[index[row["day"]]] += row["n"]
    return series


def _hours(value) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value) / 1_000_000
    return round(seconds / 3600, 1)
