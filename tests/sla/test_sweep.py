"""The SLA sweep (tickets/sla/sweep.py): warn once per threshold, breach once, escalate, stay quiet
while paused, honour resumed due times, nudge departments, close silent tickets, mail each notice once.

Time is moved with time_machine; tickets are taken in through tickets.services.ticket_create so
their clocks start the way they do in production. Default policy (migration 0004): first response
48 h, resolution 7 days, follow-up 3 days, on the 7×24 calendar, warnings at 50 % and 80 %.
"""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Department, Message, Notification, SLACheck, SLAState, Status, Subtask, Ticket, TicketEvent
from tickets.sla.mail import notifications_send_emails
from tickets.sla.subtask_sweep import subtask_sweep
from tickets.sla.sweep import auto_close_silent_tickets, sla_sweep
from tickets.subtasks import subtask_create
from tickets.workflow import Action, ticket_transition

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
MINUTE = timedelta(minutes=1)
FIRST_RESPONSE = timedelta(hours=48)
RESOLUTION = timedelta(days=7)
FOLLOW_UP = timedelta(days=3)
SLA_ACTIONS = ("sla_warning", "sla_breached", "escalated", "follow_up_due")

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    users = {
        "agent": make_user("agent", username="sweep-agent"),
        "sup1": make_user("supervisor", username="sweep-sup1"),
        "sup2": make_user("supervisor", username="sweep-sup2"),
    }
    users["agent"].email = "agent@example.com"
    users["agent"].save(update_fields=["email"])
    users["sup1"].email = "sup1@example.com"
    users["sup1"].save(update_fields=["email"])
    return users


@pytest.fixture
def clock(time_machine):
    """Frozen time at T0; `clock(hours=…)` moves to T0 + that."""

    def move(**delta):
        moment = T0 + timedelta(**delta)
        time_machine.move_to(moment, tick=False)
        return moment

    move()
    return move


def new_ticket(actor, *, assignee=None, **fields) -> Ticket:
    defaults = {
        "channel": "chat",
        "description": "收到的电饭煲不加热，要求退货退款",
        "customer": CustomerFactory(),
        "type": "return_refund",
        "category": "product_quality",
    }
    ticket = services.ticket_create(actor=actor, **{**defaults, **fields})
    if assignee is not None:
        ticket = ticket_take(ticket=ticket, actor=assignee)
    return Ticket.objects.get(pk=ticket.pk)


def move(ticket, actor, *actions) -> Ticket:
    for action in actions:
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor, reason="测试")
    return Ticket.objects.get(pk=ticket.pk)


def notices(ticket) -> list[tuple[str, str, int | None, str]]:
    """(kind, clock, percent, recipient) of each notification of the ticket, sorted."""
    return sorted(
        (n.kind, n.data.get("clock", ""), n.data.get("percent"), n.recipient.username)
        for n in Notification.objects.filter(ticket=ticket).select_related("recipient")
    )


def sla_events(ticket) -> list[str]:
    events = TicketEvent.objects.filter(ticket=ticket, action__in=SLA_ACTIONS).order_by("id")
    return list(events.values_list("action", flat=True))


def totals() -> tuple[int, int]:
    return Notification.objects.count(), TicketEvent.objects.filter(action__in=SLA_ACTIONS).count()


# Warnings, breach, escalation --------------------------------------------------------------------


def test_first_response_warns_once_per_threshold_then_breaches_to_assignee_and_every_supervisor(people, clock):
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    assert ticket.first_response_due_at == T0 + FIRST_RESPONSE
    assert ticket.sla_next_check_at == T0 + FIRST_RESPONSE / 2

    clock(hours=23, minutes=59)
    sla_sweep()
    assert notices(ticket) == []

    clock(hours=24, minutes=1)
    sla_sweep()
    assert notices(ticket) == [("sla_warning", "first_response", 50, "sweep-agent")]

    clock(hours=38, minutes=25)  # 80 % of 48 h = 38 h 24 min
    sla_sweep()
    assert notices(ticket) == [
        ("sla_warning", "first_response", 50, "sweep-agent"),
        ("sla_warning", "first_response", 80, "sweep-agent"),
    ]
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0

    clock(hours=48, minutes=1)
    sla_sweep()

    assert notices(ticket) == [
        ("sla_breach", "first_response", 100, "sweep-agent"),
        ("sla_breach", "first_response", 100, "sweep-sup1"),
        ("sla_breach", "first_response", 100, "sweep-sup2"),
        ("sla_warning", "first_response", 50, "sweep-agent"),
        ("sla_warning", "first_response", 80, "sweep-agent"),
    ]
    assert sla_events(ticket) == ["sla_warning", "sla_warning", "sla_breached", "escalated"]
    escalated = TicketEvent.objects.get(ticket=ticket, action="escalated")
    assert escalated.changes == {"escalation_level": [0, 1]}
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.sla_state) == (1, SLAState.BREACHED)
    # Next look: the resolution clock's first warning (50 % of 7 days).
    assert ticket.sla_next_check_at == T0 + RESOLUTION / 2


def test_a_sweep_that_only_reschedules_leaves_the_ticket_row_alone(people, clock):
    """A check that falls due before any moment has passed (an early look, as after a policy edit) only moves
    the next check, a row of its own: the ticket row, its version and its indexes are not written."""
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    SLACheck.objects.filter(ticket=ticket).update(at=T0 + timedelta(hours=1))
    clock(hours=2)

    with CaptureQueriesContext(connection) as queries:
        result = sla_sweep()

    assert result.tickets == 1 and notices(ticket) == []
    assert [q["sql"] for q in queries if q["sql"].startswith('UPDATE "tickets_ticket"')] == []
    assert SLACheck.objects.get(ticket=ticket).at == T0 + FIRST_RESPONSE / 2
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.version, stored.updated_at) == (ticket.version, ticket.updated_at)
    assert stored.sla_state == SLAState.ON_TRACK


def test_running_the_sweep_again_now_or_later_adds_nothing(people, clock):
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    clock(hours=49)
    first = sla_sweep()
    assert first.tickets == 1
    assert first.notifications == 5  # 2 warnings + breach to the agent and 2 supervisors
    before = totals()

    again = sla_sweep()
    clock(hours=60)
    later = sla_sweep()

    assert (again.tickets, again.notifications, later.tickets, later.notifications) == (0, 0, 0, 0)
    assert totals() == before
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1


def test_an_unassigned_tickets_warnings_go_to_the_supervisors(people, clock):
    ticket = new_ticket(people["agent"])
    assert ticket.assignee_id is None

    clock(hours=24, minutes=1)
    sla_sweep()
    assert notices(ticket) == [
        ("sla_warning", "first_response", 50, "sweep-sup1"),
        ("sla_warning", "first_response", 50, "sweep-sup2"),
    ]

    clock(hours=48, minutes=1)
    sla_sweep()
    breaches = [n for n in notices(ticket) if n[0] == "sla_breach"]
    assert [n[3] for n in breaches] == ["sweep-sup1", "sweep-sup2"]


def test_a_high_risk_ticket_escalates_at_the_last_warning_and_again_at_breach_up_to_two(people, clock):
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    services.ticket_override_risk(ticket=ticket, actor=people["sup1"], risk_level="high", reason="扬言曝光")

    clock(hours=24, minutes=1)
    sla_sweep()
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0  # 50 % is not the last warning

    clock(hours=38, minutes=25)
    sla_sweep()
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1

    clock(hours=48, minutes=1)
    sla_sweep()
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 2

    # The resolution clock warns and breaches too, but the level stays capped at 2.
    clock(days=7, minutes=1)
    sla_sweep()
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    levels = list(
        TicketEvent.objects.filter(ticket=ticket, action="escalated").order_by("id").values_list("changes", flat=True)
    )
    assert levels == [{"escalation_level": [0, 1]}, {"escalation_level": [1, 2]}]
    assert sum(1 for n in notices(ticket) if n[:3] == ("sla_breach", "resolution", 100)) == 3


def test_a_breach_while_a_department_holds_the_case_names_the_department(people, clock):
    agent = people["agent"]
    ticket = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START)
    for description in ("验货", "补发"):  # two subtasks of one department: it is named once
        subtask_create(
            ticket=ticket,
            actor=agent,
            department=Department.objects.get(code="warehouse"),
            kind=Subtask.Kind.INSPECT_RETURN,
            description=description,
            due_at=T0 + timedelta(days=5),
        )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_DEPARTMENT

    clock(hours=48, minutes=1)
    sla_sweep()

    breach = TicketEvent.objects.get(ticket=ticket, action="sla_breached")
    assert breach.changes["sla"][1]["held_by"] == ["warehouse"]
    assert "warehouse" in breach.reason_text
    breach_notices = Notification.objects.filter(ticket=ticket, kind="sla_breach")
    assert len(breach_notices) == 3
    assert all(n.data["held_by"] == ["warehouse"] for n in breach_notices)


# Pause and resume ----------------------------------------------------------------------------------


def waiting_on_customer(people, clock) -> Ticket:
    """Answered at T0+1h (first response stopped), then waiting on the customer from T0+1h."""
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    clock(hours=1)
    services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="请提供照片")
    return move(ticket, agent, Action.TRIAGE, Action.START, Action.WAIT_CUSTOMER)


def test_a_ticket_waiting_on_the_customer_is_not_notified(people, clock):
    ticket = waiting_on_customer(people, clock)
    assert (ticket.sla_state, ticket.sla_next_check_at) == (SLAState.PAUSED, None)

    clock(days=10)  # long past every target had the clock been running
    result = sla_sweep()

    assert result.tickets == 0
    assert notices(ticket) == []
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0


def test_after_the_customer_replies_the_resumed_due_time_is_honoured(people, clock):
    agent = people["agent"]
    ticket = waiting_on_customer(people, clock)
    clock(days=2, hours=1)  # paused exactly 2 days
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="照片已发")
    services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="收到")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    new_due = T0 + RESOLUTION + timedelta(days=2)
    assert ticket.resolution_due_at == new_due
    assert ticket.sla_next_check_at == T0 + RESOLUTION / 2 + timedelta(days=2)

    # The old 50 % moment (3.5 days) and the old due time pass without a word,
    clock(days=3, hours=13)
    assert sla_sweep().notifications == 0
    clock(days=7, minutes=1)
    sla_sweep()
    assert notices(ticket) == [("sla_warning", "resolution", 50, "sweep-agent")]  # only the shifted 50 %

    # and the breach comes at the new due time.
    clock(days=9, minutes=-1)
    sla_sweep()
    assert not [n for n in notices(ticket) if n[0] == "sla_breach"]
    clock(days=9, minutes=1)
    sla_sweep()
    breaches = [n for n in Notification.objects.filter(ticket=ticket, kind="sla_breach")]
    assert len(breaches) == 3
    assert {n.data["due_at"] for n in breaches} == {new_due.isoformat()}




def test_a_warning_sent_before_a_pause_is_not_repeated_after_resume(people, clock):
    agent = people["agent"]
    ticket = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START)
    services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="您好")
    clock(days=4)  # 57 % of the resolution target used: the 50 % warning goes out
    sla_sweep()
    assert notices(ticket) == [("sla_warning", "resolution", 50, "sweep-agent")]
    move(ticket, agent, Action.WAIT_CUSTOMER)

    clock(days=5)  # a day later the customer answers; still 57 % used
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="好的")
    services.message_add(ticket=ticket, actor=agent, direction=Message.Direction.OUTBOUND, body="收到")
    clock(days=5, minutes=1)
    sla_sweep()

    assert notices(ticket) == [("sla_warning", "resolution", 50, "sweep-agent")]


def test_a_breach_notified_before_a_pause_is_not_notified_or_escalated_again_after_resume(people, clock):
    agent = people["agent"]
    ticket = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START)
    clock(hours=49)  # first response breached: 2 warnings, the breach to 3 people, level 1
    sla_sweep()
    assert (len(notices(ticket)), Ticket.objects.get(pk=ticket.pk).escalation_level) == (5, 1)
    move(ticket, agent, Action.WAIT_CUSTOMER)

    clock(hours=60)
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="好的")
    clock(hours=60, minutes=1)
    sla_sweep()

    assert (len(notices(ticket)), Ticket.objects.get(pk=ticket.pk).escalation_level) == (5, 1)


# Follow-up ----------------------------------------------------------------------------------------


def test_the_follow_up_clock_notifies_the_assignee_once(people, clock):
    agent = people["agent"]
    ticket = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START)
    clock(hours=1)
    ticket = move(ticket, agent, Action.RESOLVE)
    assert ticket.follow_up_due_at == T0 + timedelta(hours=1) + FOLLOW_UP

    clock(hours=1, days=3, minutes=1)
    sla_sweep()
    sla_sweep()
    clock(hours=1, days=4)
    sla_sweep()

    assert notices(ticket) == [("follow_up_due", "follow_up", 100, "sweep-agent")]
    assert sla_events(ticket) == ["follow_up_due"]
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0


# Subtasks -----------------------------------------------------------------------------------------


def test_subtask_sweep_tells_the_department_once_when_due_soon_and_once_when_overdue(people, clock):
    agent = people["agent"]
    for i in (1, 2):
        make_user("department_staff", username=f"sweep-wh{i}", department="warehouse")
    make_user("department_staff", username="sweep-fin", department="finance")
    ticket = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START)
    subtask = subtask_create(
        ticket=ticket,
        actor=agent,
        department=Department.objects.get(code="warehouse"),
        kind=Subtask.Kind.INSPECT_RETURN,
        description="验货",
        due_at=T0 + timedelta(hours=10),
    )
    assert subtask.due_soon_at == T0 + timedelta(hours=8)

    def subtask_notices():
        return sorted(
            Notification.objects.filter(subtask=subtask).values_list("kind", "recipient__username")
        )

    clock(hours=7, minutes=59)
    assert subtask_sweep() == 0
    clock(hours=8, minutes=1)
    assert subtask_sweep() == 1
    assert subtask_sweep() == 0
    assert subtask_notices() == [("subtask_due_soon", "sweep-wh1"), ("subtask_due_soon", "sweep-wh2")]

    clock(hours=10, minutes=1)
    assert subtask_sweep() == 1
    clock(hours=11)
    assert subtask_sweep() == 0
    assert subtask_notices() == [
        ("subtask_due_soon", "sweep-wh1"),
        ("subtask_due_soon", "sweep-wh2"),
        ("subtask_overdue", "sweep-wh1"),
        ("subtask_overdue", "sweep-wh2"),
    ]
    assert list(
        TicketEvent.objects.filter(ticket=ticket, action__startswith="subtask_").values_list("action", flat=True)
    ) == ["subtask_created", "subtask_due_soon", "subtask_overdue"]


# Auto-close ---------------------------------------------------------------------------------------


def test_resolved_tickets_silent_for_the_auto_close_days_are_closed_others_are_left(people, clock, settings):
    settings.AUTO_CLOSE_DAYS = 7
    agent = people["agent"]
    silent = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START, Action.RESOLVE)
    answered = move(new_ticket(agent, assignee=agent), agent, Action.TRIAGE, Action.START, Action.RESOLVE)
    clock(days=2)
    services.message_add(ticket=answered, actor=None, direction=Message.Direction.INBOUND, body="还是不行")

    clock(days=6, hours=23)
    assert auto_close_silent_tickets() == 0
    clock(days=7, minutes=1)
    assert auto_close_silent_tickets() == 1
    assert auto_close_silent_tickets() == 0

    silent.refresh_from_db()
    answered.refresh_from_db()
    assert (silent.status, answered.status) == (Status.CLOSED, Status.RESOLVED)
    close = TicketEvent.objects.get(ticket=silent, action=Action.CLOSE)
    assert "no reply" in close.reason_text.lower()
    assert close.actor is None
    assert TicketEvent.objects.get(ticket=silent, action="follow_up_recorded").changes == {
        "follow_up_result": [None, "silent"]
    }
    assert Notification.objects.filter(ticket=silent, kind="auto_closed", recipient=agent).count() == 1
    assert not TicketEvent.objects.filter(ticket=answered, action__in=[Action.CLOSE, "follow_up_recorded"]).exists()


# E-mail -------------------------------------------------------------------------------------------


def test_each_notice_is_mailed_once_and_users_without_email_are_marked_sent(people, clock, mailoutbox):
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    clock(hours=49)
    sla_sweep()
    assert Notification.objects.count() == 5  # agent 3, sup1 1, sup2 (no e-mail) 1

    assert notifications_send_emails() == 4
    assert notifications_send_emails() == 0

    assert sorted(m.to[0] for m in mailoutbox) == ["agent@example.com"] * 3 + ["sup1@example.com"]
    assert all(ticket.number in m.subject for m in mailoutbox)
    assert not Notification.objects.filter(email_sent_at__isnull=True).exists()  # sup2's too


def test_a_claim_older_than_ten_minutes_is_mailed_again(people, clock, mailoutbox):
    agent = people["agent"]
    ticket = new_ticket(agent, assignee=agent)
    notice = {"recipient": agent, "kind": "sla_warning", "ticket": ticket}
    stale = Notification.objects.create(**notice, dedupe_key="stale", email_claimed_at=T0 - timedelta(minutes=11))
    fresh = Notification.objects.create(**notice, dedupe_key="fresh", email_claimed_at=T0 - timedelta(minutes=5))

    assert notifications_send_emails() == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.email_sent_at is not None
    assert (fresh.email_sent_at, fresh.email_claimed_at) == (None, T0 - timedelta(minutes=5))
    assert len(mailoutbox) == 1
    clock(minutes=6)  # the fresh claim is now 11 minutes old: the worker holding it is presumed dead
    assert notifications_send_emails() == 1
    assert len(mailoutbox) == 2


# Query count ----------------------------------------------------------------------------------------


def sweep_queries(people, clock, count: int, *, start_day: int, hours_later: float) -> int:
    """Take in `count` tickets on `start_day`, move `hours_later` on, sweep; return the sweep's query count."""
    clock(days=start_day)
    SLACheck.objects.all().delete()  # earlier tickets stay out of this sweep
    tickets = [new_ticket(people["agent"], assignee=people["agent"]) for _ in range(count)]
    clock(days=start_day, hours=hours_later)
    with CaptureQueriesContext(connection) as queries:
        result = sla_sweep()
    assert (result.tickets, result.batches) == (count, 1)
    assert Notification.objects.filter(ticket__in=tickets).count() >= count
    return len(queries)




def test_a_sweep_batch_costs_the_same_queries_for_5_or_50_due_tickets(people, clock):
    # One warning each (50 %): within SQLite's bulk-insert limits too.
    few = sweep_queries(people, clock, 5, start_day=0, hours_later=24.1)
    many = sweep_queries(people, clock, 50, start_day=30, hours_later=24.1)
    assert few == many


@pytest.mark.postgres
def test_a_breaching_sweep_batch_costs_the_same_queries_for_5_or_50_due_tickets(people, clock):
    # Two warnings, a breach to three people and an escalation each (PostgreSQL: no bulk batch limit).
    few = sweep_queries(people, clock, 5, start_day=0, hours_later=49)
    many = sweep_queries(people, clock, 50, start_day=30, hours_later=49)
    assert few == many


# Two sweeps at once (PostgreSQL row locks) -------------------------------------------------------------


def sweeps_at_once(count: int, **kwargs) -> list:
    """`count` sweeps in their own threads (own connections), released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def sweep(index):
        try:
            barrier.wait(timeout=10)
            results[index] = sla_sweep(**kwargs)
        except Exception as exc:  # the test inspects what each sweep got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a sweep hung"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_the_same_moment_notify_as_one(people, clock):
    agent = people["agent"]
    rounds, per_round = 3, 30
    for round_ in range(rounds):
        clock(days=10 * round_)
        SLACheck.objects.all().delete()  # earlier rounds stay out of this one
        tickets = [new_ticket(agent, assignee=agent) for _ in range(per_round)]
        clock(days=10 * round_, hours=49)
        results = sweeps_at_once(2, batch_size=4)
        assert not [r for r in results if isinstance(r, Exception)], results

        # One sweep's worth: per ticket 2 warnings + a breach to the agent and 2 supervisors.
        assert Notification.objects.filter(ticket__in=tickets).count() == 5 * per_round, round_
        assert TicketEvent.objects.filter(ticket__in=tickets, action__in=SLA_ACTIONS).count() == 4 * per_round
        assert sum(r.tickets for r in results) == per_round, round_
        levels = Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("escalation_level", flat=True)
        assert set(levels) == {1}, round_
