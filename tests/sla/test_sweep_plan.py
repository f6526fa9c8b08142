"""The sweep reads a ticket's coming moments from its plan (SLACheck.plan, written by every refresh)
instead of recomputing its clocks; a ticket without a plan, or past a big-promo start or end, is
recomputed. Both ways must come to the same: the property test sweeps each moment once each way.

Default policies (migration 0002): the catch-all 48 h / 7 days on 7×24 with warnings at 50 and 80 %;
P1 and P2 on the service hours (8–12, 13–23) with tighter targets; a big-promo policy (24 h / 5 days)
that wins while a promo period runs.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Message, Notification, PromoPeriod, RiskLevel, SLACheck, SLAPolicy, Ticket, TicketEvent
from tickets.sla import clock as sla_clock
from tickets.sla.clock import SLA_COLUMNS, epoch_us, sla_after_change
from tickets.sla.sweep import sla_sweep
from tickets.workflow import Action, TransitionRefused, ticket_transition

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
SLA_ACTIONS = ("sla_warning", "sla_breached", "escalated", "follow_up_due")

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    return {"agent": make_user("agent", username="plan-agent"), "sup": make_user("supervisor", username="plan-sup")}


def new_ticket(agent, *, assigned=True, **fields) -> Ticket:
    ticket = services.ticket_create(actor=agent, **{
        "channel": "chat", "description": "电饭煲不加热，要求退货退款", "customer": CustomerFactory(),
        "type": "return_refund", "category": "product_quality", **fields})
    if assigned:
        ticket_take(ticket=ticket, actor=agent)
    return Ticket.objects.get(pk=ticket.pk)


def stored_plan(ticket) -> dict | None:
    return SLACheck.objects.filter(ticket=ticket).values_list("plan", flat=True).first()


def test_intake_stores_the_plan_the_sweep_will_follow(people, time_machine):
    time_machine.move_to(T0, tick=False)
    ticket = new_ticket(people["agent"])

    plan = stored_plan(ticket)
    default = SLAPolicy.objects.get(name__startswith="默认")
    assert plan["policy"] == default.pk and plan["recheck"] is None
    assert [(kind, datetime.fromisoformat(due)) for kind, _started, due, _moments in plan["clocks"]] == [
        ("first_response", ticket.first_response_due_at),
        ("resolution", ticket.resolution_due_at),
    ]
    # warnings at 50 and 80 %, the breach at the due time, as whole microseconds since the epoch
    assert plan["clocks"][0][3] == [[50, epoch_us(T0 + timedelta(hours=24))],
                                    [80, epoch_us(T0 + timedelta(hours=38, minutes=24))],
                                    [100, epoch_us(T0 + timedelta(hours=48))]]
    assert ticket.sla_next_check_at == T0 + timedelta(hours=24)


def test_a_sweep_through_plans_computes_no_clock(people, time_machine, monkeypatch):
    time_machine.move_to(T0, tick=False)
    tickets = [new_ticket(people["agent"]) for _ in range(3)]

    def refuse(*args, **kwargs):
        raise AssertionError("a clock was computed")

    monkeypatch.setattr(sla_clock, "running_clocks", refuse)
    time_machine.move_to(T0 + timedelta(hours=49), tick=False)
    result = sla_sweep()

    # two warnings to the agent and the breach to the agent and the supervisor, an escalation, each ticket
    assert (result.tickets, result.notifications, result.escalations) == (3, 12, 3)
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.sla_state, ticket.first_response_breached, ticket.escalation_level) == ("breached", True, 1)
        assert ticket.sla_next_check_at == T0 + timedelta(days=3, hours=12)  # the resolution's 50 %


def test_a_ticket_without_a_plan_is_recomputed_and_gets_its_plan(people, time_machine):
    time_machine.move_to(T0, tick=False)
    ticket = new_ticket(people["agent"])
    plan = stored_plan(ticket)
    SLACheck.objects.filter(ticket=ticket).update(plan=None)  # as migration 0017 leaves the checks it finds

    time_machine.move_to(T0 + timedelta(hours=25), tick=False)
    assert sla_sweep().notifications == 1

    assert stored_plan(ticket) == plan
    assert Notification.objects.get(ticket=ticket).dedupe_key.startswith("first_response:50:")


def test_a_big_promo_start_and_end_recompute_the_tickets_policy(people, time_machine):
    """A promo period set up ahead: the tickets taken in before it switch to the big-promo policy when it
    starts and back when it ends, as their plans say to recheck then."""
    time_machine.move_to(T0, tick=False)
    starts, ends = T0 + timedelta(hours=2), T0 + timedelta(hours=20)
    PromoPeriod.objects.create(name="618", starts_at=starts, ends_at=ends)
    ticket = new_ticket(people["agent"])
    default, promo = SLAPolicy.objects.get(name__startswith="默认"), SLAPolicy.objects.get(big_promo_only=True)
    assert (ticket.sla_policy, ticket.sla_next_check_at, stored_plan(ticket)["recheck"]) == (
        default, starts, epoch_us(starts))

    time_machine.move_to(starts + timedelta(minutes=1), tick=False)
    sla_sweep()
    ticket.refresh_from_db()
    assert ticket.sla_policy == promo
    assert ticket.first_response_due_at == T0 + timedelta(hours=24)  # the promo's 24 h from intake
    assert (ticket.sla_next_check_at, stored_plan(ticket)["recheck"]) == (T0 + timedelta(hours=12), epoch_us(ends))

    time_machine.move_to(T0 + timedelta(hours=12, minutes=1), tick=False)
    assert sla_sweep().notifications == 1  # the promo policy's 50 %, read from the new plan
    time_machine.move_to(ends + timedelta(minutes=1), tick=False)
    sla_sweep()
    ticket.refresh_from_db()
    assert ticket.sla_policy == default
    assert ticket.sla_next_check_at == T0 + timedelta(hours=24)  # the default's 50 %: a new policy, a new key


# Plans against recomputing, over random histories ---------------------------------------------------


STEP = st.tuples(
    st.integers(min_value=1, max_value=36 * 60),  # minutes since the step before
    # "next": a minute after the ticket's next check, as the sweep each minute comes to it
    st.sampled_from(["next", "next", "next", "sweep", "customer", "agent", "wait", "resolve", "reopen", "p1"]),
)


def outcome(ticket_id: int, result) -> tuple:
    """What a sweep did: its counts, the notices and timeline events, the ticket's SLA columns, its check."""
    ticket = Ticket.objects.get(pk=ticket_id)
    return (
        (result.tickets, result.notifications, result.escalations),
        sorted(Notification.objects.filter(ticket_id=ticket_id).values_list("recipient_id", "kind", "dedupe_key",
                                                                            "data")),
        list(TicketEvent.objects.filter(ticket_id=ticket_id, action__in=SLA_ACTIONS).order_by("id")
             .values_list("action", "changes")),
        [getattr(ticket, Ticket._meta.get_field(name).attname) for name in (*SLA_COLUMNS, "escalation_level")],
        SLACheck.objects.filter(ticket_id=ticket_id).values_list("at", "plan").first(),
    )


def act(ticket, what, agent):
    inbound, outbound = Message.Direction.INBOUND, Message.Direction.OUTBOUND
    try:
        if what == "customer":
            services.message_add(ticket=ticket, actor=None, direction=inbound, body="还没处理吗")
        elif what == "agent":
            services.message_add(ticket=ticket, actor=agent, direction=outbound, body="正在处理")
        elif what == "p1":
            services.ticket_override_priority(ticket=ticket, actor=agent, priority="P1", reason="加急")
        else:
            ticket_transition(ticket=ticket, actor=agent, reason="测试", action={
                "wait": Action.WAIT_CUSTOMER, "resolve": Action.RESOLVE, "reopen": Action.REOPEN}[what])
    except TransitionRefused:
        pass  # not from this status: the history goes on without it


def test_a_sweep_through_the_plans_does_what_recomputing_the_clocks_does(people, time_machine):
    """Each sweep of a random history run twice, rolled back in between: as it comes (through the plans) and
    with the due tickets' plans dropped (recomputed, the refresh's own rules); then once for real."""
    agent = people["agent"]

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(priority=st.sampled_from(["P1", "P2", "P3"]), high_risk=st.booleans(), assigned=st.booleans(),
           steps=st.lists(STEP, min_size=1, max_size=12))
    def check(priority, high_risk, assigned, steps):
        with transaction.atomic():
            moment = T0
            time_machine.move_to(moment, tick=False)
            ticket = new_ticket(agent, assigned=assigned)
            Ticket.objects.filter(pk=ticket.pk).update(
                priority=priority, risk_level=RiskLevel.HIGH if high_risk else RiskLevel.LOW)
            ticket = Ticket.objects.get(pk=ticket.pk)
            sla_after_change(ticket, actor=None)  # the priority set above moves the clocks
            for minutes, what in steps:
                ticket = Ticket.objects.get(pk=ticket.pk)
                moment += timedelta(minutes=minutes)
                if what == "next" and ticket.sla_next_check_at is not None:
                    moment = max(moment - timedelta(minutes=minutes), ticket.sla_next_check_at + timedelta(minutes=1))
                time_machine.move_to(moment, tick=False)
                if what not in ("sweep", "next"):
                    act(ticket, what, agent)
                    continue
                seen = []
                for recompute in (False, True):
                    with transaction.atomic():
                        if recompute:  # the due checks only: the others keep theirs both ways
                            SLACheck.objects.filter(at__lte=moment).update(plan=None)
                        seen.append(outcome(ticket.pk, sla_sweep()))
                        transaction.set_rollback(True)
                assert seen[0] == seen[1]
                sla_sweep()
            transaction.set_rollback(True)

    check()
