"""Business-time arithmetic on a working calendar: pure functions, no database.

A `Schedule` knows the working intervals of each weekday (several a day: a lunch break is
normal), holidays, and make-up workdays (调休: a Saturday or Sunday worked "like a Monday").
`add` moves a moment forward by a number of business seconds; `between` counts the business
seconds between two moments. Both work in the calendar's own time zone, whatever the zone of
their arguments, and return aware datetimes.

Both are answered from a span index built lazily per schedule (the working spans of a range of
days as wall-clock microseconds, with the business time accumulated before each): a look-up is
two bisections instead of a walk over every day, which is what lets the SLA sweep recompute tens
of thousands of clocks in a second. The walk is kept as the definition and for the rare weekly
pattern whose spans are unsorted or overlap, where it (not a plain sum) says what counts.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A calendar with no working time at all would make `add` search forever; give up after this.
MAX_DAYS_SEARCHED = 3 * 366

_DAY_US = 86_400_000_000
_INDEX_CHUNK_DAYS = 64


class CalendarHasNoWorkingTime(ValueError):
    pass


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _wall_us(moment: datetime) -> int:
    """A local moment as microseconds of wall-clock time: how datetimes sharing one tzinfo compare and subtract."""
    seconds = moment.toordinal() * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


def _time_us(moment: time) -> int:
    return (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond


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
        index = self._index()
        if index is None:
            return self._add_walking(moment, seconds)
        cursor = moment.astimezone(self.time_zone)
        return index.add(cursor, _us(timedelta(seconds=seconds)))

    def add_each(self, moment: datetime, amounts: list[float]) -> list[datetime]:
        """`add` of each amount of seconds to the same moment, whose place on the calendar is found once."""
        if any(seconds < 0 for seconds in amounts):
            raise ValueError("seconds must not be negative")
        index = self._index()
        if index is None:
            return [self._add_walking(moment, seconds) for seconds in amounts]
        cursor = moment.astimezone(self.time_zone)
        return index.add_each(cursor, [_us(timedelta(seconds=seconds)) for seconds in amounts])

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds from `start` to `end` (0 when end is not after start)."""
        index = self._index()
        if index is None:
            return self._between_walking(start, end)
        start, end = start.astimezone(self.time_zone), end.astimezone(self.time_zone)
        if end <= start:
            return 0.0
        return index.between(start, end) / 10**6

    # The definitions: a walk over the days, span by span.

    def _add_walking(self, moment: datetime, seconds: float) -> datetime:
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

    def _between_walking(self, start: datetime, end: datetime) -> float:
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

    def _index(self) -> _SpanIndex | None:
        """The span index, built on first use; None when a weekday's spans are unsorted or overlap."""
        try:
            return self.__dict__["_span_index"]
        except KeyError:
            pass
        index = _SpanIndex(self) if _well_formed(self.weekly) else None
        object.__setattr__(self, "_span_index", index)  # a cache, not state: the dataclass stays frozen
        return index


def _well_formed(weekly) -> bool:
    for spans in weekly.values():
        previous_end = None
        for start, end in spans:
            end_us = _DAY_US if end >= time(23, 59, 59) else _time_us(end)
            start_us = _time_us(start)
            if start_us >= end_us or (previous_end is not None and start_us < previous_end):
                return False
            previous_end = end_us
    return True


class _SpanIndex:
    """The working spans of the days [first, last) as wall-clock microseconds, with `done[i]`
    the business microseconds from the first span's start to the end of span i."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.lock = threading.RLock()  # a rebuild replaces the lists a look-up is reading
        self.first = self.last = 0
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.done: list[int] = []
        self.days: list[int] = []

    def _day_spans(self, ordinal: int):
        base = ordinal * _DAY_US
        for start, end in self.schedule.intervals_on(date.fromordinal(ordinal)):
            end_us = _DAY_US if end >= time(23, 59, 59) else _time_us(end)
            yield base + _time_us(start), base + end_us

    def _build(self, first: int, last: int) -> None:
        starts, ends, done, days, total = [], [], [], [], 0
        for ordinal in range(first, last):
            for start, end in self._day_spans(ordinal):
                total += end - start
                starts.append(start), ends.append(end), done.append(total), days.append(ordinal)
        self.first, self.last = first, last
        self.starts, self.ends, self.done, self.days = starts, ends, done, days

    def _extend(self, last: int) -> None:
        total = self.done[-1] if self.done else 0
        for ordinal in range(self.last, last):
            for start, end in self._day_spans(ordinal):
                total += end - start
                self.starts.append(start), self.ends.append(end), self.done.append(total), self.days.append(ordinal)
        self.last = last

    def cover(self, first: int, last: int) -> None:
        """Make the index hold the days [first, last)."""
        with self.lock:
            if not self.starts and self.first == self.last:
                self._build(first, max(last, first + _INDEX_CHUNK_DAYS))
            elif first < self.first:
                self._build(min(first, self.first - _INDEX_CHUNK_DAYS), max(last, self.last))
            elif last > self.last:
                self._extend(max(last, self.last + _INDEX_CHUNK_DAYS))

    def _before(self, position: int, at: int) -> int:
        """Business microseconds from the first span's start to `at`; `position` is the first span ending after it."""
        if position == len(self.ends):
            return self.done[-1] if self.done else 0
        start = self.starts[position]
        done_before = self.done[position] - (self.ends[position] - start)
        return done_before + max(0, at - start)

    def add(self, cursor: datetime, remaining: int) -> datetime:
        return self.add_each(cursor, [remaining])[0]

    def add_each(self, cursor: datetime, remainings: list[int]) -> list[datetime]:
        with self.lock:
            at, day = _wall_us(cursor), cursor.toordinal()
            self.cover(day, day + 1)
            # The cursor's day is indexed now: extending the index later appends days after it, so the
            # cursor's place and the business time before it stay what they are here.
            position = bisect_right(self.ends, at)
            done_at = self._before(position, at)
            return [self._moment(position, done_at + remaining, day + MAX_DAYS_SEARCHED) for remaining in remainings]

    def _moment(self, position: int, target: int, limit: int) -> datetime:
        """The wall-clock moment when `target` business microseconds are done, looking from span `position`."""
        while True:
            found = bisect_left(self.done, target, lo=position)
            if found < len(self.done):
                if self.days[found] >= limit:
                    break
                start = self.starts[found]
                wall = start + target - (self.done[found] - (self.ends[found] - start))
                days, micro = divmod(wall, _DAY_US)
                return (datetime.fromordinal(days) + timedelta(microseconds=micro)).replace(
                    tzinfo=self.schedule.time_zone
                )
            if self.last >= limit:
                break
            self.cover(self.first, min(limit, self.last + _INDEX_CHUNK_DAYS))
        raise CalendarHasNoWorkingTime("no working time within the search window")

    def between(self, start: datetime, end: datetime) -> int:
        with self.lock:
            self.cover(start.toordinal(), end.toordinal() + 1)
            low, high = _wall_us(start), _wall_us(end)
            return self._before(bisect_right(self.ends, high), high) - self._before(bisect_right(self.ends, low), low)
