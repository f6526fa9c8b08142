"""Reply templates with placeholders filled from the ticket (unknown placeholders stay as typed)."""

import re

from django.db.models import Case, IntegerField, Q, Value, When

from .models import ReplyTemplate, Ticket

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def reply_placeholders(ticket: Ticket, agent) -> dict[str, str]:
    items = list(ticket.affected_items.all())
    return {
        "customer_name": ticket.customer.name,
        "order_number": ticket.order.external_number if ticket.order_id else "",
        "ticket_number": ticket.number or "",
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent else "",
        "product": items[0].product.name if items else ticket.product_model,
    }


def render_reply(body: str, values: dict[str, str]) -> str:
    # A plain substitution, not str.format: a template must not reach attributes of the values.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


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
