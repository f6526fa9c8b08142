"""Business-time arithmetic (tickets/sla/business_time.py): worked examples on a Chinese office
calendar, then properties of `add` and `between` on random calendars."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tickets.sla.business_time import CalendarHasNoWorkingTime, Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE_HOURS = ((time(9), time(12)), (time(13), time(18)))
NATIONAL_DAY = frozenset(date(2026, 10, 1) + timedelta(days=n) for n in range(7))  # 国庆 Thu 1 – Wed 7 Oct
HOUR = 3600
ONE_MICROSECOND = timedelta(microseconds=1)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def office(holidays=frozenset(), extra_workdays=None) -> Schedule:
    """9–12 and 13–18, Monday to Friday, in Asia/Shanghai."""
    return Schedule(SHANGHAI, {d: OFFICE_HOURS for d in range(5)}, frozenset(holidays), extra_workdays or {})


# --- examples ---------------------------------------------------------------------------------


def test_adding_within_one_span_stays_in_it():
    assert office().add(at(2026, 9, 14, 9, 30), 2 * HOUR) == at(2026, 9, 14, 11, 30)


def test_adding_across_lunch_skips_the_break():
    # Monday 11:00 + 2h: one hour before lunch, one after.
    assert office().add(at(2026, 9, 14, 11, 0), 2 * HOUR) == at(2026, 9, 14, 14, 0)


def test_adding_across_the_night_continues_next_morning():
    assert office().add(at(2026, 9, 14, 17, 0), 2 * HOUR) == at(2026, 9, 15, 10, 0)


def test_adding_across_a_weekend_continues_on_monday():
    # Friday 17:30 + 1h: half an hour on Friday, half on Monday.
    assert office().add(at(2026, 9, 18, 17, 30), HOUR) == at(2026, 9, 21, 9, 30)


def test_a_start_outside_working_time_counts_from_the_next_span():
    assert office().add(at(2026, 9, 19, 22, 0), HOUR) == at(2026, 9, 21, 10, 0)  # Saturday night
    assert office().add(at(2026, 9, 14, 12, 30), HOUR) == at(2026, 9, 14, 14, 0)  # lunch


def test_adding_across_a_holiday_skips_the_holiday():
    # Wednesday 30 Sep 17:00 + 2h: one hour that evening, the rest on Thursday 8 Oct after 国庆.
    schedule = office(holidays=NATIONAL_DAY)
    assert schedule.add(at(2026, 9, 30, 17, 0), 2 * HOUR) == at(2026, 10, 8, 10, 0)
    assert schedule.between(at(2026, 9, 30, 17, 0), at(2026, 10, 8, 10, 0)) == 2 * HOUR


def test_a_make_up_workday_counts_with_the_hours_of_the_day_it_works_like():
    # Sunday 27 Sep 2026 is worked like a Monday (调休).
    schedule = office(holidays=NATIONAL_DAY, extra_workdays={date(2026, 9, 27): 0})
    assert schedule.add(at(2026, 9, 25, 17, 0), 2 * HOUR) == at(2026, 9, 27, 10, 0)
    assert schedule.between(at(2026, 9, 26, 0, 0), at(2026, 9, 28, 0, 0)) == 8 * HOUR
    assert office().between(at(2026, 9, 26, 0, 0), at(2026, 9, 28, 0, 0)) == 0


def test_a_make_up_workday_wins_over_a_holiday_on_the_same_date():
    schedule = office(holidays={date(2026, 9, 27)}, extra_workdays={date(2026, 9, 27): 0})
    assert schedule.intervals_on(date(2026, 9, 27)) == OFFICE_HOURS


def test_a_utc_input_is_read_in_the_calendars_zone():
    # 00:30 UTC on Monday is 08:30 in Shanghai: work starts at 09:00 local.
    result = office().add(datetime(2026, 9, 14, 0, 30, tzinfo=UTC), HOUR)
    assert result == at(2026, 9, 14, 10, 0)
    assert result.tzinfo == SHANGHAI
    # Sunday 23:00 UTC is already Monday 07:00 in Shanghai.
    assert office().between(datetime(2026, 9, 13, 23, 0, tzinfo=UTC), at(2026, 9, 14, 10, 0)) == HOUR


def test_a_full_day_interval_ending_23_59_59_runs_to_midnight():
    schedule = Schedule.around_the_clock()
    assert schedule.add(at(2026, 9, 14, 23, 0), 2 * HOUR) == at(2026, 9, 15, 1, 0)
    assert schedule.between(at(2026, 9, 14), at(2026, 9, 16)) == 48 * HOUR


def test_a_calendar_with_no_working_time_raises():
    with pytest.raises(CalendarHasNoWorkingTime):
        Schedule(SHANGHAI, {}).add(at(2026, 9, 14, 9), 60)


def test_make_up_days_working_like_a_day_without_hours_give_no_working_time():
    schedule = Schedule(SHANGHAI, {}, extra_workdays={date(2026, 9, 27): 3})
    with pytest.raises(CalendarHasNoWorkingTime):
        schedule.add(at(2026, 9, 14, 9), 1)


def test_negative_seconds_are_refused():
    with pytest.raises(ValueError):
        office().add(at(2026, 9, 14, 10), -1)


def test_between_an_end_before_its_start_is_zero():
    assert office().between(at(2026, 9, 14, 15), at(2026, 9, 14, 10)) == 0
    assert office().between(at(2026, 9, 14, 15), at(2026, 9, 14, 15)) == 0


# --- properties -------------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2027, 12, 31)


@st.composite
def day_intervals(draw):
    """Sorted, non-overlapping working intervals of one weekday; minute 1440 stands for 23:59:59."""
    bounds = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    if len(bounds) % 2:
        bounds = bounds[:-1]

    def as_time(minute):
        return time(23, 59, 59) if minute == 1440 else time(minute // 60, minute % 60)

    return tuple((as_time(a), as_time(b)) for a, b in zip(bounds[::2], bounds[1::2], strict=True))


@st.composite
def schedules(draw):
    weekly = {day: draw(day_intervals()) for day in range(7)}
    assume(any(weekly.values()))
    days = st.dates(FIRST_DAY, LAST_DAY)
    holidays = draw(st.frozensets(days, max_size=15))
    extra = draw(st.dictionaries(days, st.integers(0, 6), max_size=8))
    return Schedule(SHANGHAI, weekly, holidays, extra)


moments = st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.sampled_from([SHANGHAI, UTC]))
# At most a few weeks of business time, so even a sparse calendar stays inside the search window.
business_seconds = st.floats(0, 30 * 24 * HOUR, allow_nan=False, allow_infinity=False)


def weekly_seconds(schedule: Schedule) -> float:
    monday = at(2031, 1, 6)  # a week with no drawn holidays or make-up days in it
    return schedule.between(monday, monday + timedelta(days=7))


def bounded(schedule: Schedule, seconds: float) -> float:
    """Keep a sparse calendar's search short: at most ~20 of its weeks."""
    return min(seconds, 20 * weekly_seconds(schedule))


def working_spans_around(schedule: Schedule, moment: datetime):
    """Working spans of the local day of `moment` and the day before, as aware local datetimes."""
    local = moment.astimezone(schedule.time_zone)
    for day in (local.date() - timedelta(days=1), local.date()):
        for start, end in schedule.intervals_on(day):
            end_at = (
                datetime.combine(day + timedelta(days=1), time(0), schedule.time_zone)
                if end >= time(23, 59, 59)
                else datetime.combine(day, end, schedule.time_zone)
            )
            yield datetime.combine(day, start, schedule.time_zone), end_at


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), start=moments, seconds=business_seconds)
def test_between_undoes_add(schedule, start, seconds):
    seconds = bounded(schedule, seconds)
    end = schedule.add(start, seconds)
    assert abs(schedule.between(start, end) - seconds) <= 1e-6


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), start=moments, a=business_seconds, b=business_seconds)
def test_add_is_monotonic_in_seconds(schedule, start, a, b):
    a, b = sorted((bounded(schedule, a), bounded(schedule, b)))
    assert schedule.add(start, a) <= schedule.add(start, b)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), start=moments, a=business_seconds, b=business_seconds)
def test_adding_in_two_steps_equals_adding_the_sum(schedule, start, a, b):
    a, b = bounded(schedule, a) / 2, bounded(schedule, b) / 2
    assume(b > 1e-6)  # adding 0 from the end of a span moves to the next span's start; the sum does not
    two_steps = schedule.add(schedule.add(start, a), b)
    # Each add rounds its seconds to a microsecond.
    assert abs(two_steps - schedule.add(start, a + b)) <= 2 * ONE_MICROSECOND


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), start=moments, seconds=business_seconds)
def test_add_lands_inside_or_at_the_end_of_a_working_span(schedule, start, seconds):
    seconds = bounded(schedule, seconds)
    assume(seconds >= 1e-6)
    result = schedule.add(start, seconds)
    assert any(begin < result <= end for begin, end in working_spans_around(schedule, result))


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), points=st.lists(moments, min_size=3, max_size=3))
def test_between_is_additive(schedule, points):
    a, b, c = sorted(points)
    assert abs(schedule.between(a, c) - (schedule.between(a, b) + schedule.between(b, c))) <= 1e-6
