"""SLA clocks of a ticket (tickets/sla/clock.py) driven through the real services and the workflow.

Every expected due time is computed with Schedule arithmetic on the same office calendar the
policies use (9–12 and 13–18 Monday to Friday in Shanghai, 国庆 off, Sunday 27 Sep 2026 worked).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Message, Priority, SLAState, Status, Ticket, TicketEvent
from tickets.sla.business_time import Schedule
from tickets.sla.clock import sla_refresh
from tickets.sla.models import BusinessCalendar, CalendarDay, SLAPolicy, WorkingInterval
from tickets.sla.services import sla_refresh_open_tickets
from tickets.workflow import Action, ticket_transition

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE_HOURS = ((time(9), time(12)), (time(13), time(18)))
NATIONAL_DAY = frozenset(date(2026, 10, 1) + timedelta(days=n) for n in range(7))
MAKE_UP_DAY = date(2026, 9, 27)  # a Sunday worked like a Monday (调休)
SCHEDULE = Schedule(SHANGHAI, {d: OFFICE_HOURS for d in range(5)}, NATIONAL_DAY, {MAKE_UP_DAY: 0})
MINUTE = 60

# Targets in minutes of business time.
NORMAL = {"first_response": 60, "next_response": 120, "resolution": 40 * 60, "follow_up": 8 * 60}
URGENT = {"first_response": 15, "next_response": 30, "resolution": 4 * 60, "follow_up": 2 * 60}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


MONDAY_10 = at(2026, 9, 28, 10, 0)


def due(start: datetime, minutes: float) -> datetime:
    return SCHEDULE.add(start, minutes * MINUTE)


@pytest.fixture
def office_calendar(db):
    calendar = BusinessCalendar.objects.create(name="办公时间 Office hours", time_zone="Asia/Shanghai")
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=d, start=start, end=end)
        for d in range(5)
        for start, end in OFFICE_HOURS
    )
    CalendarDay.objects.bulk_create(
        [CalendarDay(calendar=calendar, date=d, kind=CalendarDay.Kind.HOLIDAY) for d in sorted(NATIONAL_DAY)]
        + [CalendarDay(calendar=calendar, date=MAKE_UP_DAY, kind=CalendarDay.Kind.WORKDAY, works_like=0)]
    )
    return calendar


def make_policy(calendar, name, targets, **criteria) -> SLAPolicy:
    return SLAPolicy.objects.create(
        name=name,
        calendar=calendar,
        first_response_minutes=targets["first_response"],
        next_response_minutes=targets["next_response"],
        resolution_minutes=targets["resolution"],
        follow_up_minutes=targets["follow_up"],
        warning_thresholds=[80],
        **criteria,
    )


@pytest.fixture
def policies(office_calendar):
    """Only these two are active: a catch-all and a P1 policy, both on office hours."""
    SLAPolicy.objects.update(is_active=False)
    return {
        "normal": make_policy(office_calendar, "office normal", NORMAL),
        "urgent": make_policy(office_calendar, "office P1", URGENT, priority=Priority.P1),
    }


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


def new_ticket(actor) -> Ticket:
    return services.ticket_create(
        actor=actor,
        channel="chat",
        description="收到的电饭煲不加热",
        customer=CustomerFactory(),
        type="return_refund",
        category="product_quality",
    )


def move(ticket: Ticket, actor, *actions: str) -> Ticket:
    for action in actions:
        reason = "客户回访仍不满意" if action == Action.REOPEN else ""
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor, reason=reason)
    ticket.refresh_from_db()
    return ticket


def say(ticket: Ticket, actor, direction: str) -> Ticket:
    services.message_add(ticket=ticket, actor=actor, direction=direction, body="……")
    ticket.refresh_from_db()
    return ticket


def events(ticket: Ticket, action: str) -> list[TicketEvent]:
    return list(ticket.events.filter(action=action))


def instants(pair: list) -> list:
    """A timeline [old, new] pair of ISO strings as datetimes (any zone; compared as instants)."""
    return [datetime.fromisoformat(v) if v else None for v in pair]


def in_progress_and_answered(actor) -> Ticket:
    ticket = new_ticket(actor)
    ticket = say(ticket, actor, Message.Direction.OUTBOUND)
    return move(ticket, actor, Action.TRIAGE, Action.START)


def test_intake_starts_the_first_response_and_resolution_clocks(policies, clock, agent):
    ticket = new_ticket(agent)
    ticket.refresh_from_db()

    assert ticket.sla_policy == policies["normal"]
    assert ticket.created_at == MONDAY_10
    assert ticket.first_response_due_at == due(MONDAY_10, NORMAL["first_response"])
    assert ticket.resolution_due_at == due(MONDAY_10, NORMAL["resolution"])
    assert ticket.next_response_due_at is None and ticket.follow_up_due_at is None
    assert ticket.sla_state == SLAState.ON_TRACK
    assert ticket.sla_next_check_at == due(MONDAY_10, NORMAL["first_response"] * 0.8)
    [started] = events(ticket, "sla_started")
    assert instants(started.changes["first_response_due_at"]) == [None, ticket.first_response_due_at]


def test_intake_outside_working_hours_counts_from_the_next_working_morning(policies, clock, agent):
    saturday_night = at(2026, 9, 26, 22, 0)
    clock.move_to(saturday_night)
    ticket = new_ticket(agent)
    ticket.refresh_from_db()
    # The make-up Sunday counts: due on Sunday 27 Sep at 10:00, not on Monday.
    assert ticket.first_response_due_at == due(saturday_night, NORMAL["first_response"]) == at(2026, 9, 27, 10, 0)


def test_the_first_reply_stops_the_first_response_clock_and_a_later_customer_message_starts_next_response(
    policies, clock, agent
):
    ticket = new_ticket(agent)
    resolution_due = ticket.resolution_due_at
    inbound_before_reply = at(2026, 9, 28, 10, 5)
    clock.move_to(inbound_before_reply)
    ticket = say(ticket, None, Message.Direction.INBOUND)
    assert ticket.next_response_due_at is None  # no reply yet: the first-response clock still covers it

    clock.move_to(at(2026, 9, 28, 10, 20))
    ticket = say(ticket, agent, Message.Direction.OUTBOUND)
    assert ticket.first_response_at == at(2026, 9, 28, 10, 20)
    assert ticket.first_response_due_at is None
    assert ticket.resolution_due_at == resolution_due

    customer_writes = at(2026, 9, 28, 17, 30)
    clock.move_to(customer_writes)
    ticket = say(ticket, None, Message.Direction.INBOUND)
    assert ticket.next_response_started_at == customer_writes
    assert ticket.next_response_due_at == due(customer_writes, NORMAL["next_response"])
    assert ticket.next_response_due_at == at(2026, 9, 29, 10, 30)  # over the night
    assert any("next_response_due_at" in e.changes for e in events(ticket, "sla_started"))

    clock.move_to(at(2026, 9, 29, 9, 10))
    ticket = say(ticket, agent, Message.Direction.OUTBOUND)
    assert ticket.next_response_started_at is None
    assert ticket.next_response_due_at is None


def test_waiting_for_the_customer_pauses_the_clocks(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    ticket = say(ticket, None, Message.Direction.INBOUND)
    paused_at = at(2026, 9, 28, 15, 0)
    clock.move_to(paused_at)

    ticket = move(ticket, agent, Action.WAIT_CUSTOMER)

    assert ticket.sla_state == SLAState.PAUSED
    assert ticket.sla_paused_at == paused_at
    assert ticket.sla_next_check_at is None
    assert ticket.next_response_due_at is None  # we asked them: no reply owed until they write
    assert len(events(ticket, "sla_paused")) == 1
    # Time standing still does not breach: long past the resolution due, it is still paused.
    clock.move_to(ticket.resolution_due_at + timedelta(days=30))
    sla_refresh(ticket)
    assert ticket.sla_state == SLAState.PAUSED
    assert ticket.sla_next_check_at is None


@pytest.mark.parametrize("resumed_by", ["agent", "customer message"])
def test_resuming_pushes_the_resolution_due_by_the_business_time_paused(policies, clock, agent, resumed_by):
    ticket = in_progress_and_answered(agent)
    due_before = ticket.resolution_due_at
    paused_at, resumed_at = at(2026, 9, 30, 17, 0), at(2026, 10, 8, 10, 0)  # a night and all of 国庆
    clock.move_to(paused_at)
    ticket = move(ticket, agent, Action.WAIT_CUSTOMER)
    assert ticket.resolution_due_at == due_before

    clock.move_to(resumed_at)
    if resumed_by == "agent":
        ticket = move(ticket, agent, Action.RESUME)
    else:
        ticket = say(ticket, None, Message.Direction.INBOUND)

    paused = SCHEDULE.between(paused_at, resumed_at)
    assert 0 < paused < (resumed_at - paused_at).total_seconds() / 10
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == paused
    assert ticket.resolution_due_at == SCHEDULE.add(due_before, paused)
    assert SCHEDULE.between(due_before, ticket.resolution_due_at) == paused
    assert ticket.sla_state == SLAState.ON_TRACK
    [resumed] = events(ticket, "sla_resumed")
    assert instants(resumed.changes["resolution_due_at"]) == [due_before, ticket.resolution_due_at]


def test_two_pauses_add_up(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    due_before = ticket.resolution_due_at
    pauses = [(at(2026, 9, 28, 11, 0), at(2026, 9, 28, 14, 0)), (at(2026, 9, 29, 17, 30), at(2026, 9, 30, 9, 45))]
    for paused_at, resumed_at in pauses:
        clock.move_to(paused_at)
        ticket = move(ticket, agent, Action.WAIT_CUSTOMER)
        clock.move_to(resumed_at)
        ticket = move(ticket, agent, Action.RESUME)
    total = sum(SCHEDULE.between(p, r) for p, r in pauses)
    assert ticket.sla_paused_seconds == total
    assert ticket.resolution_due_at == SCHEDULE.add(due_before, total)


def test_resolving_stops_the_response_and_resolution_clocks_and_starts_follow_up(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    ticket = say(ticket, None, Message.Direction.INBOUND)
    assert ticket.next_response_due_at is not None
    resolved_at = at(2026, 9, 28, 16, 0)
    clock.move_to(resolved_at)

    ticket = move(ticket, agent, Action.RESOLVE)

    assert ticket.first_response_due_at is None
    assert ticket.next_response_due_at is None
    assert ticket.resolution_due_at is None
    assert ticket.follow_up_due_at == due(resolved_at, NORMAL["follow_up"])
    assert ticket.sla_next_check_at == ticket.follow_up_due_at


def test_a_follow_up_without_an_answer_stops_the_follow_up_clock_until_a_reopen(policies, clock, agent):
    from tickets.followup.services import follow_up_record

    ticket = move(in_progress_and_answered(agent), agent, Action.RESOLVE)
    assert ticket.follow_up_due_at is not None
    clock.move_to(at(2026, 9, 28, 15, 0))

    follow_up_record(ticket=ticket, actor=agent, channel="phone", result="no_answer")

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.followed_up_at == at(2026, 9, 28, 15, 0)
    assert (ticket.follow_up_due_at, ticket.sla_next_check_at) == (None, None)  # nothing left for the sweep
    ticket = move(ticket, agent, Action.REOPEN, Action.RESOLVE)
    assert ticket.followed_up_at is None
    assert ticket.follow_up_due_at is not None  # a new resolution: a new follow-up is owed


def test_closing_stops_every_clock(policies, clock, agent):
    ticket = move(in_progress_and_answered(agent), agent, Action.RESOLVE)
    clock.move_to(at(2026, 9, 29, 10, 0))

    ticket = move(ticket, agent, Action.CLOSE)

    assert ticket.sla_state == SLAState.NONE
    assert (ticket.first_response_due_at, ticket.next_response_due_at) == (None, None)
    assert (ticket.resolution_due_at, ticket.follow_up_due_at) == (None, None)
    assert ticket.sla_next_check_at is None


@pytest.mark.parametrize("last", [Action.RESOLVE, Action.CLOSE])
def test_reopening_restarts_the_resolution_clock_from_the_reopen_time(policies, clock, agent, last):
    ticket = in_progress_and_answered(agent)
    clock.move_to(at(2026, 9, 28, 11, 0))
    ticket = move(ticket, agent, Action.WAIT_CUSTOMER)
    clock.move_to(at(2026, 9, 28, 15, 0))
    ticket = move(ticket, agent, Action.RESUME, Action.RESOLVE, *([Action.CLOSE] if last == Action.CLOSE else []))
    reopened_at = at(2026, 9, 30, 16, 0)
    clock.move_to(reopened_at)

    ticket = move(ticket, agent, Action.REOPEN)

    assert ticket.resolution_started_at == reopened_at
    assert ticket.sla_paused_seconds == 0
    assert ticket.resolution_due_at == due(reopened_at, NORMAL["resolution"])
    assert ticket.follow_up_due_at is None
    assert ticket.sla_state == SLAState.ON_TRACK
    assert len(events(ticket, "sla_started")) == 2  # intake and reopen


def test_raising_the_priority_to_p1_recomputes_the_due_times_to_the_p1_policy(policies, clock, agent):
    ticket = new_ticket(agent)
    assert ticket.sla_policy == policies["normal"]
    clock.move_to(at(2026, 9, 28, 10, 5))

    services.ticket_override_priority(ticket=ticket, actor=agent, priority=Priority.P1, reason="客户威胁曝光")

    ticket.refresh_from_db()
    assert ticket.sla_policy == policies["urgent"]
    assert ticket.first_response_due_at == due(MONDAY_10, URGENT["first_response"])
    assert ticket.resolution_due_at == due(MONDAY_10, URGENT["resolution"])
    [recomputed] = events(ticket, "sla_recomputed")
    assert recomputed.changes["sla_policy"] == ["office normal", "office P1"]
    assert instants(recomputed.changes["first_response_due_at"]) == [
        due(MONDAY_10, NORMAL["first_response"]),
        ticket.first_response_due_at,
    ]
    assert recomputed.reason == "客户威胁曝光"


def test_the_priority_override_and_its_sla_recompute_share_one_transaction(policies, clock, agent, monkeypatch):
    ticket = new_ticket(agent)

    def broken(*args, **kwargs):
        raise RuntimeError("SLA step failed")

    monkeypatch.setattr(services, "sla_after_change", broken)
    with pytest.raises(RuntimeError):
        services.ticket_override_priority(ticket=ticket, actor=agent, priority=Priority.P1, reason="加急")

    ticket.refresh_from_db()
    assert ticket.priority == Priority.P3 and not ticket.priority_overridden
    assert not events(ticket, "priority_overridden")


def test_a_policy_edit_moves_the_due_times_of_open_tickets_and_leaves_closed_ones_alone(policies, clock, agent):
    open_ticket = new_ticket(agent)
    closed = move(in_progress_and_answered(agent), agent, Action.RESOLVE, Action.CLOSE)
    closed_before = {f: getattr(closed, f) for f in ("sla_state", "resolution_due_at", "updated_at")}
    closed_events = closed.events.count()
    edited_at = at(2026, 9, 28, 11, 0)
    clock.move_to(edited_at)
    policy = policies["normal"]
    policy.resolution_minutes = 8 * 60
    policy.save()

    changed = sla_refresh_open_tickets(actor=agent, reason="SLA policy edited")

    assert changed == 1
    open_ticket.refresh_from_db()
    assert open_ticket.resolution_due_at == due(MONDAY_10, 8 * 60)
    assert events(open_ticket, "sla_recomputed")[0].reason == "SLA policy edited"
    closed.refresh_from_db()
    assert {f: getattr(closed, f) for f in closed_before} == closed_before
    assert closed.events.count() == closed_events


def test_a_policy_edit_recomputes_any_number_of_open_tickets_in_the_same_queries_and_writes_their_plans(
    policies, clock, agent
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import SLACheck

    def refresh(tickets: int, minutes: int) -> int:
        for _ in range(tickets):
            new_ticket(agent)
        SLAPolicy.objects.filter(pk=policies["normal"].pk).update(resolution_minutes=minutes)
        with CaptureQueriesContext(connection) as queries:
            assert sla_refresh_open_tickets(actor=agent, reason="SLA policy edited") == Ticket.objects.count()
        return len(queries)

    assert refresh(2, 8 * 60) == refresh(10, 9 * 60)  # not a query per ticket (the policy each had, say)
    plans = SLACheck.objects.values_list("plan", flat=True)
    assert {datetime.fromisoformat(plan["clocks"][-1][2]) for plan in plans} == {due(MONDAY_10, 9 * 60)}


def test_the_state_goes_from_on_track_to_warning_to_breached_as_business_time_passes(policies, clock, agent):
    ticket = new_ticket(agent)
    target = NORMAL["first_response"]
    warning_from, breach_from = due(MONDAY_10, target * 0.8), due(MONDAY_10, target)

    clock.move_to(warning_from - timedelta(seconds=1))
    sla_refresh(ticket)
    assert ticket.sla_state == SLAState.ON_TRACK
    assert ticket.sla_next_check_at == warning_from

    clock.move_to(warning_from)
    sla_refresh(ticket)
    assert ticket.sla_state == SLAState.WARNING

    clock.move_to(breach_from)
    sla_refresh(ticket)
    assert ticket.sla_state == SLAState.BREACHED


def test_lunch_does_not_bring_a_breach_closer(policies, clock, agent):
    clock.move_to(at(2026, 9, 28, 11, 30))
    ticket = new_ticket(agent)
    assert ticket.first_response_due_at == at(2026, 9, 28, 13, 30)
    clock.move_to(at(2026, 9, 28, 12, 59))
    sla_refresh(ticket)
    assert ticket.sla_state == SLAState.ON_TRACK  # 29 of 60 minutes used: under the 80% warning


def test_a_failing_sla_step_rolls_back_the_status_change(policies, clock, agent, monkeypatch):
    ticket = new_ticket(agent)

    def broken(*args, **kwargs):
        raise RuntimeError("SLA step failed")

    monkeypatch.setattr("tickets.workflow.sla_on_status_change", broken)
    with pytest.raises(RuntimeError):
        ticket_transition(ticket=ticket, action=Action.TRIAGE, actor=agent)

    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not events(ticket, Action.TRIAGE)


def test_a_pause_that_outlasts_the_old_due_time_does_not_count_as_a_breach(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    due_before = ticket.resolution_due_at
    clock.move_to(due_before - timedelta(hours=1))
    ticket = move(ticket, agent, Action.WAIT_CUSTOMER)
    clock.move_to(due_before + timedelta(days=3))
    say(ticket, None, Message.Direction.INBOUND)  # the customer's words resume the clocks

    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.resolution_due_at > due_before + timedelta(days=3)
    assert ticket.sla_state != SLAState.BREACHED
    assert ticket.resolution_breached is False

    ticket = move(ticket, agent, Action.RESOLVE)
    assert ticket.resolution_breached is False  # resolved within the target once the pause is deducted


def test_a_breach_before_the_pause_stays_a_breach(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    clock.move_to(ticket.resolution_due_at + timedelta(minutes=1))
    ticket = move(ticket, agent, Action.WAIT_CUSTOMER)
    assert ticket.resolution_breached is True
    clock.move_to(ticket.resolution_due_at + timedelta(days=2))
    ticket = move(ticket, agent, Action.RESUME, Action.RESOLVE)
    assert ticket.resolution_breached is True


def test_resolving_after_the_due_time_without_a_sweep_in_between_is_a_breach(policies, clock, agent):
    ticket = in_progress_and_answered(agent)
    clock.move_to(ticket.resolution_due_at + timedelta(seconds=1))
    ticket = move(ticket, agent, Action.RESOLVE)
    assert ticket.resolution_breached is True
