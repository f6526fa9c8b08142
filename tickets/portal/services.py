"""What a customer may do on their link. Each write goes through the desk's own services."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Channel, Message, Solution, Ticket
from ..playbook.services import solution_confirm
from ..services import attachment_add, message_add


def _ensure_customer_may_write(ticket: Ticket) -> None:
    if not ticket.customer_may_write:
        raise ValidationError(_("This case is closed. For a new problem, please contact the shop."))


def solution_terms(solution: Solution) -> str:
    """The solution as the customer saw it when agreeing: this text is the evidence (留证)."""
    parts = [solution.get_kind_display()]
    if solution.amount:
        parts.append(_("amount ¥%(amount)s") % {"amount": solution.amount})
    if solution.return_required and not solution.return_waived:
        parts.append(_("send back: %(what)s") % {"what": solution.customer_sends_back or _("the item")})
    if solution.expected_days:
        parts.append(_("about %(days)d days") % {"days": solution.expected_days})
    if solution.note:
        parts.append(solution.note)
    return "; ".join(parts)


@transaction.atomic
def portal_solution_confirm(*, ticket: Ticket, solution_id: int, client_ip: str) -> Solution:
    """The customer picks a proposed solution on their link: recorded as their written agreement."""
    _ensure_customer_may_write(ticket)
    solution = ticket.solutions.filter(pk=solution_id, status=Solution.Status.PROPOSED).first()
    if solution is None:
        raise ValidationError({"solution": _("This solution can no longer be chosen. Please reload the page.")})
    # Money and hand-overs are decided on the authority of the agent who offered the solution.
    agent = solution.proposed_by or ticket.assignee
    if agent is None:
        raise ValidationError({"solution": _("Please contact the shop to confirm this solution.")})
    text = _("Chosen and confirmed by the customer on their link (address %(ip)s): %(terms)s") % {
        "ip": client_ip or "-", "terms": solution_terms(solution),
    }
    return solution_confirm(solution=solution, actor=agent, channel=Channel.CUSTOMER_LINK, text=text, by_customer=True)


@transaction.atomic
def portal_evidence_add(*, ticket: Ticket, text: str, upload=None) -> Message:
    """A message and/or a photo or document from the customer, on the ticket's timeline."""
    _ensure_customer_may_write(ticket)
    if not text.strip() and upload is None:
        raise ValidationError({"text": _("Write a message or choose a file.")})
    message = message_add(
        ticket=ticket, actor=None, direction=Message.Direction.INBOUND, channel=Channel.CUSTOMER_LINK,
        body=text.strip() or _("(evidence uploaded)"),
    )
    if upload is not None:
        attachment_add(ticket=ticket, actor=None, upload=upload, message=message)
    return message
