"""The platform metrics report: what each platform scores the shop on, per platform and per local day.

Four figures, the nearest our data comes to the platforms' own (/work/shared/DOMAIN.md, "What shops are
scored on"); each definition is also written on the page (DEFINITIONS):
- refund handling time 退款处理时长: request -> paid or refused, over the refunds finished in the period;
- quality refund rate 品质退款率: orders with a paid refund on a product-quality ticket ÷ orders placed;
- dispute refund rate 纠纷退款率: paid refunds on tickets where the platform intervened ÷ refunds finished;
- answered within the platform deadline: first responses before the deadline ÷ first responses due.

A refund keeps no closing time when it fails (orders.Refund has `paid_at` only). Rather than a migration,
the moment it was refused is read from the step that refused it, the same moment its timeline event
records: finance's rejected or cancelled payment subtask (`finished_at`) or the supervisor's rejected
approval (`decided_at`). Both are correlated subqueries inside the one aggregate query.

4 queries whatever the data: refunds by platform and day, refunds by platform (medians and distinct
orders do not add up across days), orders by platform and day, tickets by platform and day.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.timezone import shop_timezone
from customers.models import Platform
from orders.models import Order, Refund

from ..models import ApprovalRequest, Category, Channel, Subtask
from .aggregates import HoursBetween, Percentile
from .base import Column, Report, _chart, _pct, _round1, _tickets
from .periods import Period

PLATFORM_SCOPE = gettext_lazy(
    "Refunds finished, orders placed and tickets created in the period, by platform and local day"
)

# (term, definition) pairs shown under the report's heading, in the reader's language.
DEFINITIONS = [
    (
        gettext_lazy("Refund handling time (退款处理时长)"),
        gettext_lazy(
            "Hours from a refund being requested to it being paid or refused, wall clock, average and median, "
            "over the refunds finished in the period (money back for goods on a ticket; price differences and "
            "compensation are left out), counted on the day they finished. A refused refund keeps no closing "
            "time of its own: it is read from finance's rejected or cancelled payment task, or from the "
            "supervisor's rejection of the approval."
        ),
    ),
    (
        gettext_lazy("Quality refund rate (品质退款率)"),
        gettext_lazy(
            "Orders with a refund paid in the period on a ticket in the product-quality category ÷ orders "
            "placed on the platform in the period. The platforms count refunds for a quality reason over "
            "signed or paid sub-orders; the desk knows the ticket's category rather than the buyer's reason, "
            "and counts whole orders by the day they were placed (orders carry no signing time)."
        ),
    ),
    (
        gettext_lazy("Dispute refund rate (纠纷退款率)"),
        gettext_lazy(
            "Refunds paid in the period on a ticket where the platform intervened (the ticket's "
            "'platform intervention' flag, or it arrived through the platform-dispute channel) ÷ refunds "
            "finished in the period. The desk records no platform ruling: a refund paid on such a ticket "
            "stands for a dispute ruled for the buyer. The platforms divide by paid sub-orders over 30 days."
        ),
    ),
    (
        gettext_lazy("Answered within the platform deadline"),
        gettext_lazy(
            "Tickets created in the period whose first response came before the deadline ÷ tickets with a "
            "first response due (answered, or past the deadline unanswered; those still within it are not "
            "counted yet). The deadline is the platform's own when it sent one (e.g. Taobao "
            "refund_remind_timeout, Douyin status_deadline), else the SLA policy's first-response target "
            "in business time (the platform's default clocks); tickets with neither are left out."
        ),
    ),
    (
        gettext_lazy("Rows"),
        gettext_lazy(
            "One row per platform for the whole period, then one per local day on which that platform had "
            "any refund, order or ticket counted here. The platform is the order's for refunds and orders, "
            "the customer's for tickets. Rows link nowhere: the ticket queue has no platform or day filter."
        ),
    ),
]

# The platform stepped in (DESIGN: risk reason "platform intervention"; intake channel "platform dispute").
PLATFORM_INTERVENED = Q(ticket__platform_intervention=True) | Q(ticket__channel=Channel.PLATFORM_DISPUTE)
PAID = Q(status=Refund.Status.PAID)


def _finished_refunds(period: Period) -> QuerySet[Refund]:
    """Refunds for goods on a ticket, paid or refused within the period, with `finished_at`."""
    refused_by_finance = (
        Subtask.objects.filter(
            refund=OuterRef("pk"), status__in=[Subtask.Status.REJECTED, Subtask.Status.CANCELLED],
            finished_at__isnull=False,
        )
        .order_by("finished_at")
        .values("finished_at")[:1]
    )
    refused_by_supervisor = (
        ApprovalRequest.objects.filter(refund=OuterRef("pk"), status=ApprovalRequest.Status.REJECTED)
        .order_by("decided_at")
        .values("decided_at")[:1]
    )
    return (
        Refund.objects.filter(
            kind=Refund.Kind.REFUND, ticket__isnull=False,
            status__in=[Refund.Status.PAID, Refund.Status.FAILED], created_at__lt=period.end_at,
        )
        .annotate(finished_at=Coalesce("paid_at", Subquery(refused_by_finance), Subquery(refused_by_supervisor)))
        .filter(finished_at__gte=period.start_at, finished_at__lt=period.end_at)
        .order_by()
    )


def _refund_figures() -> dict:
    handling = HoursBetween("finished_at", "created_at")
    return {
        "refunds": Count("id"),
        "hours_average": Avg(handling),
        "hours_median": Percentile(handling, 0.5),
        "quality_orders": Count("order_id", distinct=True, filter=PAID & Q(ticket__category=Category.PRODUCT_QUALITY)),
        "disputes": Count("id", filter=PAID & PLATFORM_INTERVENED),
    }


def _first_response_figures(now) -> dict:
    """Due = answered, or past the deadline unanswered. The platform's own deadline is compared directly;
    without one, the SLA engine's breach flag says whether the policy's target (business time) was missed."""
    answered = Q(first_response_at__isnull=False)
    own = Q(platform_deadline_at__isnull=False)
    policy = Q(platform_deadline_at__isnull=True, sla_policy__isnull=False)
    return {
        "fr_due": Count("id", filter=(own & (answered | Q(platform_deadline_at__lte=now)))
                        | (policy & (answered | Q(first_response_breached=True)))),
        "fr_in_time": Count("id", filter=(own & answered & Q(first_response_at__lte=F("platform_deadline_at")))
                            | (policy & answered & Q(first_response_breached=False))),
    }


EMPTY_REFUNDS = {"refunds": 0, "hours_average": None, "hours_median": None, "quality_orders": 0, "disputes": 0}


def platforms(period: Period) -> Report:
    """Per platform (whole period) and per platform and local day: refund handling time, quality refund
    rate, dispute refund rate, share answered within the platform deadline. 4 queries."""
    zone = shop_timezone()
    refunds = _finished_refunds(period)
    refunds_by_day = {
        (row["order__platform"], row["day"]): row
        for row in refunds.annotate(day=TruncDate("finished_at", tzinfo=zone))
        .values("order__platform", "day")
        .annotate(**_refund_figures())
    }
    refunds_by_platform = {row["order__platform"]: row for row in refunds.values("order__platform")
                           .annotate(**_refund_figures())}
    orders_by_day = {
        (row["platform"], row["day"]): row["orders"]
        for row in Order.objects.filter(placed_at__gte=period.start_at, placed_at__lt=period.end_at)
        .order_by()
        .annotate(day=TruncDate("placed_at", tzinfo=zone))
        .values("platform", "day")
        .annotate(orders=Count("id"))
    }
    tickets_by_day = {
        (row["customer__platform"], row["day"]): Counter(fr_due=row["fr_due"], fr_in_time=row["fr_in_time"])
        for row in _tickets(period)
        .filter(Q(platform_deadline_at__isnull=False) | Q(sla_policy__isnull=False))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("customer__platform", "day")
        .annotate(**_first_response_figures(timezone.now()))
    }

    def row(platform, day: date | None, r: dict, orders: int, t: Counter) -> list:
        return [
            f"{platform.value}:{day.isoformat() if day else 'all'}",
            str(platform.label),
            day.isoformat() if day else _("Whole period"),
            r["refunds"], _round1(r["hours_average"]), _round1(r["hours_median"]),
            orders, r["quality_orders"], _pct(r["quality_orders"], orders),
            r["disputes"], _pct(r["disputes"], r["refunds"]),
            t["fr_due"], t["fr_in_time"], _pct(t["fr_in_time"], t["fr_due"]),
        ]

    rows, totals = [], []
    for platform in Platform:
        # Only days with something counted: a ticket still within its deadline makes no row of its own.
        days = sorted(
            {day for p, day in (*refunds_by_day, *orders_by_day) if p == platform.value}
            | {day for (p, day), t in tickets_by_day.items() if p == platform.value and t["fr_due"]}
        )
        tickets_total = sum((tickets_by_day.get((platform.value, day), Counter()) for day in days), Counter())
        total = row(
            platform, None, refunds_by_platform.get(platform.value, EMPTY_REFUNDS),
            sum(orders_by_day.get((platform.value, day), 0) for day in days), tickets_total,
        )
        totals.append(total)
        rows.append(total)
        rows += [
            row(platform, day, refunds_by_day.get((platform.value, day), EMPTY_REFUNDS),
                orders_by_day.get((platform.value, day), 0), tickets_by_day.get((platform.value, day), Counter()))
            for day in days
        ]
    return Report(
        name="platforms",
        title=_("Platform metrics"),
        scope=str(PLATFORM_SCOPE),
        columns=[
            Column("key", _("Code")),
            Column("platform", _("Platform")),
            Column("day", _("Day")),
            Column("refunds_finished", _("Refunds finished"), "count"),
            Column("refund_hours_average", _("Refund handling, average (h)"), "hours"),
            Column("refund_hours_median", _("Refund handling, median (h)"), "hours"),
            Column("orders", _("Orders placed"), "count"),
            Column("quality_refund_orders", _("Orders with a quality refund"), "count"),
            Column("quality_refund_rate_pct", _("Quality refund rate (%)"), "percent"),
            Column("dispute_refunds", _("Refunds after platform intervention"), "count"),
            Column("dispute_refund_rate_pct", _("Dispute refund rate (%)"), "percent"),
            Column("first_responses_due", _("First responses due"), "count"),
            Column("answered_in_time", _("Answered within the platform deadline"), "count"),
            Column("answered_in_time_pct", _("Answered within the platform deadline (%)"), "percent"),
        ],
        rows=rows,
        chart=_chart(
            "bar",
            [r[1] for r in totals],
            [
                (_("Quality refund rate (%)"), [r[8] for r in totals]),
                (_("Dispute refund rate (%)"), [r[10] for r in totals]),
                (_("Answered within the platform deadline (%)"), [r[13] for r in totals]),
            ],
            unit="%",
        ),
        definitions=[(str(term), str(text)) for term, text in DEFINITIONS],
    )
