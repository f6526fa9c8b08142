"""Follow-up (回访) after resolution: survey answers, follow-up records, close outcome, archive guard."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tickets import services
from tickets.followup.models import FollowUp, SatisfactionSurvey
from tickets.followup.services import follow_up_record, survey_submit
from tickets.models import Channel, CloseOutcome, Notification, Status, Ticket, TicketEvent
from tickets.sla.sweep import auto_close_silent_tickets
from tickets.workflow import TicketReadOnly, TransitionRefused, ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {
        "agent": make_user("agent", username="fu_agent"),
        "supervisor": make_user("supervisor", username="fu_super"),
    }


def resolved_ticket(agent) -> Ticket:
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("199"))
    OrderItemFactory(order=order)
    ticket = services.ticket_create(actor=agent, channel="chat", description="鞋子开胶了", order=order,
                                    type="exchange", category="product_quality")
    for action in ("triage", "start", "resolve"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)  # the agent's case (notifications go to them)
    ticket.refresh_from_db()
    return ticket


def kinds_for(user) -> set[str]:
    return set(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


# Survey --------------------------------------------------------------------------------------------


def test_solved_with_a_score_closes_the_ticket_as_rated(people):
    ticket = resolved_ticket(people["agent"])
    survey = survey_submit(ticket=ticket, solved=True, score=5, comment="很满意")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.close_outcome == CloseOutcome.RATED
    assert survey.resolved_at == ticket.resolved_at and survey.channel == Channel.CUSTOMER_LINK
    assert ticket.events.filter(action="survey_answered").count() == 1
    assert not kinds_for(people["supervisor"])  # a good score alerts nobody


def test_solved_without_a_score_closes_as_confirmed(people):
    ticket = resolved_ticket(people["agent"])
    survey_submit(ticket=ticket, solved=True, score=None)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.CONFIRMED)


def test_not_solved_reopens_with_the_customers_words_and_tells_assignee_and_supervisors(people):
    ticket = resolved_ticket(people["agent"])
    survey_submit(ticket=ticket, solved=False, score=2, comment="换的新鞋还是开胶")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.reopen_count == 1 and ticket.resolved_at is None and ticket.close_outcome == ""
    reopen = ticket.events.get(action="reopen")
    assert "换的新鞋还是开胶" in reopen.reason_text
    assert Notification.Kind.NOT_SOLVED in kinds_for(people["agent"])
    assert Notification.Kind.NOT_SOLVED in kinds_for(people["supervisor"])


def test_a_low_score_on_a_solved_case_alerts_the_supervisors(people):
    ticket = resolved_ticket(people["agent"])
    survey_submit(ticket=ticket, solved=True, score=1, comment="态度太差")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert Notification.Kind.LOW_SATISFACTION in kinds_for(people["supervisor"])


def test_one_answer_per_resolution_and_asked_again_after_a_reopen(people):
    ticket = resolved_ticket(people["agent"])
    survey_submit(ticket=ticket, solved=False, score=None, comment="没修好")
    with pytest.raises(ValidationError):  # reopened: no survey until it is resolved again
        survey_submit(ticket=ticket, solved=True, score=5)
    ticket = ticket_transition(ticket=ticket, action="resolve", actor=people["agent"])
    survey_submit(ticket=ticket, solved=True, score=4)
    with pytest.raises(ValidationError, match="already"):
        survey_submit(ticket=ticket, solved=True, score=5)
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 2


def test_a_survey_is_refused_before_resolution_and_changes_nothing(people):
    ticket = resolved_ticket(people["agent"])
    ticket = ticket_transition(ticket=ticket, action="reopen", actor=people["agent"], reason="客户又来电")
    events = ticket.events.count()
    with pytest.raises(ValidationError):
        survey_submit(ticket=ticket, solved=True, score=5)
    assert not SatisfactionSurvey.objects.exists() and ticket.events.count() == events


@pytest.mark.parametrize("score", [0, 6])
def test_a_score_outside_1_to_5_is_refused(people, score):
    ticket = resolved_ticket(people["agent"])
    with pytest.raises(ValidationError, match="1 to 5"):
        survey_submit(ticket=ticket, solved=True, score=score)
    assert not SatisfactionSurvey.objects.exists()


def test_a_late_rating_after_a_silent_auto_close_updates_the_outcome(people):
    ticket = resolved_ticket(people["agent"])
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert auto_close_silent_tickets() == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.SILENT)
    survey_submit(ticket=ticket, solved=True, score=4)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.RATED)


# Follow-up records -----------------------------------------------------------------------------------


def test_follow_up_solved_closes_as_confirmed(people):
    ticket = resolved_ticket(people["agent"])
    follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="solved", note="电话确认")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.CONFIRMED)
    assert ticket.events.filter(action="follow_up_recorded").exists()


def test_follow_up_with_a_score_taken_on_the_call_is_the_survey(people):
    ticket = resolved_ticket(people["agent"])
    follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="solved", note="满意",
                     score=4)
    ticket.refresh_from_db()
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.score, survey.channel, survey.recorded_by) == (4, Channel.PHONE, people["agent"])
    assert ticket.close_outcome == CloseOutcome.RATED


def test_follow_up_not_solved_needs_a_note_and_reopens(people):
    ticket = resolved_ticket(people["agent"])
    with pytest.raises(ValidationError, match="still wrong"):
        follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="not_solved")
    assert not FollowUp.objects.exists()
    follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="not_solved",
                     note="新鞋同样开胶")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.reopen_count == 1


def test_no_answer_leaves_the_case_for_auto_close_which_records_silent(people):
    ticket = resolved_ticket(people["agent"])
    follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="no_answer")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        auto_close_silent_tickets()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.SILENT)


def test_a_confirmation_on_the_phone_after_a_silent_close_updates_the_outcome(people):
    ticket = resolved_ticket(people["agent"])
    ticket = ticket_transition(ticket=ticket, action="close", actor=people["agent"])
    assert ticket.close_outcome == CloseOutcome.SILENT
    follow_up_record(ticket=ticket, actor=people["agent"], channel=Channel.PHONE, result="solved", note="已确认")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_outcome) == (Status.CLOSED, CloseOutcome.CONFIRMED)
    assert ticket.events.filter(action="close_outcome_changed").count() == 1


def test_closing_by_hand_without_any_answer_records_silent(people):
    ticket = resolved_ticket(people["agent"])
    ticket = ticket_transition(ticket=ticket, action="close", actor=people["agent"])
    assert ticket.close_outcome == CloseOutcome.SILENT


# Archive -------------------------------------------------------------------------------------------------


def test_archive_needs_all_three_parts_of_the_summary(people):
    agent = people["agent"]
    ticket = resolved_ticket(agent)
    ticket = ticket_transition(ticket=ticket, action="close", actor=agent)
    services.ticket_set_summary(ticket=ticket, actor=agent, root_cause="鞋底胶水批次问题", summary="换新",
                                what_worked="")
    with pytest.raises(TransitionRefused, match="summary"):
        ticket_transition(ticket=ticket, action="archive", actor=agent)
    services.ticket_set_summary(ticket=ticket, actor=agent, root_cause="鞋底胶水批次问题", summary="换新",
                                what_worked="同批次主动联系客户")
    ticket = ticket_transition(ticket=ticket, action="archive", actor=agent)
    assert ticket.status == Status.ARCHIVED


def test_archived_tickets_refuse_surveys_follow_ups_and_summary_edits(people):
    agent = people["agent"]
    ticket = resolved_ticket(agent)
    ticket = ticket_transition(ticket=ticket, action="close", actor=agent)
    services.ticket_set_summary(ticket=ticket, actor=agent, root_cause="a", summary="b", what_worked="c")
    ticket = ticket_transition(ticket=ticket, action="archive", actor=agent)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    with pytest.raises(TicketReadOnly):
        survey_submit(ticket=ticket, solved=True, score=5)
    with pytest.raises(TicketReadOnly):
        follow_up_record(ticket=ticket, actor=agent, channel=Channel.PHONE, result="solved")
    with pytest.raises(TicketReadOnly):
        services.ticket_set_summary(ticket=ticket, actor=agent, root_cause="x", summary="y", what_worked="z")
    ticket.refresh_from_db()
    assert ticket.root_cause == "a" and TicketEvent.objects.filter(ticket=ticket).count() == events


def test_an_empty_summary_is_refused(people):
    ticket = resolved_ticket(people["agent"])
    with pytest.raises(ValidationError):
        services.ticket_set_summary(ticket=ticket, actor=people["agent"], root_cause=" ", summary="", what_worked="")


# SLA compliance kept after the clock stops -----------------------------------------------------------------


def test_a_late_first_response_leaves_the_breach_mark(people, settings):
    agent = people["agent"]
    from tickets.sla.models import SLAPolicy

    policy = SLAPolicy.objects.filter(is_active=True).order_by("pk").first()
    assert policy is not None
    customer = CustomerFactory(platform="taobao")
    ticket = services.ticket_create(actor=agent, channel="chat", description="还没发货", customer=customer)
    assert ticket.first_response_due_at is not None
    with time_machine.travel(ticket.first_response_due_at + timedelta(hours=1)):
        services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好，马上为您查询")
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None and ticket.first_response_due_at is None
    assert ticket.first_response_breached is True
    assert ticket.resolution_breached is False


def test_an_answer_in_time_leaves_no_breach_mark(people):
    agent = people["agent"]
    ticket = services.ticket_create(actor=agent, channel="chat", description="还没发货",
                                    customer=CustomerFactory(platform="taobao"))
    services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好")
    ticket.refresh_from_db()
    assert ticket.first_response_breached is False
