"""China's official holidays and make-up workdays, imported into a business calendar with one admin action;
the service-hours clock then stops over 国庆 and runs on the make-up Saturday."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import make_user
from tickets.sla.clock import ScheduleCache
from tickets.sla.holidays import calendar_import_official_days, official_years
from tickets.sla.models import BusinessCalendar, CalendarDay

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE_HOURS = "客服工作时间 Service hours"  # made by the migrations: 8-12, 13-23 every day


def test_the_import_writes_the_official_days_with_their_chinese_names():
    calendar = BusinessCalendar.objects.get(name=SERVICE_HOURS)
    CalendarDay.objects.create(calendar=calendar, date=date(2026, 6, 1), kind="holiday", note="店庆")  # the shop's own

    written = calendar_import_official_days(calendar=calendar, years=[2026])

    days = {day.date: day for day in calendar.days.all()}
    assert written == len(days) - 1 > 30
    assert (days[date(2026, 10, 1)].kind, days[date(2026, 10, 1)].note) == ("holiday", "国庆节")
    assert (days[date(2026, 2, 17)].kind, days[date(2026, 2, 17)].note) == ("holiday", "春节")
    assert (days[date(2026, 10, 10)].kind, days[date(2026, 10, 10)].note) == ("workday", "国庆节")  # 调休 Saturday
    assert days[date(2026, 6, 1)].note == "店庆"
    assert calendar_import_official_days(calendar=calendar, years=[2026]) == written  # again: the same days
    assert calendar.days.count() == len(days)


def test_a_clock_on_service_hours_stops_over_national_day():
    calendar = BusinessCalendar.objects.get(name=SERVICE_HOURS)
    calendar_import_official_days(calendar=calendar, years=[2026])
    schedule = ScheduleCache().get(BusinessCalendar.objects.get(pk=calendar.pk))

    due = schedule.add(datetime(2026, 9, 30, 22, 30, tzinfo=SHANGHAI), 3600)  # one working hour

    # 30 minutes on 30 September, then nothing until the holiday ends: 8 October, 8:30.
    assert due.astimezone(SHANGHAI) == datetime(2026, 10, 8, 8, 30, tzinfo=SHANGHAI)


def test_the_admin_action_imports_every_covered_year_and_recomputes_open_tickets(client):
    admin = make_user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    calendar = BusinessCalendar.objects.get(name=SERVICE_HOURS)

    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)):
        response = client.post("/admin/tickets/businesscalendar/", {
            "action": "import_official_holidays", "_selected_action": [calendar.pk]}, follow=True)

    assert response.status_code == 200
    assert official_years(date(2026, 6, 1))[0] == 2026
    assert {day.year for day in calendar.days.values_list("date", flat=True)} == set(official_years(date(2026, 6, 1)))
    assert f"official days for {', '.join(map(str, official_years(date(2026, 6, 1))))}" in response.content.decode()
