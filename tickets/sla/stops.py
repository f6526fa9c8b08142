"""Whether the SLA clocks stand still right now, and why: a public holiday, a day off, or outside the
service hours of the policy's calendar. The ticket page and the queue say so ("clock stopped: 国庆节,
resumes 10-08 09:00"), so nobody reads a countdown that is not moving as one that is.

The answer belongs to a calendar, not to a ticket: it is computed once for every policy (three small
queries) and cached until the earliest resumption or for a minute, whichever comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import SLAState
from .business_time import CalendarHasNoWorkingTime
from .clock import ScheduleCache
from .models import BusinessCalendar, CalendarDay, SLAPolicy

CACHE_KEY = "sla:clock-stops"
CACHE_SECONDS = 60
# Calendar days loaded to find when work resumes: the longest Chinese holiday with its weekends is 9 days.
DAYS_AHEAD = 45

WHY = {"closed": _("outside service hours"), "day_off": _("day off"), "holiday": _("holiday")}


@dataclass(frozen=True)
class ClockStop:
    kind: str  # closed, day_off or holiday
    holiday_name: str  # the holiday's own name (国庆节), from the calendar
    resumes_at: datetime

    @property
    def why(self) -> str:
        return self.holiday_name or WHY[self.kind]


def clock_stops(now: datetime | None = None) -> dict[int, ClockStop]:
    """For each SLA policy whose calendar is not working at `now`: why, and when its clocks move again."""
    now = now or timezone.now()
    cached = cache.get(CACHE_KEY)
    if cached is not None and cached[0] <= now < cached[1]:
        return cached[2]
    stops = _compute(now)
    valid_until = min([now + timedelta(seconds=CACHE_SECONDS), *(stop.resumes_at for stop in stops.values())])
    cache.set(CACHE_KEY, (now, valid_until, stops), CACHE_SECONDS)
    return stops


def clock_stops_forget(**_signal) -> None:
    """A calendar, its hours or days, or a policy changed: the next page computes the stops afresh (after
    the change commits: a page read in between would cache the old stops again)."""
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def clock_stop_of(ticket, stops: dict[int, ClockStop]) -> ClockStop | None:
    """The stop that holds the ticket's running clocks, if any (none while paused, closed or without SLA)."""
    if ticket.sla_state in (SLAState.NONE, SLAState.PAUSED) or ticket.sla_next_due_at is None:
        return None
    return stops.get(ticket.sla_policy_id)


def with_clock_stops(tickets, now: datetime | None = None):
    """Each ticket of a list gets `clock_stop` (the queue's SLA column shows it); one look-up for all."""
    stops = clock_stops(now)
    for ticket in tickets:
        ticket.clock_stop = clock_stop_of(ticket, stops)
    return tickets


def _compute(now: datetime) -> dict[int, ClockStop]:
    today = timezone.localdate(now)
    days = CalendarDay.objects.filter(date__gte=today - timedelta(days=1), date__lte=today + timedelta(days=DAYS_AHEAD))
    calendars = {
        calendar.pk: calendar
        for calendar in BusinessCalendar.objects.prefetch_related("intervals", Prefetch("days", queryset=days))
    }
    schedules = ScheduleCache()
    by_calendar: dict[int, ClockStop | None] = {}
    for calendar in calendars.values():
        schedule = schedules.get(calendar)
        try:
            resumes_at = schedule.add(now, 0)
        except CalendarHasNoWorkingTime:
            continue
        if resumes_at <= now:
            by_calendar[calendar.pk] = None
            continue
        local_day = now.astimezone(schedule.time_zone).date()
        kind, name = _why(calendar, schedule, local_day)
        by_calendar[calendar.pk] = ClockStop(kind=kind, holiday_name=name, resumes_at=resumes_at)
    return {
        policy_id: by_calendar[calendar_id]
        for policy_id, calendar_id in SLAPolicy.objects.values_list("pk", "calendar_id")
        if by_calendar.get(calendar_id)
    }


def _why(calendar, schedule, day) -> tuple[str, str]:
    if day in schedule.holidays:
        return "holiday", next((d.note for d in calendar.days.all() if d.date == day), "")
    if not schedule.intervals_on(day):
        return "day_off", ""
    return "closed", ""
