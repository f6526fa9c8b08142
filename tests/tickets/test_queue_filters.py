"""The queue's and the API's date and tag filters: shop days as timestamp ranges, tags without repeats."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, TicketFactory
from tickets import services
from tickets.filters import TicketFilter
from tickets.models import SLACheck, SLAState, Status, Ticket, ticket_earliest_due

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


def test_an_impossible_date_is_a_400_and_an_unknown_tag_matches_nothing(supervisor, agent):
    ticket_at(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI), agent)
    client = APIClient()
    client.force_authenticate(supervisor)

    assert client.get("/api/v1/tickets/", {"created_after": "2026-13-01"}).status_code == 400
    # A tag nobody has used yet is a valid question whose answer is "no tickets", as for an unknown assignee.
    response = client.get("/api/v1/tickets/", {"tags": "no-such-tag"})
    assert response.status_code == 200 and response.json()["results"] == []
    assert len(client.get("/api/v1/tickets/").json()["results"]) == 1


@pytest.mark.parametrize("ordering", ["priority", "-priority", "created_at", "-created_at", "sla_next_check_at",
                                      "-sla_next_check_at", "updated_at", "-updated_at"])
def test_every_sort_direction_is_offered_and_accepted(agent, ordering):
    first = ticket_at(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI), agent)
    second = ticket_at(datetime(2026, 6, 2, 9, 0, tzinfo=SHANGHAI), agent)
    Ticket.objects.filter(pk=first.pk).update(priority="P1")
    Ticket.objects.filter(pk=second.pk).update(priority="P4")

    filterset = TicketFilter({"ordering": ordering}, queryset=Ticket.objects.all(), request=None)

    assert filterset.is_valid(), filterset.errors
    assert ordering in dict(filterset.form.fields["ordering"].choices)
    expected = [first.number, second.number]
    if ordering.startswith("-"):  # the first is older, more urgent, due sooner and untouched longer
        expected.reverse()
    assert list(filterset.qs.values_list("number", flat=True)) == expected


def test_sla_due_soonest_is_the_earliest_running_due_time_with_the_paused_and_clockless_last(agent):
    now = timezone.now()
    later = TicketFactory(status=Status.IN_PROGRESS, resolution_due_at=now + timedelta(hours=3))
    # Its resolution is days off, its first response due within the hour: that is when it falls due.
    sooner = TicketFactory(status=Status.IN_PROGRESS, resolution_due_at=now + timedelta(days=5),
                           first_response_due_at=now + timedelta(hours=1))
    # The next check (a warning moment well before either) plays no part in the order.
    SLACheck.objects.create(ticket=later, at=now - timedelta(minutes=5))
    # Waiting on the customer no clock runs down, whatever due time it stopped at; without a policy there is none:
    # both last either way (newest first among them, as every sort breaks its ties).
    paused = TicketFactory(status=Status.WAITING_CUSTOMER, sla_state=SLAState.PAUSED,
                           resolution_due_at=now - timedelta(hours=1))
    clockless = TicketFactory(status=Status.IN_PROGRESS)

    def ordered(ordering):
        return list(TicketFilter({"ordering": ordering}, queryset=Ticket.objects.all(), request=None).qs)

    assert ordered("sla_next_check_at") == ordered("sla_due_at") == [sooner, later, clockless, paused]
    assert ordered("-sla_next_check_at") == ordered("-sla_due_at") == [later, sooner, clockless, paused]


def test_the_due_time_sorted_on_is_the_countdowns_and_none_while_paused():
    """ticket_earliest_due (SQL, both databases) against Ticket.sla_next_due_at (Python, the lists' countdown)."""
    moment = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC))
    # The resolution clock runs whenever another does: without it there is no due time at all.
    dues = st.one_of(st.just((None, None, None)), st.tuples(st.none() | moment, st.none() | moment, moment))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(list(SLAState)), dues), min_size=1, max_size=4))
    def check(rows):
        with transaction.atomic():
            made = [TicketFactory(status=Status.IN_PROGRESS, sla_state=state, first_response_due_at=first,
                                  next_response_due_at=following, resolution_due_at=resolution)
                    for state, (first, following, resolution) in rows]
            read = dict(Ticket.objects.filter(pk__in=[t.pk for t in made])
                        .annotate(due=ticket_earliest_due()).values_list("pk", "due"))
            transaction.set_rollback(True)
        for ticket in made:
            assert read[ticket.pk] == (None if ticket.sla_state == SLAState.PAUSED else ticket.sla_next_due_at)

    check()


def test_the_filter_bar_shows_what_is_chosen_and_only_that(agent, client):
    client.force_login(agent)
    page = client.get(f"/?queue=all&status=new&status=triaged&assignee={agent.pk}&ordering=-priority"
                      "&created_after=2026-06-01").content.decode()

    assert '<option value="new" selected>' in page and '<option value="triaged" selected>' in page
    assert '<option value="waiting_customer">' in page  # a status not chosen
    assert f'<option value="{agent.pk}" selected>' in page
    assert '<option value="-priority" selected>' in page and '<option value="priority">' in page
    assert 'name="created_after" value="2026-06-01"' in page and 'name="created_before" value=""' in page


def test_pages_over_a_sort_with_ties_neither_repeat_nor_skip_tickets(supervisor, client, monkeypatch):
    from tickets.views import queue as views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    made = [ticket_at(datetime(2026, 6, 1, 9, minute, tzinfo=SHANGHAI), supervisor) for minute in range(7)]
    # one priority and one moment for all: the sort alone says nothing of their order
    Ticket.objects.update(priority="P3", created_at=made[0].created_at)
    client.force_login(supervisor)

    shown = []
    for page in (1, 2, 3):
        shown += [t.number for t in client.get(f"/?queue=all&ordering=priority&page={page}").context["page"]]

    assert shown == [t.number for t in reversed(made)]  # ties by the newest id first, each ticket once


def test_an_unknown_sort_is_refused_on_the_page_and_the_list_stays_newest_first(supervisor, client):
    # taken in out of date order (as an import does), so an unsorted list shows in neither direction
    middle, newest, oldest = (ticket_at(datetime(2026, 6, day, 9, 0, tzinfo=SHANGHAI), supervisor) for day in (2, 3, 1))
    client.force_login(supervisor)

    response = client.get("/?queue=all&ordering=-password")

    assert response.status_code == 200
    assert 'class="error"' in response.text and "ordering" in response.text
    assert [t.number for t in response.context["page"]] == [newest.number, middle.number, oldest.number]
