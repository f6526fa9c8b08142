"""Reply templates with placeholders filled from the ticket (unknown placeholders stay as typed).

The values speak the active language (the agent's, which is also the language of the templates offered),
and cost a fixed number of queries whatever the ticket: the affected items, the latest replacement parcel,
the solution, the refunds.
"""

import re

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from orders.models import Order, Refund

from .live import desk_shared
from .models import ReplyTemplate, Ticket
from .selectors import has_rows

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Every placeholder a template may use (the admin's help text and the catalogue test read this).
PLACEHOLDERS = {
    "customer_name": gettext_lazy("the customer's name"),
    "order_number": gettext_lazy("the platform's order number"),
    "ticket_number": gettext_lazy("the ticket number"),
    "agent_name": gettext_lazy("your name"),
    "product": gettext_lazy("the first affected product"),
    "tracking_number": gettext_lazy("tracking number: the replacement parcel's, else the order's"),
    "courier": gettext_lazy("the courier of that parcel"),
    "shipping_state": gettext_lazy(
        "where that parcel is, in words: 'the warehouse has shipped it' while the courier has not scanned it yet, "
        "'it has shipped' once the courier has it"
    ),
    "solution_summary": gettext_lazy(
        "the agreed (else proposed) solution: kind, amount, what comes back, in how many days"
    ),
    "refund_amount": gettext_lazy("the ticket's refunds (paid ones if any), e.g. 280.00"),
}


def _shipping_state(order: Order | None, replacement) -> str:
    """The parcel's state in the words shops use: 仓库已发货 (handed over, no courier scan yet) is not
    已经发货 (the courier has it); a customer told "shipped" checks the tracking and finds nothing."""
    if replacement is not None:
        return _("the warehouse has shipped it; tracking shows once the courier scans it")
    if order is None:
        return ""
    state = Order.LogisticsStatus
    status = order.logistics_status
    if status == state.NOT_SHIPPED and not order.tracking_number:
        return _("it has not shipped yet")
    if status in (state.NOT_SHIPPED, state.AWAITING_PICKUP):
        return _("the warehouse has shipped it; tracking shows once the courier scans it")
    return {
        state.COLLECTED: _("it has shipped and the courier has it"),
        state.IN_TRANSIT: _("it has shipped and is on its way"),
        state.STALLED: _("it has shipped, but the tracking has not moved for a while; we have asked the courier"),
        state.DELIVERED: _("it has been delivered"),
        state.RETURNED: _("the parcel went back to the sender"),
    }.get(status, "")


def _solution_summary(solution, product: str) -> str:
    if solution is None:
        return ""
    parts = [str(solution.get_kind_display())]
    if solution.amount:
        parts.append(_("amount ¥%(amount)s") % {"amount": solution.amount})
    if solution.return_required:
        parts.append(_("%(item)s comes back to us") % {"item": solution.customer_sends_back or product})
    if solution.expected_days:
        parts.append(_("done within about %(days)s days") % {"days": solution.expected_days})
    return pgettext("between the parts of a list", ", ").join(parts)


def _refund_amount(ticket: Ticket) -> str:
    if not has_rows(ticket, "refunds"):
        return ""
    totals = Refund.objects.filter(ticket=ticket).exclude(status=Refund.Status.FAILED).aggregate(
        paid=Sum("amount", filter=Q(status=Refund.Status.PAID)), all=Sum("amount"),
    )
    amount = totals["paid"] or totals["all"]
    return f"{amount:.2f}" if amount else ""


def reply_placeholders(ticket: Ticket, agent) -> dict[str, str]:
    items = list(ticket.affected_items.all())
    product = items[0].product.name if items else ticket.product_model
    order = ticket.order if ticket.order_id else None
    replacement = (ticket.shipments.exclude(tracking_number="").order_by("-created_at", "-id").first()
                   if has_rows(ticket, "shipments") else None)
    # The agreed solution, else the latest proposed one; from the ticket page's prefetched solutions.
    solution = min((s for s in ticket.solutions.all() if s.status != "withdrawn"),
                   key=lambda s: (s.status != "confirmed", -s.created_at.timestamp(), -s.pk), default=None)
    parcel = replacement or order
    return {
        "customer_name": ticket.customer.name,
        "order_number": order.external_number if order else "",
        "ticket_number": ticket.number or "",
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent else "",
        "product": product,
        "tracking_number": parcel.tracking_number if parcel else "",
        "courier": parcel.carrier if parcel else "",
        "shipping_state": _shipping_state(order, replacement),
        "solution_summary": _solution_summary(solution, product),
        "refund_amount": _refund_amount(ticket),
    }


def placeholders_help() -> str:
    """The placeholders as a line of help for a form: "{customer_name} the customer's name · …"."""
    return " · ".join(f"{{{name}}} {meaning}" for name, meaning in PLACEHOLDERS.items())


def render_reply(body: str, values: dict[str, str]) -> str:
    # A plain substitution, not str.format: a template must not reach attributes of the values.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def placeholders_in(body: str) -> set[str]:
    return set(_PLACEHOLDER.findall(body))


def templates_for(ticket: Ticket, language: str = "zh-hans"):
    """Active templates in the agent's language: the ticket's type and category first, then general ones."""
    return (
        ReplyTemplate.objects.filter(
            Q(ticket_type="") | Q(ticket_type=ticket.type), Q(category="") | Q(category=ticket.category),
            is_active=True, language=language,
        )
        .annotate(rank=Case(When(ticket_type="", category="", then=Value(1)), default=Value(0),
                            output_field=IntegerField()))
        .order_by("rank", "name")
    )


def templates_offered(ticket: Ticket, language: str) -> list[ReplyTemplate]:
    """templates_for's list as the ticket page offers it: shared by every page of the same type, category and
    language for SHARED_CHOICES_SECONDS (live.desk_shared), so a template edited in the admin is offered
    within that time. What a reply sends is what the agent sent, so a stale list never sends a wrong text."""
    return desk_shared(f"reply-templates:{language}:{ticket.type}:{ticket.category}",
                       lambda: list(templates_for(ticket, language)), seconds=settings.SHARED_CHOICES_SECONDS)
