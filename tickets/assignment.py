"""Who works a ticket: manual (re)assignment, take-from-queue and automatic assignment."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .models import OPEN_STATUSES, RiskLevel, Ticket, TicketEvent
from .roles import Role
from .workflow import TransitionRefused, ensure_writable

WORKING_ROLES = (Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR)


def _username(user) -> str | None:
    return user.get_username() if user else None


def _set_assignee(ticket: Ticket, *, actor, assignee, action: str, reason: str) -> Ticket:
    old = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        action=action,
        changes={"assignee": [_username(old), _username(assignee)]},
        reason=reason,
    )
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor, assignee, reason: str = "") -> Ticket:
    """A supervisor assigns or reassigns; the timeline records from, to and why."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, "assign")
    if assignee is not None and not (assignee.is_active and assignee.groups.filter(name__in=WORKING_ROLES).exists()):
        raise ValidationError({"assignee": _("%(user)s does not work tickets.") % {"user": assignee}})
    if (
        assignee is not None
        and ticket.risk_level == RiskLevel.HIGH
        and not assignee.groups.filter(name__in=(Role.SENIOR_AGENT, Role.SUPERVISOR)).exists()
    ):
        raise ValidationError({"assignee": _("High-risk tickets go to senior agents or supervisors.")})
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    action = "reassigned" if ticket.assignee_id else "assigned"
    return _set_assignee(ticket, actor=actor, assignee=assignee, action=action, reason=reason)


@transaction.atomic
def ticket_take(*, ticket: Ticket, actor) -> Ticket:
    """An agent takes an unassigned ticket from the queue; two agents clicking at once: one wins."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ensure_writable(ticket, "take")
    if ticket.assignee_id is not None:
        raise TransitionRefused(status=ticket.status, action="take", reason=_("someone already works this ticket"))
    if (
        ticket.risk_level == RiskLevel.HIGH
        and not actor.groups.filter(name__in=(Role.SENIOR_AGENT, Role.SUPERVISOR)).exists()
    ):
        raise TransitionRefused(status=ticket.status, action="take", reason=_("high-risk tickets go to senior agents"))
    return _set_assignee(ticket, actor=actor, assignee=actor, action="taken", reason="")


def least_loaded_agent(*, high_risk: bool):
    """The on-duty agent with the fewest open tickets (ties: the longest-standing account).

    High-risk cases go only to senior agents (DESIGN: risk=high is routed to them). Each candidate's
    load is a correlated count over ticket_assignee_status_idx (assignee, status): it reads that agent's
    open tickets in the index only, never the ticket history (a join and GROUP BY scanned the table).
    """
    roles = (Role.SENIOR_AGENT,) if high_risk else (Role.AGENT, Role.SENIOR_AGENT)
    open_tickets = (
        Ticket.objects.filter(assignee=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee")
        .annotate(n=Count("*"))
        .values("n")
    )
    return (
        get_user_model()
        .objects.filter(
            Exists(get_user_model().groups.through.objects.filter(user=OuterRef("pk"), group__name__in=roles)),
            is_active=True,
            staff_profile__on_duty=True,
        )
        .annotate(load=Coalesce(Subquery(open_tickets), 0))
        .order_by("load", "id")
        .first()
    )


@transaction.atomic
def ticket_auto_assign(*, ticket: Ticket) -> Ticket:
    """Give a new, unassigned ticket to the least-loaded on-duty agent; no-op if none is on duty."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    return auto_assign_created(ticket)


def auto_assign_created(ticket: Ticket) -> Ticket:
    """ticket_auto_assign for a ticket the caller's transaction has just inserted: nobody else can see
    the row yet, so there is nothing to lock or read again."""
    if ticket.assignee_id is not None or not settings.AUTO_ASSIGN_NEW_TICKETS:
        return ticket
    agent = least_loaded_agent(high_risk=ticket.risk_level == RiskLevel.HIGH)
    if agent is None:
        return ticket
    return _set_assignee(
        ticket,
        actor=None,
        assignee=agent,
        action="assigned",
        reason=_("Automatic: least-loaded on-duty agent."),
    )
