"""What the customer sees of their case: plain words, no internal notes, personal data masked."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from customers.masking import mask_address, mask_phone

from ..followup.selectors import survey_for_current_resolution
from ..models import Message, Solution, Status, Ticket

# Status in the customer's words.
CUSTOMER_STATUS = {
    Status.NEW: _("We have received your request and will look at it shortly."),
    Status.TRIAGED: _("We have received your request and will look at it shortly."),
    Status.IN_PROGRESS: _("We are working on your case."),
    Status.WAITING_CUSTOMER: _("We are waiting for your reply or evidence."),
    Status.WAITING_DEPARTMENT: _("Our warehouse, finance or logistics team is handling your case."),
    Status.RESOLVED: _("We believe your problem is solved. Please confirm and tell us how we did."),
    Status.CLOSED: _("This case is closed. Thank you."),
    Status.ARCHIVED: _("This case is closed. Thank you."),
}

STEPS = (
    ("received", _("Received"), {Status.NEW, Status.TRIAGED}),
    ("working", _("Being handled"), {Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_DEPARTMENT}),
    ("resolved", _("Solved"), {Status.RESOLVED}),
    ("closed", _("Closed"), {Status.CLOSED, Status.ARCHIVED}),
)


def mask_name(name: str) -> str:
    return f"{name[0]}{'*' * max(1, len(name) - 1)}" if name else ""


@dataclass
class CustomerCase:
    ticket: Ticket
    status_text: str
    steps: list
    customer: dict
    items: list
    messages: list
    proposed: list
    confirmed: list
    refunds: list
    shipments: list
    can_write: bool
    survey_open: bool
    survey: object


def customer_case(ticket: Ticket) -> CustomerCase:
    current = next(i for i, (_, _l, statuses) in enumerate(STEPS) if ticket.status in statuses)
    solutions = list(ticket.solutions.exclude(status=Solution.Status.WITHDRAWN))
    survey = survey_for_current_resolution(ticket)
    return CustomerCase(
        ticket=ticket,
        status_text=CUSTOMER_STATUS[ticket.status],
        steps=[
            {"label": label, "done": i < current, "current": i == current} for i, (_, label, _s) in enumerate(STEPS)
        ],
        customer={
            "name": mask_name(ticket.customer.name),
            "phone": mask_phone(ticket.customer.phone),
            "address": mask_address(ticket.customer.address),
        },
        items=list(ticket.affected_items.select_related("product")),
        messages=list(
            ticket.messages.exclude(direction=Message.Direction.NOTE).prefetch_related("attachments").order_by(
                "created_at", "id"
            )
        ),
        proposed=[s for s in solutions if s.status == Solution.Status.PROPOSED],
        confirmed=[s for s in solutions if s.status == Solution.Status.CONFIRMED],
        refunds=list(ticket.refunds.all()),
        shipments=list(ticket.shipments.all()),
        can_write=ticket.customer_may_write,
        survey_open=ticket.follow_up_open and survey is None,
        survey=survey,
    )
