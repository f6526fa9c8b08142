"""Priority and risk suggestions: the pure rules, and how the intake service feeds and respects them."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Priority, RiskLevel, Ticket
from tickets.suggestions import REASON_LABELS, CaseFacts, reason_labels, suggest

# Pure rules ------------------------------------------------------------------------------------

def test_a_plain_case_is_normal_priority_and_low_risk():
    s = suggest(CaseFacts(ticket_type="return_refund", channel="chat"))

    assert (s.priority, s.risk) == (Priority.P3, RiskLevel.LOW)
    assert s.priority_reasons == [] and s.risk_reasons == []


def test_exposure_threat_is_high_risk_and_p1():
    s = suggest(CaseFacts(ticket_type="return_refund", threatens_exposure=True))

    assert (s.risk, s.priority) == (RiskLevel.HIGH, Priority.P1)
    assert s.risk_reasons == ["exposure_threat"]
    assert "high_risk" in s.priority_reasons


@pytest.mark.parametrize(
    "facts", [CaseFacts(channel="platform_dispute"), CaseFacts(channel="chat", platform_intervention=True)]
)
def test_platform_dispute_or_intervention_is_high_risk(facts):
    s = suggest(facts)

    assert (s.risk, s.priority) == (RiskLevel.HIGH, Priority.P1)
    assert s.risk_reasons == ["platform_intervention"]


def test_complaint_is_medium_risk_and_p2():
    s = suggest(CaseFacts(ticket_type="complaint"))

    assert (s.risk, s.priority) == (RiskLevel.MEDIUM, Priority.P2)
    assert s.risk_reasons == ["complaint"] and s.priority_reasons == ["complaint"]


def test_consultation_is_p4():
    s = suggest(CaseFacts(ticket_type="consultation"))

    assert (s.priority, s.risk) == (Priority.P4, RiskLevel.LOW)
    assert s.priority_reasons == ["consultation"]


@pytest.mark.parametrize(
    ("ticket_type", "expected"),
    [("", Priority.P2), ("consultation", Priority.P3), ("complaint", Priority.P1)],
)
def test_vip_raises_priority_one_step_and_risk_to_medium(ticket_type, expected):
    s = suggest(CaseFacts(ticket_type=ticket_type, customer_is_vip=True))

    assert s.priority == expected
    assert s.priority_reasons[-1] == "vip"
    assert s.risk == RiskLevel.MEDIUM
    assert "vip" in s.risk_reasons


def test_vip_cannot_raise_priority_above_p1():
    s = suggest(CaseFacts(threatens_exposure=True, customer_is_vip=True))

    assert (s.priority, s.risk) == (Priority.P1, RiskLevel.HIGH)


@pytest.mark.parametrize(
    ("contacts", "risk", "reason"),
    [(0, RiskLevel.LOW, None), (1, RiskLevel.MEDIUM, "repeat_contact"), (2, RiskLevel.HIGH, "repeat_contact_many"),
     (5, RiskLevel.HIGH, "repeat_contact_many")],
)
def test_repeat_contacts_raise_risk(contacts, risk, reason):
    s = suggest(CaseFacts(recent_contacts=contacts))

    assert s.risk == risk
    assert s.risk_reasons == ([reason] if reason else [])


@pytest.mark.parametrize(
    ("amount", "risk"),
    [(None, RiskLevel.LOW), (Decimal("999.99"), RiskLevel.LOW), (Decimal("1000"), RiskLevel.MEDIUM),
     (Decimal("5000"), RiskLevel.MEDIUM)],
)
def test_large_amount_at_or_above_the_threshold_is_medium_risk(amount, risk):
    s = suggest(CaseFacts(amount=amount, amount_threshold=Decimal("1000")))

    assert s.risk == risk
    assert ("large_amount" in s.risk_reasons) == (risk == RiskLevel.MEDIUM)


def test_risk_never_goes_down_and_every_reason_is_kept():
    s = suggest(CaseFacts(ticket_type="complaint", threatens_exposure=True, recent_contacts=1,
                          amount=Decimal("2000")))

    assert s.risk == RiskLevel.HIGH
    assert s.risk_reasons == ["exposure_threat", "complaint", "repeat_contact", "large_amount"]


def test_every_reason_code_has_a_label():
    s = suggest(CaseFacts(ticket_type="complaint", channel="platform_dispute", threatens_exposure=True,
                          customer_is_vip=True, customer_is_difficult=True, recent_contacts=2,
                          amount=Decimal("9999")))

    for code in s.risk_reasons + s.priority_reasons:
        assert code in REASON_LABELS
    assert reason_labels(["vip", "no_such_code"]) == [str(REASON_LABELS["vip"]), "no_such_code"]


# Through the intake service ----------------------------------------------------------------------

def create(actor, customer, **fields) -> Ticket:
    return services.ticket_create(
        actor=actor, channel="chat", description="又来问退款进度", customer=customer,
        **{"type": "return_refund", "category": "logistics", **fields},
    )


def test_intake_stores_the_suggestion_and_its_reasons(agent):
    ticket = create(agent, CustomerFactory(), type="complaint", threatens_exposure=True)

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.risk_level) == (Priority.P1, RiskLevel.HIGH)
    assert ticket.risk_reasons == ["exposure_threat", "complaint"]
    assert ticket.events.get(action="created").changes["risk_level"] == [RiskLevel.LOW, RiskLevel.HIGH]


def test_intake_counts_recent_contacts_of_the_same_customer(agent):
    customer = CustomerFactory()
    create(agent, CustomerFactory())  # someone else's ticket does not count

    first = create(agent, customer)
    second = create(agent, customer)
    third = create(agent, customer)

    assert first.risk_level == RiskLevel.LOW
    assert (second.risk_level, second.risk_reasons) == (RiskLevel.MEDIUM, ["repeat_contact"])
    assert (third.risk_level, third.risk_reasons) == (RiskLevel.HIGH, ["repeat_contact_many"])
    assert third.priority == Priority.P1


def test_contacts_older_than_the_repeat_window_do_not_count(agent, settings):
    settings.REPEAT_CONTACT_DAYS = 7
    customer = CustomerFactory()
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        create(agent, customer)
    with time_machine.travel(timezone.now() - timedelta(days=6)):
        create(agent, customer)

    ticket = create(agent, customer)

    assert (ticket.risk_level, ticket.risk_reasons) == (RiskLevel.MEDIUM, ["repeat_contact"])


def test_intake_uses_the_amount_threshold_setting(agent, settings):
    settings.RISK_AMOUNT_THRESHOLD = Decimal("300")

    ticket = create(agent, CustomerFactory(), requested_amount=Decimal("300"))

    assert (ticket.risk_level, ticket.risk_reasons) == (RiskLevel.MEDIUM, ["large_amount"])


def test_vip_customer_gets_a_higher_priority_at_intake(agent):
    ticket = create(agent, CustomerFactory(tier="vip"))

    assert (ticket.priority, ticket.risk_level) == (Priority.P2, RiskLevel.MEDIUM)


# A person's override -------------------------------------------------------------------------------

def test_priority_override_is_recorded_and_survives_reclassification(agent):
    # Given a ticket whose priority a person has set to P4, with a reason
    ticket = create(agent, CustomerFactory())
    ticket = services.ticket_override_priority(ticket=ticket, actor=agent, priority="P4", reason="客户说不急")
    event = ticket.events.get(action="priority_overridden")
    assert (event.actor, event.changes, event.reason) == (agent, {"priority": ["P3", "P4"]}, "客户说不急")

    # When it is classified as a complaint (which would suggest P2 and medium risk)
    ticket = services.ticket_classify(ticket=ticket, actor=agent, type="complaint")

    # Then the person's priority stands while the risk, not overridden, follows the rules
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_overridden) == (Priority.P4, True)
    assert ticket.risk_level == RiskLevel.MEDIUM


def test_risk_override_writes_a_risk_overridden_event(agent):
    ticket = create(agent, CustomerFactory())

    ticket = services.ticket_override_risk(ticket=ticket, actor=agent, risk_level="high", reason="已在微博发帖")

    event = ticket.events.get(action="risk_overridden")
    assert (event.actor, event.changes, event.reason) == (agent, {"risk_level": ["low", "high"]}, "已在微博发帖")


def test_risk_override_is_recorded_and_survives_reclassification(agent):
    ticket = create(agent, CustomerFactory())
    ticket = services.ticket_override_risk(ticket=ticket, actor=agent, risk_level="high", reason="已在微博发帖")
    event = ticket.events.get(action__endswith="_overridden")
    assert (event.changes, event.reason) == ({"risk_level": ["low", "high"]}, "已在微博发帖")

    services.ticket_classify(ticket=ticket, actor=agent, type="consultation")

    ticket.refresh_from_db()
    assert (ticket.risk_level, ticket.risk_overridden) == (RiskLevel.HIGH, True)
    assert ticket.priority == Priority.P4


@pytest.mark.parametrize("reason", ["", "  "])
def test_override_needs_a_reason(agent, reason):
    ticket = create(agent, CustomerFactory())

    with pytest.raises(ValidationError) as refused:
        services.ticket_override_priority(ticket=ticket, actor=agent, priority="P1", reason=reason)
    with pytest.raises(ValidationError):
        services.ticket_override_risk(ticket=ticket, actor=agent, risk_level="high", reason=reason)

    assert "reason" in refused.value.message_dict
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_overridden, ticket.risk_overridden) == (Priority.P3, False, False)
    assert not ticket.events.filter(action__endswith="_overridden").exists()


def test_override_refuses_an_unknown_value(agent):
    ticket = create(agent, CustomerFactory())

    with pytest.raises(ValidationError):
        services.ticket_override_priority(ticket=ticket, actor=agent, priority="P0", reason="最高")

    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.P3
