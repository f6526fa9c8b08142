"""Rules that suggest a ticket's priority and risk, with the reasons people see.

Pure functions over the facts of a case: no queries here (the service counts the customer's earlier
contacts about the same matter and passes the number in). A person can override either value; the
service then stops re-suggesting it (`Ticket.priority_overridden` / `risk_overridden`). Thresholds are
settings, not law: RISK_AMOUNT_THRESHOLD, REPEAT_CONTACT_DAYS.

A reason is stored as a code, or `code:detail` when it names the fact that raised it (`repeat_contact:2`,
`exposure_words:微博,曝光`); `reason_labels` words it in the reader's language.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Channel, Priority, RiskLevel, TicketType

# Words in the customer's own text that threaten exposure or a complaint outside the shop. Found words
# raise risk to medium and ask the agent to confirm the threat (confirmed: high).
EXPOSURE_WORDS = (
    "微博", "小红书", "抖音", "快手", "知乎", "朋友圈", "黑猫投诉", "12315", "315", "消协", "消费者协会", "工商局",
    "市场监管", "投诉到平台", "平台投诉", "找平台", "曝光", "媒体", "记者", "律师", "起诉", "法院",
    "weibo", "xiaohongshu", "douyin", "expose", "journalist", "lawyer", "sue ",
)

REASON_LABELS = {
    "exposure_threat": gettext_lazy("Customer threatens public exposure (confirmed by the agent)"),
    "platform_intervention": gettext_lazy("Platform intervention or dispute"),
    "complaint": gettext_lazy("Complaint"),
    "vip": gettext_lazy("VIP customer"),
    "difficult_customer": gettext_lazy("Customer flagged as difficult"),
    "large_amount": gettext_lazy("Large amount at stake"),
    "high_risk": gettext_lazy("High risk"),
    "consultation": gettext_lazy("Consultation only"),
    # Written before reasons named their count.
    "repeat_contact": gettext_lazy("Repeat contact within the last days"),
    "repeat_contact_many": gettext_lazy("Several contacts within the last days"),
}

_RISK_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]
_PRIORITY_ORDER = [Priority.P4, Priority.P3, Priority.P2, Priority.P1]


@dataclass(frozen=True)
class CaseFacts:
    ticket_type: str = ""
    channel: str = ""
    threatens_exposure: bool = False  # the agent confirmed it
    exposure_words: tuple[str, ...] = ()  # found in the customer's words (exposure_words_in)
    platform_intervention: bool = False
    customer_is_vip: bool = False
    customer_is_difficult: bool = False
    # Earlier tickets of this customer about the same matter (the same order; without one, the same type
    # and category) within REPEAT_CONTACT_DAYS. Other questions of the same customer do not count.
    repeat_contacts: int = 0
    amount: Decimal | None = None
    amount_threshold: Decimal = Decimal("1000")


@dataclass
class Suggestion:
    priority: str = Priority.P3
    priority_reasons: list[str] = field(default_factory=list)
    risk: str = RiskLevel.LOW
    risk_reasons: list[str] = field(default_factory=list)


def exposure_words_in(*texts: str) -> tuple[str, ...]:
    joined = " ".join(texts).lower()
    found = [word.strip() for word in EXPOSURE_WORDS if word in joined]
    return tuple(word for word in found if not any(word != longer and word in longer for longer in found))


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
    elif facts.exposure_words:
        raise_risk(RiskLevel.MEDIUM, "exposure_words:" + ",".join(facts.exposure_words))
    if facts.platform_intervention or facts.channel == Channel.PLATFORM_DISPUTE:
        raise_risk(RiskLevel.HIGH, "platform_intervention")
    if facts.ticket_type == TicketType.COMPLAINT:
        raise_risk(RiskLevel.MEDIUM, "complaint")
    if facts.repeat_contacts:
        # Asking again about the same order is a case going wrong; a usage question asked again is not a
        # risk to the shop (an elderly customer's third call about the same cooker stays medium).
        many = facts.repeat_contacts >= 2 and facts.ticket_type != TicketType.CONSULTATION
        raise_risk(RiskLevel.HIGH if many else RiskLevel.MEDIUM, f"repeat_contact:{facts.repeat_contacts}")
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


def reason_label(reason: str) -> str:
    """One reason in the reader's language, naming the fact that raised it."""
    code, _sep, detail = reason.partition(":")
    if code == "repeat_contact" and detail:
        return _("%(count)s earlier contact(s) about the same order or matter in the last days") % {"count": detail}
    if code == "exposure_words" and detail:
        return _("The customer mentions %(words)s: confirm the exposure threat") % {
            "words": "、".join(detail.split(","))}
    return str(REASON_LABELS.get(code, code))


def reason_labels(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(reason_label(code) for code in codes))  # each once, in order
