"""The queue's and the API's date and tag filters: shop days as timestamp ranges, tags without repeats."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import CustomerFactory
from tickets import services
from tickets.filters import TicketFilter
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def ticket_at(moment: datetime, agent, tags=()) -> Ticket:
    with time_machine.travel(moment, tick=False):
        return services.ticket_create(actor=agent, channel="chat", description="包裹破损", customer=CustomerFactory(),
                                      tags=tags)


def numbers(query: dict, user) -> list[str]:
    filtered = TicketFilter(query, queryset=Ticket.objects.order_by("pk"), request=None).qs
    return list(filtered.values_list("number", flat=True))


def test_created_from_and_to_are_days_of_the_shops_calendar_whatever_the_users_zone(agent, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    late_evening = ticket_at(datetime(2026, 6, 1, 23, 30, tzinfo=SHANGHAI), agent)  # 15:30 UTC on 1 June
    next_morning = ticket_at(datetime(2026, 6, 2, 0, 30, tzinfo=SHANGHAI), agent)  # 16:30 UTC on 1 June

    with timezone.override(ZoneInfo("America/New_York")):  # a user far away: the shop's days still count
        assert numbers({"created_after": "2026-06-01", "created_before": "2026-06-01"}, agent) == [late_evening.number]
        assert numbers({"created_after": "2026-06-02"}, agent) == [next_morning.number]
        assert numbers({"created_before": "2026-05-31"}, agent) == []


def test_a_ticket_with_several_of_the_asked_tags_is_listed_once(agent, supervisor):
    both = ticket_at(timezone.now(), agent, tags=["破损", "加急"])
    one = ticket_at(timezone.now(), agent, tags=["加急"])
    ticket_at(timezone.now(), agent, tags=["其他"])

    assert numbers({"tags": ["破损", "加急"]}, agent) == [both.number, one.number]
    client = APIClient()
    client.force_authenticate(supervisor)
    response = client.get("/api/v1/tickets/", {"tags": ["破损", "加急"], "ordering": "created_at"})
    assert response.status_code == 200
    assert sorted(t["number"] for t in response.json()["results"]) == sorted([both.number, one.number])


def test_an_unknown_tag_or_date_is_a_400_not_an_empty_list(supervisor):
    client = APIClient()
    client.force_authenticate(supervisor)
    for query in ({"tags": "no-such-tag"}, {"created_after": "2026-13-01"}):
        response = client.get("/api/v1/tickets/", query)
        assert response.status_code == 400, query
