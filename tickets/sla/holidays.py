"""China's official public holidays and make-up workdays (调休), from the maintained chinesecalendar package,
into a business calendar: one admin action per calendar, for every year the package covers from this one
on. Without them the service-hours SLA counts 春节 and 国庆 as workdays."""

from datetime import date

from chinese_calendar.constants import holidays, workdays
from django.db import transaction
from django.utils import timezone

from .models import BusinessCalendar, CalendarDay

# The package names holidays in English; the calendar notes say them as the shop does.
CHINESE_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def official_years(today: date | None = None) -> list[int]:
    """The years from this one on that the installed package has the State Council's schedule for."""
    today = today or timezone.localdate()
    return sorted({day.year for day in (*holidays, *workdays) if day.year >= today.year})


@transaction.atomic
def calendar_import_official_days(*, calendar: BusinessCalendar, years: list[int]) -> int:
    """Holidays and make-up workdays of `years` into `calendar`, replacing what it had on those dates (an
    admin's own dates on other days stay). Returns how many days were written. Make-up workdays work like
    a Monday (a full working day)."""
    days = [
        CalendarDay(calendar=calendar, date=day, kind=kind, note=CHINESE_NAMES.get(name, name))
        for source, kind in ((holidays, CalendarDay.Kind.HOLIDAY), (workdays, CalendarDay.Kind.WORKDAY))
        for day, name in source.items()
        if day.year in years
    ]
    CalendarDay.objects.filter(calendar=calendar, date__in=[day.date for day in days]).delete()
    CalendarDay.objects.bulk_create(days)
    calendar.save()  # bump updated_at: cached schedules are keyed on it
    return len(days)

