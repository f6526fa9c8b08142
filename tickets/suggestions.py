"""Rules that suggest a ticket's priority and risk, with the reasons people see.

Pure functions over the facts of a case: no queries here (the service counts recent
contacts and passes the number in). A person can override either value; the service
then stops re-suggesting it (see `Ticket.priority_overridden` / `risk_overridden`).
Thresholds are settings, not law: RISK_AMOUNT_THRESHOLD, REPEAT_CONTACT_DAYS.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from .models import Channel, Priority, RiskLevel, TicketType

# Reason codes are stored on the ticket; labels are looked up at display time (translatable).
REASON_LABELS = {
    "exposure_threat": _("Customer threatens public exposure (social media, reviews, press)"),
    "platform_intervention": _("Platform intervention or dispute"),
    "complaint": _("Complaint"),
    "repeat_contact": _("Repeat contact within the last days"),
    "repeat_contact_many": _("Several contacts within the last days"),
    "vip": _("VIP customer"),
    "difficult_customer": _("Customer flagged as difficult"),
    "large_amount": _("Large amount at stake"),
    "high_risk": _("High risk"),
    "consultation": _("Consultation only"),
}

_RISK_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]
_PRIORITY_ORDER = [Priority.P4, Priority.P3, Priority.P2, Priority.P1]


@dataclass(frozen=True)
class CaseFacts:
    ticket_type: str = ""
    channel: str = ""
    threatens_exposure: bool = False
    platform_intervention: bool = False
    customer_is_vip: bool = False
    customer_is_difficult: bool = False
    recent_contacts: int = 0  # earlier tickets of this customer within REPEAT_CONTACT_DAYS
    amount: Decimal | None = None
    amount_threshold: Decimal = Decimal("1000")


@dataclass
class Suggestion:
    priority: str = Priority.P3
    priority_reasons: list[str] = field(default_factory=list)
    risk: str = RiskLevel.LOW
    risk_reasons: list[str] = field(default_factory=list)


def _at_least(order: list, current, floor):
    return order[max(order.index(current), order.index(floor))]


def suggest(facts: CaseFacts) -> Suggestion:
    s = Suggestion()

    def raise_risk(level, reason):
        s.risk = _at_least(_RISK_ORDER, s.risk, level)
        s.risk_reasons.append(reason)

    # Risk: what could cost the shop its score or a public incident (seed 003, high-risk complaints).
    if facts.threatens_exposure:
        raise_risk(RiskLevel.HIGH, "exposure_threat")
    if facts.platform_intervention or facts.channel == Channel.PLATFORM_DISPUTE:
        raise_risk(RiskLevel.HIGH, "platform_intervention")
    if facts.ticket_type == TicketType.COMPLAINT:
        raise_risk(RiskLevel.MEDIUM, "complaint")
    if facts.recent_contacts >= 2:
        raise_risk(RiskLevel.HIGH, "repeat_contact_many")
    elif facts.recent_contacts == 1:
        raise_risk(RiskLevel.MEDIUM, "repeat_contact")
    if facts.customer_is_vip:
        raise_risk(RiskLevel.MEDIUM, "vip")
    if facts.customer_is_difficult:
        raise_risk(RiskLevel.MEDIUM, "difficult_customer")
    if facts.amount is not None and facts.amount >= facts.amount_threshold:
        raise_risk(RiskLevel.MEDIUM, "large_amount")

    # Priority: P3 by default; consultations wait, complaints and high risk go first, VIP one step up.
    if facts.ticket_type == TicketType.CONSULTATION:
        s.priority = Priority.P4
        s.priority_reasons.append("consultation")
    if facts.ticket_type == TicketType.COMPLAINT:
        s.priority = _at_least(_PRIORITY_ORDER, s.priority, Priority.P2)
        s.priority_reasons.append("complaint")
    if s.risk == RiskLevel.HIGH:
        s.priority = Priority.P1
        s.priority_reasons.append("high_risk")
    if facts.customer_is_vip:
        s.priority = _PRIORITY_ORDER[min(_PRIORITY_ORDER.index(s.priority) + 1, len(_PRIORITY_ORDER) - 1)]
        s.priority_reasons.append("vip")
    return s


def reason_labels(codes: list[str]) -> list[str]:
    return [str(REASON_LABELS.get(code, code)) for code in codes]
