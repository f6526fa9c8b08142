"""Priority and risk suggestions: the pure rules, and how the intake service feeds and respects them."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import CustomerFactory, OrderFactory
from tickets import services
from tickets.models import Priority, RiskLevel, Ticket
from tickets.suggestions import REASON_LABELS, CaseFacts, exposure_words_in, reason_labels, suggest

# Pure rules: one table, read as "these facts -> this priority and risk, for these reasons" ------------

RULES = [
    # (name, facts, priority, priority reasons, risk, risk reasons)
    ("a plain case", CaseFacts(ticket_type="return_refund", channel="chat"), "P3", [], "low", []),
    ("a plain invoice question", CaseFacts(ticket_type="consultation"), "P4", ["consultation"], "low", []),
    ("a threat the agent confirmed", CaseFacts(ticket_type="return_refund", threatens_exposure=True),
     "P1", ["high_risk"], "high", ["exposure_threat"]),
    ("the customer's words name 微博: asks the agent", CaseFacts(exposure_words=("微博", "曝光")),
     "P3", [], "medium", ["exposure_words:微博,曝光"]),
    ("confirmed beats the words", CaseFacts(threatens_exposure=True, exposure_words=("微博",)),
     "P1", ["high_risk"], "high", ["exposure_threat"]),
    ("a platform dispute", CaseFacts(channel="platform_dispute"), "P1", ["high_risk"], "high",
     ["platform_intervention"]),
    ("the platform intervened", CaseFacts(channel="chat", platform_intervention=True), "P1", ["high_risk"], "high",
     ["platform_intervention"]),
    ("a complaint", CaseFacts(ticket_type="complaint"), "P2", ["complaint"], "medium", ["complaint"]),
    ("a second contact about the same order", CaseFacts(repeat_contacts=1), "P3", [], "medium",
     ["repeat_contact:1"]),
    ("a third contact about the same order", CaseFacts(repeat_contacts=2), "P1", ["high_risk"], "high",
     ["repeat_contact:2"]),
    ("an elderly customer's third usage call", CaseFacts(ticket_type="consultation", repeat_contacts=2),
     "P4", ["consultation"], "medium", ["repeat_contact:2"]),
    ("a VIP", CaseFacts(customer_is_vip=True), "P2", ["vip"], "medium", ["vip"]),
    ("a VIP's consultation", CaseFacts(ticket_type="consultation", customer_is_vip=True), "P3",
     ["consultation", "vip"], "medium", ["vip"]),
    ("a VIP's complaint", CaseFacts(ticket_type="complaint", customer_is_vip=True), "P1", ["complaint", "vip"],
     "medium", ["complaint", "vip"]),
    ("a VIP cannot go above P1", CaseFacts(threatens_exposure=True, customer_is_vip=True), "P1",
     ["high_risk", "vip"], "high", ["exposure_threat", "vip"]),
    ("a difficult customer", CaseFacts(customer_is_difficult=True), "P3", [], "medium", ["difficult_customer"]),
    ("just below the amount", CaseFacts(amount=Decimal("999.99")), "P3", [], "low", []),
    ("at the amount", CaseFacts(amount=Decimal("1000")), "P3", [], "medium", ["large_amount"]),
    ("risk never goes down, every reason kept",
     CaseFacts(ticket_type="complaint", threatens_exposure=True, repeat_contacts=1, amount=Decimal("2000")),
     "P1", ["complaint", "high_risk"], "high", ["exposure_threat", "complaint", "repeat_contact:1", "large_amount"]),
]


@pytest.mark.parametrize(("facts", "priority", "priority_reasons", "risk", "risk_reasons"),
                         [rule[1:] for rule in RULES], ids=[rule[0] for rule in RULES])
def test_the_rules(facts, priority, priority_reasons, risk, risk_reasons):
    s = suggest(facts)

    assert (s.priority, s.priority_reasons, s.risk, s.risk_reasons) == (
        priority, priority_reasons, risk, risk_reasons)


@pytest.mark.parametrize(("text", "words"), [
    ("再不退款我就发微博曝光你们", ("微博", "曝光")),
    ("我要去12315投诉", ("12315",)),
    ("I will post this on Weibo", ("weibo",)),
    ("发票什么时候开", ()),
])
def test_the_customer_words_that_signal_exposure(text, words):
    assert exposure_words_in(text) == words


def test_every_reason_reads_as_the_fact_that_raised_it_once():
    s = suggest(CaseFacts(ticket_type="complaint", channel="platform_dispute", exposure_words=("微博",),
                          customer_is_vip=True, customer_is_difficult=True, repeat_contacts=3,
                          amount=Decimal("9999")))

    labels = reason_labels(s.risk_reasons + s.priority_reasons)
    assert all(label and ":" not in label.split(" ")[0] for label in labels)
    assert "3 earlier contact(s) about the same order or matter in the last days" in labels
    assert "The customer mentions 微博: confirm the exposure threat" in labels
    assert labels.count("Complaint") == 1  # a reason of both priority and risk reads once
    assert reason_labels(["vip", "no_such_code"]) == [str(REASON_LABELS["vip"]), "no_such_code"]


# Through the intake service ----------------------------------------------------------------------

def create(actor, customer, **fields) -> Ticket:
    return services.ticket_create(
        actor=actor, channel="chat", customer=customer,
        **{"description": "又来问退款进度", "type": "return_refund", "category": "logistics", **fields},
    )


def test_intake_stores_the_suggestion_and_its_reasons(agent):
    ticket = create(agent, CustomerFactory(), type="complaint", threatens_exposure=True)

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.risk_level) == (Priority.P1, RiskLevel.HIGH)
    assert ticket.risk_reasons == ["exposure_threat", "complaint"]
    assert ticket.events.get(action="created").changes["risk_level"] == [RiskLevel.LOW, RiskLevel.HIGH]


def test_intake_counts_earlier_contacts_about_the_same_matter_only(agent):
    customer = CustomerFactory()
    create(agent, CustomerFactory())  # someone else's ticket does not count

    first = create(agent, customer)
    second = create(agent, customer)
    invoice = create(agent, customer, type="consultation", category="other")  # another matter: not a repeat
    unclassified = create(agent, customer, type="", category="")  # no order, no matter: repeats nothing
    third = create(agent, customer)

    assert first.risk_level == RiskLevel.LOW
    assert (second.risk_level, second.risk_reasons) == (RiskLevel.MEDIUM, ["repeat_contact:1"])
    assert (invoice.risk_level, unclassified.risk_level) == (RiskLevel.LOW, RiskLevel.LOW)
    assert (third.risk_level, third.risk_reasons, third.priority) == (RiskLevel.HIGH, ["repeat_contact:2"], Priority.P1)


def test_contacts_about_the_same_order_repeat_whatever_their_type(agent):
    order = OrderFactory()
    first = create(agent, order.customer, order=order, type="exchange", category="wrong_or_missing_item")
    again = create(agent, order.customer, order=order, type="consultation", category="other")
    other_order = create(agent, order.customer, order=OrderFactory(customer=order.customer))

    assert first.risk_level == RiskLevel.LOW
    assert (again.risk_level, again.risk_reasons) == (RiskLevel.MEDIUM, ["repeat_contact:1"])
    assert other_order.risk_level == RiskLevel.LOW


def test_the_customer_words_raise_risk_until_the_agent_confirms_the_threat(agent):
    ticket = create(agent, CustomerFactory(), description="再不处理我就发微博曝光你们")
    assert (ticket.risk_level, ticket.risk_reasons) == (RiskLevel.MEDIUM, ["exposure_words:微博,曝光"])

    ticket = services.ticket_classify(ticket=ticket, actor=agent, threatens_exposure=True)

    ticket.refresh_from_db()
    assert (ticket.risk_level, ticket.risk_reasons, ticket.priority) == (
        RiskLevel.HIGH, ["exposure_threat"], Priority.P1)


def test_contacts_older_than_the_repeat_window_do_not_count(agent, settings):
    settings.REPEAT_CONTACT_DAYS = 7
    customer = CustomerFactory()
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        create(agent, customer)
    with time_machine.travel(timezone.now() - timedelta(days=6)):
        create(agent, customer)

    ticket = create(agent, customer)

    assert (ticket.risk_level, ticket.risk_reasons) == (RiskLevel.MEDIUM, ["repeat_contact:1"])


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
