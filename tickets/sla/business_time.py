"""Business-time arithmetic on a working calendar: pure functions, no database.

A `Schedule` knows the working intervals of each weekday (several a day: a lunch break is
normal), holidays, and make-up workdays (调休: a Saturday or Sunday worked "like a Monday").
`add` moves a moment forward by a number of business seconds; `between` counts the business
seconds between two moments. Both work in the calendar's own time zone, whatever the zone of
their arguments, and return aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A calendar with no working time at all would make `add` search forever; give up after this.
MAX_DAYS_SEARCHED = 3 * 366


class CalendarHasNoWorkingTime(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    time_zone: ZoneInfo
    # weekday (Monday=0) -> sorted, non-overlapping (start, end) local times; end may be time.max-ish 23:59:59
    weekly: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    # date -> weekday whose intervals that date uses (make-up workday 调休)
    extra_workdays: dict[date, int] = field(default_factory=dict)

    @classmethod
    def around_the_clock(cls, time_zone: str = "Asia/Shanghai") -> Schedule:
        full_day = ((time(0, 0), time(23, 59, 59, 999999)),)
        return cls(ZoneInfo(time_zone), {weekday: full_day for weekday in range(7)})

    def intervals_on(self, day: date) -> tuple[tuple[time, time], ...]:
        if day in self.extra_workdays:
            return self.weekly.get(self.extra_workdays[day], ())
        if day in self.holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def _spans(self, day: date):
        """The working spans of `day` as aware local datetimes."""
        for start, end in self.intervals_on(day):
            span_end = (
                datetime.combine(day + timedelta(days=1), time(0), self.time_zone)
                if end >= time(23, 59, 59)
                else datetime.combine(day, end, self.time_zone)
            )
            yield datetime.combine(day, start, self.time_zone), span_end

    def add(self, moment: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `moment`."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        cursor = moment.astimezone(self.time_zone)
        remaining = timedelta(seconds=seconds)
        day = cursor.date()
        for _ in range(MAX_DAYS_SEARCHED):
            for start, end in self._spans(day):
                if end <= cursor:
                    continue
                begin = max(start, cursor)
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = end
            day += timedelta(days=1)
        raise CalendarHasNoWorkingTime("no working time within the search window")

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds from `start` to `end` (0 when end is not after start)."""
        start, end = start.astimezone(self.time_zone), end.astimezone(self.time_zone)
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.date()
        while day <= end.date():
            for span_start, span_end in self._spans(day):
                overlap = min(span_end, end) - max(span_start, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds()
