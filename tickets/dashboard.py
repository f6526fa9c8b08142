"""Supervisor dashboard figures, aggregated in the database (constant queries, no loops over tickets).

Live figures (open by status, workload, at risk, breached, today's intake) read only open tickets or today's
rows through the partial indexes on Ticket (tickets/models/ticket.py); the pass over open tickets is shared
by every supervisor's page for one state of the desk (live.desk_shared: never older than the page that shows
it). The 14-day charts read ~100k rows at
big-promo rates and need not be to the second: they are cached for CHART_CACHE_SECONDS and the page says
when they were computed.
"""

import logging
from datetime import datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.db_router import replica_reads

from .live import desk_shared
from .models import OPEN_STATUSES, RiskLevel, SLAState, Status, Ticket, TicketEvent, TicketType
from .selectors import ticket_rows

logger = logging.getLogger(__name__)

LIST_LIMIT = 20
# The complete lists behind the breached and at-risk cards: the queue's "all open" tab filtered to the same
# SLA state, so its count is the card's. Breached reads newest breach first (the one just missed is the one
# still worth saving); at risk the soonest due first, as the card does.
BREACHED_LIST = {"queue": "open", "sla_state": SLAState.BREACHED.value, "ordering": "-sla_due_at"}
AT_RISK_LIST = {"queue": "open", "sla_state": SLAState.WARNING.value, "ordering": "sla_next_check_at"}
CHART_CACHE_SECONDS = 60
CHART_CACHE_VERSION = 1  # bump when the cached shape changes


def dashboard_figures(*, days: int = 14, stamp: str = "") -> dict:
    """`stamp`: the desk's change stamp read before (tickets/live.py): the open tickets' figures are those of
    exactly that state of the desk, shared by every supervisor's page (desk_shared)."""
    today = timezone.localdate()
    start_of_today = _local_midnight(today)
    open_tickets = Ticket.objects.open()
    by_status, workload, totals = _open_figures(open_tickets, stamp)
    charts = _charts(today, days)
    return {
        "by_status": [(Status(s).label, by_status.get(s, 0), s) for s in OPEN_STATUSES],
        "open_total": sum(by_status.values()),
        "breached_total": totals["breached"],
        "at_risk_total": totals["at_risk"],
        "workload": workload,
        # Two range reads on indexed columns (created_at, partial resolved_at), not one pass over every ticket.
        "today": {
            "intake": Ticket.objects.filter(created_at__gte=start_of_today).count(),
            "resolved": Ticket.objects.filter(resolved_at__gte=start_of_today).count(),
        },
        # Each list walks a partial index in the list's order and stops at LIST_LIMIT: breached and escalated
        # their own (ticket_open_breached/escalated_idx), at risk its own by due time (ticket_open_warning_due_idx,
        # the order of the queue sorted "SLA due soonest"). Read here, not when the template first looks at them.
        "at_risk": ticket_rows(open_tickets.filter(sla_state=SLAState.WARNING).due_soonest()[:LIST_LIMIT]),
        "breached": ticket_rows(open_tickets.filter(sla_state=SLAState.BREACHED).order_by(
            "-escalation_level", "created_at"
        )[:LIST_LIMIT]),
        "escalated_or_high_risk": ticket_rows(
            open_tickets.filter(Q(escalation_level__gt=0) | Q(risk_level=RiskLevel.HIGH))
            .order_by("-escalation_level", "-created_at")[:LIST_LIMIT]
        ),
        "chart": {
            "days": charts["days"],
            # Labels are translated per request: the cache holds type codes, shared by every language.
            "volume": {_type_label(code): values for code, values in charts["volume"].items()},
            "first_response_hours": charts["first_response_hours"],
            "breaches": charts["breaches"],
        },
        "chart_updated_at": charts["computed_at"],
    }


def _open_figures(open_tickets, stamp: str = "") -> tuple[dict, list[dict], dict]:
    """One pass over open tickets (ticket_open_dash_idx covers every column read), grouped by status and
    assignee; the by-status counts, the workload table and the breached/at-risk totals are folded from it.
    The pass (10 ms of SQL at 30,000 open tickets) is the same for every supervisor: shared per desk state."""
    def grouped() -> list[dict]:
        return list(open_tickets.values("status", "assignee", "assignee__username").annotate(
            # Count a column of the index (not id) so PostgreSQL can answer from the index alone.
            n=Count("status"),
            breached=Count("status", filter=Q(sla_state=SLAState.BREACHED)),
            at_risk=Count("status", filter=Q(sla_state=SLAState.WARNING)),
            high_risk=Count("status", filter=Q(risk_level=RiskLevel.HIGH)),
        ).order_by())

    rows = desk_shared("dashboard:open", grouped, stamp)
    by_status: dict[str, int] = {}
    totals = {"breached": 0, "at_risk": 0}
    agents: dict[int, dict] = {}
    for row in rows:  # at most (agents + 1) x open statuses rows
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        totals["breached"] += row["breached"]
        totals["at_risk"] += row["at_risk"]
        if row["assignee"] is not None:
            agent = agents.setdefault(row["assignee"], {
                "assignee": row["assignee"], "assignee__username": row["assignee__username"],
                "open": 0, "breached": 0, "high_risk": 0,
            })
            agent["open"] += row["n"]
            agent["breached"] += row["breached"]
            agent["high_risk"] += row["high_risk"]
    workload = sorted(agents.values(), key=lambda a: (-a["open"], a["assignee__username"]))
    return by_status, workload, totals


def _charts(today, days: int) -> dict:
    # Keyed by day and time zone: a new day (or another zone's day) never reads yesterday's series.
    key = f"dashboard:charts:v{CHART_CACHE_VERSION}:{timezone.get_current_timezone_name()}:{today.isoformat()}:{days}"
    try:
        charts = cache.get(key)
    except Exception:  # a cache outage must not take the dashboard down: compute instead
        logger.warning("dashboard chart cache unreachable; computing live", exc_info=True)
        return _compute_charts(today, days)
    if charts is None:
        charts = _compute_charts(today, days)
        try:
            cache.set(key, charts, CHART_CACHE_SECONDS)
        except Exception:
            logger.warning("dashboard chart cache unreachable; not stored", exc_info=True)
    return charts


def _compute_charts(today, days: int) -> dict:
    # The charts only read from the replica (when there is one: aftersales/db_router.py): the live figures
    # and lists above stay on the primary, the supervisor assigns from them.
    with replica_reads():
        return _chart_figures(today, days)


def _chart_figures(today, days: int) -> dict:
    day_labels = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since = _local_midnight(day_labels[0])
    index = {d: i for i, d in enumerate(day_labels)}
    # Volume and first response in one pass over the period (they read the same rows).
    rows = (
        Ticket.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "type")
        .annotate(
            n=Count("id"),
            responded=Count("first_response_at"),
            response_total=Sum(F("first_response_at") - F("created_at")),
        )
        .order_by()
    )
    volume: dict[str, list[int]] = {}
    responded = [0] * days
    response_seconds = [0.0] * days
    for row in rows:
        i = index.get(row["day"])
        if i is None:
            continue
        volume.setdefault(row["type"] or "", [0] * days)[i] += row["n"]
        if row["responded"]:
            responded[i] += row["responded"]
            response_seconds[i] += _seconds(row["response_total"])
    breaches = (
        TicketEvent.objects.filter(action="sla_breached", created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("created_at"))  # a column of event_sla_breached_idx: index-only on PostgreSQL
        .order_by()
    )
    breach_counts = [0] * days
    for day, n in breaches:
        if day in index:
            breach_counts[index[day]] = n
    order = {code: i for i, code in enumerate(TicketType.values)}
    return {
        "days": [d.isoformat() for d in day_labels],
        "volume": dict(sorted(volume.items(), key=lambda item: order.get(item[0], len(order)))),
        "first_response_hours": [
            round(response_seconds[i] / responded[i] / 3600, 1) if responded[i] else None for i in range(days)
        ],
        "breaches": breach_counts,
        "computed_at": timezone.now(),
    }


def _local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _type_label(code: str) -> str:
    return str(TicketType(code).label) if code else str(_("Unclassified"))


def _seconds(value) -> float:
    # PostgreSQL returns a timedelta; SQLite the sum in microseconds.
    if value is None:
        return 0.0
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value) / 1_000_000
