"""A small, hand-checked June 2024 for the reports (tests/reports/test_queries.py states every figure).

Times are local to the shop (Asia/Shanghai, UTC+8). Twelve tickets T1..T12 are created in June
(the TICKETS table below); X1 (2024-07-01 00:10) and X2 (2024-05-31 23:50) fall just outside and are
loaded with everything (quality category, breaches, reopens, the kettle, alice, surveys) so that
counting them would change every report. FR = hours to first response, RES = hours to resolution
(resolved_at - created_at); "-" = not yet.

In short: SLA policy on all but T4 T8 T10; first response breached T2 T5; resolution breached
T3 T5 T6; reopened T2 (1) T5 (2) T10 (1, back in progress so resolved_at is cleared); follow-up
outcomes confirmed T1 T6 T9, rated T2 T11, silent T5; alice has T1 T2 T3 T7 T9 T11, bob T4 T5 T6 T10;
quality tickets T2 (kettle) T3 (kettle + heater) T7 (two kettle lines) T10 (heater), and T1 (a
wrong-item ticket) names the kettle too.

T4 at 07:30 local is still 06-02 in UTC, T12 at 23:30 local is 15:30 UTC, X1 at 00:10 local on
07-01 is 16:10 UTC on 06-30: a report reading days or boundaries in UTC gets them wrong.

Surveys (answered = created_at, local):
 S1  T1  06-02 10:00 solved 5      S2a T2 06-02 20:00 NOT solved 2    S2b T2 06-04 12:00 solved 4
 S4  T6  06-12 09:00 solved (none) S5  T9 06-26 10:00 solved 5        S6  T11 06-30 23:00 solved 3
 S7  T3  06-05 09:00 NOT solved 1  S8  X2 06-02 09:00 solved 4        (X2 is a May ticket: CSAT only)
 S9  T7  07-01 00:10 solved 5      (answered in July: not CSAT, but alice's ticket of June: agents only)
 S10 X1  07-02 09:00 solved 1      (outside everything)
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tests.factories import CustomerFactory, OrderItemFactory, ProductFactory, TicketFactory, UserFactory, make_user
from tickets.followup.models import SatisfactionSurvey
from tickets.models import Ticket
from tickets.reports.periods import Period
from tickets.sla.models import SLAPolicy

SHOP = ZoneInfo("Asia/Shanghai")
JUNE = Period.from_dates(date(2024, 6, 1), date(2024, 6, 30))

# number: created (local), type, category, channel, customer platform, priority, responsibility, has SLA,
#         first response breached, resolution breached, FR hours, RES hours, status, reopen_count,
#         close_outcome, assignee, affected items (one order line each)
TICKETS = {
    "T1": ("2024-06-01 09:00", "exchange", "wrong_or_missing_item", "chat", "taobao", "P2", "merchant",
           True, False, False, 0.5, 10, "closed", 0, "confirmed", "alice", ["kettle"]),
    "T2": ("2024-06-01 10:00", "return_refund", "product_quality", "chat", "taobao", "P2", "merchant",
           True, True, False, 3, 30, "closed", 1, "rated", "alice", ["kettle"]),
    "T3": ("2024-06-02 14:00", "refund_only", "product_quality", "phone", "jd", "P1", "merchant",
           True, False, True, 1, 50, "resolved", 0, "", "alice", ["kettle", "heater"]),
    "T4": ("2024-06-03 07:30", "consultation", "usage", "chat", "douyin", "P3", "undetermined",
           False, False, False, 2, None, "in_progress", 0, "", "bob", []),
    "T5": ("2024-06-05 20:00", "complaint", "service_attitude", "phone", "taobao", "P1", "merchant",
           True, True, True, 4, 72, "closed", 2, "silent", "bob", []),
    "T6": ("2024-06-10 12:00", "reship", "wrong_or_missing_item", "platform", "pinduoduo", "P3", "third_party",
           True, False, True, 1.5, 20, "closed", 0, "confirmed", "bob", []),
    "T7": ("2024-06-15 16:00", "exchange", "product_quality", "chat", "jd", "P2", "customer",
           True, False, False, 2.5, 40, "resolved", 0, "", "alice", ["kettle", "kettle"]),
    "T8": ("2024-06-20 11:00", "", "", "email", "own_site", "P4", "undetermined",
           False, False, False, None, None, "new", 0, "", None, []),
    "T9": ("2024-06-25 09:30", "return_refund", "logistics", "platform", "taobao", "P3", "third_party",
           True, False, False, 0.5, 5, "closed", 0, "confirmed", "alice", []),
    "T10": ("2024-06-28 13:00", "tech_support", "product_quality", "phone", "douyin", "P3", "merchant",
            False, False, False, 6, None, "in_progress", 1, "", "bob", ["heater"]),
    "T11": ("2024-06-29 18:00", "price_difference", "price", "chat", "tmall", "P4", "customer",
            True, False, False, 1, 8, "archived", 0, "rated", "alice", []),
    "T12": ("2024-06-30 23:30", "consultation", "usage", "chat", "taobao", "P3", "undetermined",
            True, False, False, None, None, "new", 0, "", None, []),
    # Just outside June, and loaded so that counting them would show everywhere.
    "X1": ("2024-07-01 00:10", "return_refund", "product_quality", "phone", "taobao", "P1", "merchant",
           True, True, True, 9, 99, "closed", 3, "silent", "alice", ["kettle"]),
    "X2": ("2024-05-31 23:50", "return_refund", "product_quality", "phone", "taobao", "P1", "merchant",
           True, True, True, 9, 99, "closed", 3, "silent", "alice", ["kettle"]),
}

# key: ticket, answered, solved, score
SURVEYS = {
    "S1": ("T1", "2024-06-02 10:00", True, 5),
    "S2a": ("T2", "2024-06-02 20:00", False, 2),
    "S2b": ("T2", "2024-06-04 12:00", True, 4),
    "S4": ("T6", "2024-06-12 09:00", True, None),
    "S5": ("T9", "2024-06-26 10:00", True, 5),
    "S6": ("T11", "2024-06-30 23:00", True, 3),
    "S7": ("T3", "2024-06-05 09:00", False, 1),
    "S8": ("X2", "2024-06-02 09:00", True, 4),
    "S9": ("T7", "2024-07-01 00:10", True, 5),
    "S10": ("X1", "2024-07-02 09:00", True, 1),
}


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHOP)


@dataclass
class June:
    tickets: dict[str, Ticket]
    alice: object
    bob: object


def build_june(suffix: str = "") -> June:
    """The dataset above; call again with another suffix to double it (distinct people and SKUs)."""
    alice = make_user("agent", username=f"alice{suffix}")
    alice.first_name, alice.last_name = "Alice", "Wang"
    alice.save(update_fields=["first_name", "last_name"])
    bob = make_user("agent", username=f"bob{suffix}")
    people = {"alice": alice, "bob": bob, None: None}
    products = {
        "kettle": ProductFactory(sku=f"SKU-KETTLE{suffix}", name="电热水壶"),
        "heater": ProductFactory(sku=f"SKU-HEATER{suffix}", name="暖风机"),
    }
    policy = SLAPolicy.objects.order_by("pk").first()
    tickets = {}
    for number, row in TICKETS.items():
        (created, type_, category, channel, platform, priority, responsibility, with_sla, fr_breached,
         rs_breached, fr_hours, res_hours, status, reopen_count, outcome, assignee, items) = row
        created_at = local(created)
        ticket = TicketFactory(
            number=f"{number}{suffix}", type=type_, category=category, channel=channel,
            customer=CustomerFactory(platform=platform), priority=priority, responsibility=responsibility,
            sla_policy=policy if with_sla else None, first_response_breached=fr_breached,
            resolution_breached=rs_breached, status=status, reopen_count=reopen_count, close_outcome=outcome,
            assignee=people[assignee],
        )
        # created_at is auto_now_add: set the real clock readings afterwards.
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=created_at,
            first_response_at=created_at + timedelta(hours=fr_hours) if fr_hours is not None else None,
            resolved_at=created_at + timedelta(hours=res_hours) if res_hours is not None else None,
        )
        ticket.affected_items.add(*(OrderItemFactory(product=products[name]) for name in items))
        tickets[number] = ticket
    for ticket_key, answered, solved, score in SURVEYS.values():
        survey = SatisfactionSurvey.objects.create(
            ticket=tickets[ticket_key], resolved_at=local(answered) - timedelta(hours=1), solved=solved,
            score=score, channel="chat",
        )
        SatisfactionSurvey.objects.filter(pk=survey.pk).update(created_at=local(answered))
    return June(tickets=tickets, alice=alice, bob=bob)


@pytest.fixture(autouse=True)
def _shop_time_zone():
    # The hand-computed boundaries above assume the shop runs on China time.
    assert settings.TIME_ZONE == "Asia/Shanghai"


@pytest.fixture
def june(db) -> June:
    return build_june()


@pytest.fixture
def plain_user(db):
    return UserFactory(username="plain1")
