"""Which SLA policy a ticket gets (tickets/sla/clock.py SLAContext.policy_for), and the migration's defaults."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Priority, SLAState, Ticket, TicketType
from tickets.sla.clock import SLAContext
from tickets.sla.models import BusinessCalendar, PromoPeriod, SLAPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar():
    """Only the policies a test creates are active."""
    SLAPolicy.objects.update(is_active=False)
    return BusinessCalendar.objects.get(name="7×24")


def policy(calendar, name, **criteria) -> SLAPolicy:
    targets = {"first_response_minutes": 60, "next_response_minutes": 60, "resolution_minutes": 600}
    return SLAPolicy.objects.create(name=name, calendar=calendar, follow_up_minutes=60, **{**targets, **criteria})


def ticket(**fields) -> Ticket:
    """An unsaved ticket: matching reads only its fields and its customer's tier."""
    defaults = {
        "channel": "chat",
        "customer": CustomerFactory(),
        "priority": Priority.P3,
        "type": TicketType.RETURN_REFUND,
    }
    return Ticket(description="尺码不对", **{**defaults, **fields})


def matched(t: Ticket) -> str | None:
    found = SLAContext.load().policy_for(t)
    return found.name if found else None


@pytest.fixture
def promo_now():
    now = timezone.now()
    return PromoPeriod.objects.create(name="双十一", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))


def test_blank_criteria_match_any_ticket(calendar):
    policy(calendar, "catch-all")
    assert matched(ticket()) == "catch-all"
    assert matched(ticket(priority=Priority.P1, type=TicketType.COMPLAINT, channel="phone")) == "catch-all"
    assert matched(ticket(customer=CustomerFactory(tier="vip"))) == "catch-all"


def test_a_criterion_that_differs_from_the_ticket_does_not_match(calendar):
    policy(calendar, "P1 only", priority=Priority.P1)
    policy(calendar, "phone only", channel="phone")
    policy(calendar, "VIP only", customer_tier="vip")
    assert matched(ticket(priority=Priority.P2, channel="chat")) is None
    assert matched(ticket(customer=CustomerFactory(tier="vip"))) == "VIP only"


def test_the_most_specific_policy_wins(calendar):
    policy(calendar, "P1 + complaint", priority=Priority.P1, ticket_type=TicketType.COMPLAINT)
    policy(calendar, "catch-all")
    policy(calendar, "P1", priority=Priority.P1)
    assert matched(ticket(priority=Priority.P1, type=TicketType.COMPLAINT)) == "P1 + complaint"
    assert matched(ticket(priority=Priority.P1, type=TicketType.RETURN_REFUND)) == "P1"
    assert matched(ticket(priority=Priority.P3)) == "catch-all"


def test_a_tie_goes_to_the_older_policy(calendar):
    policy(calendar, "older: P2", priority=Priority.P2)
    policy(calendar, "newer: complaint", ticket_type=TicketType.COMPLAINT)
    policy(calendar, "newest: chat", channel="chat")
    assert matched(ticket(priority=Priority.P2, type=TicketType.COMPLAINT, channel="chat")) == "older: P2"


def test_an_inactive_policy_never_matches(calendar):
    policy(calendar, "catch-all")
    policy(calendar, "P1 but switched off", priority=Priority.P1, is_active=False)
    assert matched(ticket(priority=Priority.P1)) == "catch-all"


def test_a_big_promo_policy_does_not_apply_outside_a_promo(calendar):
    policy(calendar, "catch-all")
    policy(calendar, "promo", big_promo_only=True)
    PromoPeriod.objects.create(
        name="618 (past)", starts_at=timezone.now() - timedelta(days=10), ends_at=timezone.now() - timedelta(days=9)
    )
    assert matched(ticket()) == "catch-all"


def test_during_a_promo_a_big_promo_policy_wins_a_tie(calendar, promo_now):
    policy(calendar, "catch-all")
    policy(calendar, "promo", big_promo_only=True)
    policy(calendar, "P2", priority=Priority.P2)
    policy(calendar, "promo P2", priority=Priority.P2, big_promo_only=True)
    assert matched(ticket()) == "promo"
    assert matched(ticket(priority=Priority.P2)) == "promo P2"


def test_during_a_promo_a_more_specific_ordinary_policy_still_beats_a_promo_policy(calendar, promo_now):
    policy(calendar, "promo", big_promo_only=True)
    policy(calendar, "P1", priority=Priority.P1)
    assert matched(ticket(priority=Priority.P1)) == "P1"
    assert matched(ticket(priority=Priority.P3)) == "promo"


def test_no_matching_policy_means_no_sla_and_no_due_times(calendar, agent):
    policy(calendar, "P1 only", priority=Priority.P1)
    t = services.ticket_create(
        actor=agent, channel="chat", description="尺码不对", customer=CustomerFactory(), type="return_refund"
    )
    t.refresh_from_db()
    assert t.priority == Priority.P3
    assert t.sla_policy is None
    assert t.sla_state == SLAState.NONE
    assert (t.first_response_due_at, t.next_response_due_at, t.resolution_due_at, t.follow_up_due_at) == (None,) * 4
    assert t.sla_next_check_at is None


def test_by_default_a_p3_return_gets_the_48_hour_catch_all_on_the_7x24_calendar(agent):
    # A customer of the shop's own site: no platform policy applies (see tests/playbook/test_platform_clocks.py).
    t = services.ticket_create(
        actor=agent, channel="chat", description="想退货", customer=CustomerFactory(platform="own_site"),
        type="return_refund",
    )
    t.refresh_from_db()
    assert t.priority == Priority.P3
    assert t.sla_policy.name == "默认 Default (48h reply)"
    assert t.sla_policy.calendar.name == "7×24"
    assert t.first_response_due_at == t.created_at + timedelta(hours=48)
    assert t.resolution_due_at == t.created_at + timedelta(days=7)
    assert t.sla_state == SLAState.ON_TRACK


def test_by_default_a_complaint_runs_on_service_hours_and_p1_on_the_urgent_policy():
    complaint = ticket(priority=Priority.P2, type=TicketType.COMPLAINT)
    # P2 and complaint are both one-criterion policies: the older (P2) wins the tie.
    assert matched(complaint) == "P2 high"
    assert matched(ticket(priority=Priority.P3, type=TicketType.COMPLAINT)) == "投诉 Complaint"
    assert matched(ticket(priority=Priority.P1)) == "P1 urgent"
    assert SLAPolicy.objects.get(name="投诉 Complaint").calendar.name == "客服工作时间 Service hours"
