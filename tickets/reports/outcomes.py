"""Reports on how cases end: satisfaction, reopens, returns, product defects, responsibility."""

from __future__ import annotations

from django.db.models import Avg, Count, Q, Sum
from django.utils.translation import gettext as _

from orders.models import Product

from ..followup.models import SatisfactionSurvey
from ..models import Category, CloseOutcome, Responsibility, Status, Ticket, TicketType
from .base import ANSWERED_SCOPE, CREATED_SCOPE, Column, Report, _chart, _count_share_columns, _pct, _round1, _tickets
from .periods import Period

TOP_PRODUCTS = 20

# Types where goods or money go back (退货退款, 换货, 仅退款, 补寄): the shop's return share.
RETURN_TYPES = (TicketType.RETURN_REFUND, TicketType.EXCHANGE, TicketType.REFUND_ONLY, TicketType.RESHIP)
# A ticket reopened loses resolved_at (tickets/workflow.py), so "ever resolved" also looks at the count.
EVER_RESOLVED = (
    Q(resolved_at__isnull=False)
    | Q(reopen_count__gt=0)
    | Q(status__in=[Status.RESOLVED, Status.CLOSED, Status.ARCHIVED])
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
