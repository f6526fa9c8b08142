"""The SLA clock says when it stands still: over a public holiday (by its name), on a day off or outside
service hours, with the moment it resumes; on the ticket page and in the queue, in the shop's time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from tests.factories import TicketFactory, make_user
from tickets.models import SLAState, StaffProfile, Status
from tickets.sla.holidays import calendar_import_official_days
from tickets.sla.models import BusinessCalendar, CalendarDay, SLAPolicy
from tickets.sla.stops import clock_stop_of, clock_stops

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE_HOURS = "客服工作时间 Service hours"  # made by the migrations: 8-12, 13-23 every day
P1 = "P1 urgent"  # on service hours
DEFAULT = "默认 Default (48h reply)"  # 7×24


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def holidays():
    calendar_import_official_days(calendar=BusinessCalendar.objects.get(name=SERVICE_HOURS), years=[2026])


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def policy(name):
    return SLAPolicy.objects.get(name=name)


@pytest.mark.parametrize(("moment", "why", "resumes"), [
    (at(2026, 10, 3, 10, 0), "国庆节", at(2026, 10, 8, 8, 0)),  # on the holiday: its own name
    (at(2026, 9, 30, 23, 30), "outside service hours", at(2026, 10, 8, 8, 0)),  # after hours, the holiday next
    (at(2026, 9, 29, 12, 30), "outside service hours", at(2026, 9, 29, 13, 0)),  # the lunch break
    (at(2026, 9, 29, 10, 0), None, None),  # working
    (at(2026, 10, 10, 10, 0), None, None),  # the make-up Saturday is worked
])
def test_a_service_hours_policy_stops_and_says_why_and_until_when(holidays, moment, why, resumes):
    stops = clock_stops(moment)

    stop = stops.get(policy(P1).pk)
    assert (str(stop.why) if stop else None, stop.resumes_at if stop else None) == (why, resumes)
    assert policy(DEFAULT).pk not in stops  # 7×24 never stops


def test_a_calendar_day_off_and_the_shops_own_holiday():
    calendar = BusinessCalendar.objects.get(name=SERVICE_HOURS)
    calendar.intervals.filter(weekday=6).delete()  # closed on Sundays
    CalendarDay.objects.create(calendar=calendar, date=date(2026, 6, 1), kind="holiday", note="店庆")
    CalendarDay.objects.create(calendar=calendar, date=date(2026, 6, 2), kind="holiday")

    assert str(clock_stops(at(2026, 5, 31, 10, 0))[policy(P1).pk].why) == "day off"  # a Sunday
    cache.clear()
    stop = clock_stops(at(2026, 6, 1, 10, 0))[policy(P1).pk]
    assert (stop.why, stop.resumes_at) == ("店庆", at(2026, 6, 3, 8, 0))
    cache.clear()
    assert str(clock_stops(at(2026, 6, 2, 10, 0))[policy(P1).pk].why) == "holiday"  # a holiday with no name


def test_the_answer_is_cached_until_the_clock_resumes_at_the_latest(holidays, django_assert_num_queries):
    p1 = policy(P1).pk
    clock_stops(at(2026, 9, 29, 12, 59, 30))
    with django_assert_num_queries(0):
        assert p1 in clock_stops(at(2026, 9, 29, 12, 59, 50))
    with django_assert_num_queries(4):  # past the resumption: computed again (three reads and the policies)
        assert p1 not in clock_stops(at(2026, 9, 29, 13, 0, 1))


def test_only_running_clocks_are_stopped(holidays):
    stops = clock_stops(at(2026, 10, 3, 10, 0))
    due = at(2026, 10, 8, 9, 0)
    running = TicketFactory.build(sla_policy=policy(P1), sla_state=SLAState.ON_TRACK, first_response_due_at=due)
    paused = TicketFactory.build(sla_policy=policy(P1), sla_state=SLAState.PAUSED, first_response_due_at=due)
    done = TicketFactory.build(sla_policy=policy(P1), sla_state=SLAState.NONE)

    assert clock_stop_of(running, stops).why == "国庆节"
    assert clock_stop_of(paused, stops) is None
    assert clock_stop_of(done, stops) is None


def test_the_ticket_page_and_the_queue_say_it_in_the_shops_language(holidays, client):
    agent = make_user("agent")
    StaffProfile.objects.filter(user=agent).update(language="zh-hans")
    ticket = TicketFactory(assignee=agent, status=Status.IN_PROGRESS, sla_policy=policy(P1),
                           sla_state=SLAState.ON_TRACK, first_response_due_at=at(2026, 10, 8, 9, 0))
    client.force_login(agent)

    with time_machine.travel(at(2026, 10, 3, 10, 0)):
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
        queue = client.get("/?queue=mine").content.decode()

    line = "计时暂停：国庆节，10-08 08:00 恢复"
    assert line in page
    assert line in queue
    with time_machine.travel(at(2026, 10, 8, 10, 0)):
        cache.clear()
        assert "计时暂停" not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_an_edited_calendar_shows_at_once(holidays, django_capture_on_commit_callbacks):
    moment = at(2026, 9, 29, 10, 0)
    assert policy(P1).pk not in clock_stops(moment)  # working, and cached
    with django_capture_on_commit_callbacks(execute=True) as forgotten:
        CalendarDay.objects.create(calendar=BusinessCalendar.objects.get(name=SERVICE_HOURS),
                                   date=date(2026, 9, 29), kind="holiday", note="店庆")
        assert policy(P1).pk not in clock_stops(moment)  # not before the change commits
    assert len(forgotten) == 1

    assert clock_stops(moment)[policy(P1).pk].why == "店庆"
