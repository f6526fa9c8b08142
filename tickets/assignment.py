"""Who works a ticket: manual (re)assignment, take-from-queue and automatic assignment."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .events import event_build, event_record
from .models import OPEN_STATUSES, RiskLevel, Ticket, TicketEvent
from .notes import note
from .roles import Role
from .workflow import TransitionRefused, ticket_lock_for_write

WORKING_ROLES = (Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR)
AUTO_ASSIGN_NOTE = gettext_noop("Automatic: least-loaded on-duty agent.")


def _username(user) -> str | None:
    return user.get_username() if user else None


def _set_assignee(ticket: Ticket, *, actor, assignee, action: str, reason: str) -> Ticket:
    event = assignment_event(ticket, actor=actor, assignee=assignee, action=action, reason=reason)
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    event.save()
    return ticket


def assignment_event(ticket: Ticket, *, actor, assignee, action: str, reason: str) -> TicketEvent:
    """The timeline entry of giving the ticket (as it is now) to `assignee`; not saved."""
    return event_build(ticket=ticket, actor=actor, action=action, reason=reason,
                       changes={"assignee": [_username(ticket.assignee), _username(assignee)]})


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor, assignee, reason: str = "", expected_version=None) -> Ticket:
    """A supervisor assigns or reassigns; the timeline records from, to and why."""
    ticket = ticket_lock_for_write(ticket, action="assign", expected_version=expected_version)
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
    ticket = ticket_lock_for_write(ticket, action="take")
    if ticket.assignee_id is not None:
        raise TransitionRefused(status=ticket.status, action="take", reason=_("someone already works this ticket"))
    if (
        ticket.risk_level == RiskLevel.HIGH
        and not actor.groups.filter(name__in=(Role.SENIOR_AGENT, Role.SUPERVISOR)).exists()
    ):
        raise TransitionRefused(status=ticket.status, action="take", reason=_("high-risk tickets go to senior agents"))
    return _set_assignee(ticket, actor=actor, assignee=actor, action="taken", reason="")


SENIOR_ROLES = (Role.SENIOR_AGENT, Role.SUPERVISOR)


def is_senior(user) -> bool:
    return user is not None and user.groups.filter(name__in=SENIOR_ROLES).exists()


def senior_wanted(ticket: Ticket) -> bool:
    """The shop's rule says a senior should work this case: it is high risk and its agent is not one, and
    the agent has not chosen to keep it."""
    return (
        ticket.risk_level == RiskLevel.HIGH
        and ticket.assignee_id is not None
        and not is_senior(ticket.assignee)
        and not ticket.events.filter(action="high_risk_kept", actor_id=ticket.assignee_id).exists()
    )


@transaction.atomic
def ticket_hand_to_senior(*, ticket: Ticket, actor, expected_version=None) -> Ticket:
    """The agent hands a high-risk case to the least-loaded senior on duty, in one click."""
    ticket = ticket_lock_for_write(ticket, action="hand to a senior", expected_version=expected_version)
    if ticket.assignee_id != actor.pk:
        raise ValidationError(_("Only the agent who works this ticket hands it over."))
    if ticket.risk_level != RiskLevel.HIGH:
        raise ValidationError(_("Only a high-risk ticket goes to a senior agent."))
    senior = least_loaded_agent(high_risk=True, excluding=actor.pk)
    if senior is None:
        raise ValidationError(_("No senior agent is on duty now: keep working it and tell your supervisor."))
    count_assignment(senior.pk)
    return _set_assignee(ticket, actor=actor, assignee=senior, action="handed_to_senior",
                         reason=note("High risk: the shop's rule gives it to a senior agent."))


@transaction.atomic
def ticket_keep_high_risk(*, ticket: Ticket, actor, expected_version=None) -> Ticket:
    """The agent keeps a high-risk case (where the shop allows it); the timeline says so."""
    ticket = ticket_lock_for_write(ticket, action="keep", expected_version=expected_version)
    if not settings.HIGH_RISK_AGENTS_MAY_KEEP:
        raise ValidationError(_("This shop gives high-risk cases to senior agents: hand it over."))
    if ticket.assignee_id != actor.pk or ticket.risk_level != RiskLevel.HIGH:
        raise ValidationError(_("Only the agent who works a high-risk ticket keeps it."))
    event_record(ticket=ticket, actor=actor, action="high_risk_kept")
    return ticket


def least_loaded_agent(*, high_risk: bool, excluding: int | None = None):
    """The on-duty agent with the fewest open tickets (ties: the longest-standing account).

    High-risk cases go only to senior agents (DESIGN: risk=high is routed to them).
    """
    candidates = on_duty_agents(high_risk=high_risk, excluding=excluding)
    if not candidates:
        return None
    loads = open_ticket_loads([agent.pk for agent in candidates])
    return min(candidates, key=lambda agent: loads[agent.pk])  # min keeps the first (lowest id) of a tie


def on_duty_agents(*, high_risk: bool, excluding: int | None = None) -> list:
    """Who may get a new ticket of this risk, by id (DESIGN: risk=high only to senior agents)."""
    roles = (Role.SENIOR_AGENT,) if high_risk else (Role.AGENT, Role.SENIOR_AGENT)
    return list(
        get_user_model()
        .objects.filter(
            Exists(get_user_model().groups.through.objects.filter(user=OuterRef("pk"), group__name__in=roles)),
            is_active=True,
            staff_profile__on_duty=True,
        )
        .exclude(pk=excluding)
        .order_by("id")
    )


def open_ticket_loads(agent_ids: list[int]) -> dict[int, int]:
    """Open tickets per agent.

    Counting them reads every open ticket's index entry (30,000 on a big-promo day), too much for each
    new ticket. So the counts are taken once per ASSIGNMENT_LOAD_SECONDS for every web process (through
    the shared cache) and each automatic assignment since is added on top (count_assignment), so agents
    still take turns between two counts. 0 counts afresh every time.
    """
    seconds = settings.ASSIGNMENT_LOAD_SECONDS
    if seconds <= 0:
        return {pk: 0 for pk in agent_ids} | _counted_loads(agent_ids)
    window = int(time.time() // seconds)
    key = f"assignment:loads:{window}"
    counted = cache.get(key)
    if counted is None:
        counted = _counted_loads(None)
        cache.set(key, counted, seconds * 2)
    added = cache.get_many([_added_key(window, pk) for pk in agent_ids])
    return {pk: counted.get(pk, 0) + added.get(_added_key(window, pk), 0) for pk in agent_ids}


def _counted_loads(agent_ids: list[int] | None) -> dict[int, int]:
    """One GROUP BY over the open tickets, index-only on ticket_queue_counts_idx (status, assignee)."""
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
    if agent_ids is not None:
        tickets = tickets.filter(assignee__in=agent_ids)
    return dict(tickets.order_by().values_list("assignee").annotate(n=Count("*")))


def _added_key(window: int, agent_id: int) -> str:
    return f"assignment:added:{window}:{agent_id}"


def count_assignment(agent_id: int, tickets: int = 1) -> None:
    """`tickets` more on this agent until the next count."""
    seconds = settings.ASSIGNMENT_LOAD_SECONDS
    if seconds <= 0:
        return
    key = _added_key(int(time.time() // seconds), agent_id)
    cache.add(key, 0, seconds * 2)
    try:
        cache.incr(key, tickets)
    except ValueError:  # expired between add and incr: the next count has it
        pass


@transaction.atomic
def ticket_auto_assign(*, ticket: Ticket) -> Ticket:
    """Give a new, unassigned ticket to the least-loaded on-duty agent; no-op if none is on duty."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    return auto_assign_created(ticket)


def auto_assign_created(ticket: Ticket) -> Ticket:
    """ticket_auto_assign for a ticket the caller's transaction has just inserted: nobody else can see
    the row yet, so there is nothing to lock or read again."""
    agent = agent_for_new_ticket(ticket)
    if agent is None:
        return ticket
    return _set_assignee(ticket, actor=None, assignee=agent, action="assigned", reason=note(AUTO_ASSIGN_NOTE))


def agent_for_new_ticket(ticket: Ticket):
    """Who a new, unassigned ticket goes to: the least-loaded on-duty agent (None: keep it unassigned).
    The pick is counted at once, not on commit: an intake rolled back after it over-counts one ticket
    until the next count, which only makes the agent's next turn come a little later."""
    agents = NewTicketAgents()
    agent = agents.pick(ticket)
    agents.count_picks()
    return agent


class NewTicketAgents:
    """least_loaded_agent for a batch of new tickets (the intake worker's): the candidates and their loads are
    read once, and each pick is added to the picked agent's load before the next, as one pick after the
    other would see it. The picks reach the shared counts (count_assignment) in count_picks, once per agent
    for the batch rather than two cache calls per ticket."""

    def __init__(self):
        self._candidates: dict[bool, list] = {}
        self._loads: dict[int, int] = {}
        self._picked: dict[int, int] = {}

    def count_picks(self) -> None:
        """Add the picks so far to the agents' shared counts (the other processes' next picks see them)."""
        for agent_id, tickets in self._picked.items():
            count_assignment(agent_id, tickets)
        self._picked.clear()

    def pick(self, ticket: Ticket):
        if ticket.assignee_id is not None or not settings.AUTO_ASSIGN_NEW_TICKETS:
            return None
        high_risk = ticket.risk_level == RiskLevel.HIGH
        if high_risk not in self._candidates:
            self._candidates[high_risk] = on_duty_agents(high_risk=high_risk)
        candidates = self._candidates[high_risk]
        if not candidates:
            return None
        unknown = [agent.pk for agent in candidates if agent.pk not in self._loads]
        if unknown:
            self._loads |= open_ticket_loads(unknown)
        agent = min(candidates, key=lambda agent: self._loads[agent.pk])  # a tie: the lowest id, as ever
        self._loads[agent.pk] += 1
        self._picked[agent.pk] = self._picked.get(agent.pk, 0) + 1
        return agent
