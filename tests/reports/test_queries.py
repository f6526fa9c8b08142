"""Every report's figures on the hand-checked June of tests/reports/conftest.py, exactly.

The same tests run on SQLite (the default) and on PostgreSQL (DATABASE_URL=postgres://...): the
percentile is PostgreSQL's own percentile_cont there and the Python aggregate registered on each
SQLite connection here, and both must give the numbers worked out by hand below.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from tests.reports.conftest import JUNE, SHOP, build_june
from tickets.models import Ticket
from tickets.reports.aggregates import HoursBetween, Percentile, Percentiles, percentile_cont, percentiles_or_none
from tickets.reports.periods import Period
from tickets.reports.queries import REPORTS, report_run


def rows(name: str, period: Period = JUNE) -> list[list]:
    return report_run(name, period).rows


def by_key(report_rows: list[list], key_index: int = 0) -> dict:
    return {row[key_index]: row for row in report_rows}


# Period -----------------------------------------------------------------------------------------------


def test_period_is_local_days_with_an_exclusive_end():
    period = Period.from_dates(date(2024, 6, 1), date(2024, 6, 30))

    assert period.start_at == datetime(2024, 6, 1, tzinfo=SHOP)
    assert period.end_at == datetime(2024, 7, 1, tzinfo=SHOP)  # midnight after the last day, excluded
    assert period.start_at.isoformat() == "2024-06-01T00:00:00+08:00"
    assert period.days == 30


def test_default_period_is_the_last_30_local_days():
    # 2024-06-30 20:00 UTC is already 07-01 04:00 in Shanghai: "today" is the shop's today.
    with time_machine.travel(datetime(2024, 6, 30, 20, 0, tzinfo=UTC), tick=False):
        period = Period.from_dates(None, None)
        assert Period.last_days() == period

    assert (period.start, period.end) == (date(2024, 6, 2), date(2024, 7, 1))


def test_period_refuses_an_end_before_the_start_and_more_than_366_days():
    with pytest.raises(ValidationError) as reversed_:
        Period.from_dates(date(2024, 6, 30), date(2024, 6, 1))
    with pytest.raises(ValidationError) as too_long:
        Period.from_dates(date(2024, 1, 1), date(2025, 1, 1))  # 367 days

    assert reversed_.value.message_dict == {"to": ["The end date is before the start date."]}
    assert too_long.value.message_dict == {"to": ["A period can be at most 366 days long."]}
    assert Period.from_dates(date(2024, 1, 1), date(2024, 12, 31)).days == 366  # a leap year is allowed


def test_period_refuses_dates_outside_2000_to_2099():
    # 9999-12-31 would overflow the exclusive end; 0223 has Shanghai's +08:05:43 local mean time.
    with pytest.raises(ValidationError) as far:
        Period.from_dates(date(223, 3, 23), date(9999, 12, 31))

    assert far.value.message_dict == {
        "from": ["Give a date between 2000-01-01 and 2099-12-31."],
        "to": ["Give a date between 2000-01-01 and 2099-12-31."],
    }


# Percentile and hours -----------------------------------------------------------------------------------


def test_python_percentile_interpolates_like_postgresql():
    values = [0.5, 0.5, 1, 1, 1.5, 2, 2.5, 3, 4, 6]

    assert percentile_cont(values, 0.5) == 1.75  # between the 5th (1.5) and 6th (2) value
    assert percentile_cont(values, 0.9) == pytest.approx(4.2)  # position 8.1: 4 + 0.1 * (6 - 4)
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([], 0.5) is None


@pytest.mark.django_db
def test_percentile_aggregate_runs_in_one_query_and_ignores_nulls(june):
    hours = HoursBetween("first_response_at", "created_at")

    with CaptureQueriesContext(connection) as queries:
        figures = Ticket.objects.filter(pk__in=[t.pk for t in june.tickets.values()][:12]).aggregate(
            median=Percentile(hours, 0.5), p90=Percentile(hours, 0.9), both=Percentiles(hours, (0.5, 0.9)),
            none=Percentiles(hours, (0.5, 0.9), filter=Q(pk__lt=0)),
        )

    assert len(queries) == 1
    # First responses of T1..T12 (T8, T12 have none): 0.5 0.5 1 1 1.5 2 2.5 3 4 6
    assert figures["median"] == pytest.approx(1.75)
    assert figures["p90"] == pytest.approx(4.2)
    assert figures["both"] == [pytest.approx(1.75), pytest.approx(4.2)]  # one sort, both fractions
    assert percentiles_or_none(figures["none"], 2) == [None, None]  # NULL on PostgreSQL, [null, null] on SQLite


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_uses_its_own_percentile_cont(june):
    hours = HoursBetween("resolved_at", "created_at")
    queryset = Ticket.objects.filter(created_at__gte=JUNE.start_at, created_at__lt=JUNE.end_at)

    with CaptureQueriesContext(connection) as queries:
        figures = queryset.aggregate(median=Percentile(hours, 0.5))

    assert "percentile_cont(0.5) WITHIN GROUP (ORDER BY" in queries[0]["sql"]
    assert figures["median"] == pytest.approx(25.0)  # resolutions 5 8 10 20 | 30 40 50 72


@pytest.mark.django_db
def test_sqlite_connection_has_the_percentile_aggregate():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT aftersales_percentile_cont(v, 0.5)"
            " FROM (SELECT 1.0 AS v UNION ALL SELECT 4.0 UNION ALL SELECT NULL)"
        )
        assert cursor.fetchone()[0] == 2.5


# a. Volume -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_volume_counts_tickets_created_in_june_by_type_category_channel_platform_and_local_day(june):
    report = report_run("volume", JUNE)
    table = by_key(report.rows, key_index=1)

    # T1..T12; X1 (07-01 00:10 local) and X2 (05-31 23:50 local) are out.
    assert table["total"][3:] == [12, 100.0]
    # Types: exchange T1 T7, return_refund T2 T9, consultation T4 T12 = 2 each (2/12 = 16.7%);
    # one each (1/12 = 8.3%): complaint, refund_only, reship, price_difference, tech_support, unclassified T8.
    types = [row for row in report.rows if row[1].startswith("type:")]
    assert [(r[1], r[3], r[4]) for r in types] == [
        ("type:consultation", 2, 16.7), ("type:return_refund", 2, 16.7), ("type:exchange", 2, 16.7),
        ("type:complaint", 1, 8.3), ("type:refund_only", 1, 8.3), ("type:reship", 1, 8.3),
        ("type:price_difference", 1, 8.3), ("type:tech_support", 1, 8.3), ("type:", 1, 8.3),
    ]
    assert table["type:"][2] == "Unclassified"
    # Categories: quality T2 T3 T7 T10 = 4 (33.3%); wrong item T1 T6, usage T4 T12 = 2; logistics T9,
    # price T11, service T5, none T8 = 1.
    assert {r[1]: r[3] for r in report.rows if r[1].startswith("category:")} == {
        "category:product_quality": 4, "category:wrong_or_missing_item": 2, "category:usage": 2,
        "category:logistics": 1, "category:price": 1, "category:service_attitude": 1, "category:": 1,
    }
    assert table["category:product_quality"][4] == 33.3
    # Channels: chat T1 T2 T4 T7 T11 T12 = 6, phone T3 T5 T10 = 3, platform T6 T9 = 2, email T8 = 1.
    assert [(r[1], r[3], r[4]) for r in report.rows if r[1].startswith("channel:")] == [
        ("channel:chat", 6, 50.0), ("channel:phone", 3, 25.0), ("channel:platform", 2, 16.7),
        ("channel:email", 1, 8.3),
    ]
    # Platforms (customer's): taobao T1 T2 T5 T9 T12 = 5 (41.7%), jd T3 T7 = 2, douyin T4 T10 = 2,
    # then tmall T11, pinduoduo T6, own_site T8 = 1 (choice order breaks ties).
    assert [(r[1], r[3], r[4]) for r in report.rows if r[1].startswith("platform:")] == [
        ("platform:taobao", 5, 41.7), ("platform:jd", 2, 16.7), ("platform:douyin", 2, 16.7),
        ("platform:tmall", 1, 8.3), ("platform:pinduoduo", 1, 8.3), ("platform:own_site", 1, 8.3),
    ]


@pytest.mark.django_db
def test_volume_days_are_shop_local_days_and_the_last_evening_counts(june):
    report = report_run("volume", JUNE)
    days = {row[2]: row[3] for row in report.rows if row[1].startswith("day:")}

    assert len(days) == 30 and sum(days.values()) == 12  # every June day, zeros included
    assert days["2024-06-01"] == 2  # T1, T2
    assert days["2024-06-02"] == 1  # T3 only: T4 (06-03 07:30 local) is 06-02 23:30 in UTC
    assert days["2024-06-03"] == 1  # T4
    assert days["2024-06-30"] == 1  # T12 at 23:30 local; X1 at 00:10 on 07-01 is not June
    assert days["2024-06-04"] == 0
    assert report.chart["labels"][0] == "2024-06-01" and report.chart["datasets"][0]["data"][-1] == 1


@pytest.mark.django_db
def test_period_boundaries_follow_the_shop_clock(db):
    build = build_june()
    just_in, just_out = build.tickets["T12"], build.tickets["X1"]

    last_day = Period.from_dates(date(2024, 6, 30), date(2024, 6, 30))
    next_day = Period.from_dates(date(2024, 7, 1), date(2024, 7, 1))

    assert rows("volume", last_day)[0][3] == 1  # T12, 23:30 local on the last day, counts
    assert rows("volume", next_day)[0][3] == 1  # X1, 00:10 local the day after, belongs there
    just_in.refresh_from_db()
    just_out.refresh_from_db()
    assert just_in.created_at < last_day.end_at <= just_out.created_at


# b. Response times ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_response_times_overall_and_by_priority(june):
    table = by_key(rows("response_times"))

    # columns: key, label, tickets, with SLA, FR count, FR median, FR p90, FR SLA met %,
    #          resolved, RES median, RES p90, RES SLA met %
    # FR (10): 0.5 0.5 1 1 1.5 | 2 2.5 3 4 6 -> median (1.5+2)/2 = 1.75 -> 1.8; p90 at 8.1: 4+0.1*2 = 4.2
    # RES (8): 5 8 10 20 | 30 40 50 72 -> median 25.0; p90 at 6.3: 50+0.3*22 = 56.6
    # SLA tickets: all but T4 T8 T10 = 9; FR breached T2 T5 -> 7/9 = 77.8; RES breached T3 T5 T6 -> 6/9 = 66.7
    assert table["all"][2:] == [12, 9, 10, 1.8, 4.2, 77.8, 8, 25.0, 56.6, 66.7]
    # P1 = T3 T5: FR 1 4 -> 2.5, p90 1+0.9*3 = 3.7; FR met 1/2; RES 50 72 -> 61.0, p90 50+0.9*22 = 69.8; met 0/2
    assert table["P1"][2:] == [2, 2, 2, 2.5, 3.7, 50.0, 2, 61.0, 69.8, 0.0]
    # P2 = T1 T2 T7: FR 0.5 2.5 3 -> 2.5, p90 at 1.8: 2.5+0.8*0.5 = 2.9; met 2/3 (T2 breached);
    #      RES 10 30 40 -> 30.0, p90 30+0.8*10 = 38.0; met 3/3
    assert table["P2"][2:] == [3, 3, 3, 2.5, 2.9, 66.7, 3, 30.0, 38.0, 100.0]
    # P3 = T4 T6 T9 T10 T12 (SLA: T6 T9 T12): FR 0.5 1.5 2 6 -> 1.75 -> 1.8, p90 at 2.7: 2+0.7*4 = 4.8;
    #      met 3/3; RES 5 20 -> 12.5, p90 5+0.9*15 = 18.5; met 2/3 (T6 breached)
    assert table["P3"][2:] == [5, 3, 4, 1.8, 4.8, 100.0, 2, 12.5, 18.5, 66.7]
    # P4 = T8 T11 (SLA: T11): FR 1, RES 8
    assert table["P4"][2:] == [2, 1, 1, 1.0, 1.0, 100.0, 1, 8.0, 8.0, 100.0]


@pytest.mark.django_db
def test_response_times_of_an_empty_period_are_blank_not_zero(june):
    table = by_key(rows("response_times", Period.from_dates(date(2023, 1, 1), date(2023, 1, 31))))

    assert table["all"][2:] == [0, 0, 0, None, None, None, 0, None, None, None]


# c. SLA --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sla_compliance_overall_by_type_and_by_platform(june):
    report_rows = rows("sla")
    table = by_key(report_rows, key_index=1)

    # columns: breakdown, key, label, SLA tickets, FR breached, RES breached, compliant, compliance %
    # 9 SLA tickets; FR breached T2 T5; RES breached T3 T5 T6; neither: T1 T7 T9 T11 T12 = 5/9 = 55.6
    assert table["total"][3:] == [9, 2, 3, 5, 55.6]
    # By type (most SLA tickets first, then in the order types are declared, as in the volume report):
    # return_refund T2 (FR) T9 fine; exchange T1 T7 both fine
    assert [r[1:] for r in report_rows if r[1].startswith("type:")] == [
        ["type:return_refund", "Return and refund", 2, 1, 0, 1, 50.0],
        ["type:exchange", "Exchange", 2, 0, 0, 2, 100.0],
        ["type:consultation", "Consultation", 1, 0, 0, 1, 100.0],  # T12 (T4 has no SLA)
        ["type:complaint", "Complaint", 1, 1, 1, 0, 0.0],  # T5
        ["type:refund_only", "Refund only", 1, 0, 1, 0, 0.0],  # T3
        ["type:reship", "Reship missing or wrong item", 1, 0, 1, 0, 0.0],  # T6
        ["type:price_difference", "Price difference", 1, 0, 0, 1, 100.0],  # T11
    ]
    # By platform: taobao T1 T2 T5 T9 T12: FR T2 T5, RES T5, fine T1 T9 T12 = 3/5; jd T3 T7: 1/2
    assert [r[1:] for r in report_rows if r[1].startswith("platform:")] == [
        ["platform:taobao", "Taobao", 5, 2, 1, 3, 60.0],
        ["platform:jd", "JD", 2, 0, 1, 1, 50.0],
        ["platform:tmall", "Tmall", 1, 0, 0, 1, 100.0],  # T11
        ["platform:pinduoduo", "Pinduoduo", 1, 0, 1, 0, 0.0],  # T6
    ]


# d. CSAT -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_csat_counts_surveys_answered_in_june(june):
    table = by_key(rows("csat"))

    # Answered in June: S1 S2a S2b S4 S5 S6 S7 S8 = 8 (S8 is on May's X2, S6 at 23:00 on 06-30 counts;
    # S9 at 00:10 on 07-01 and S10 do not). Scores 5 2 4 5 3 1 4 (S4 none): 24/7 = 3.43 -> 3.4
    assert table["all"][2:] == [8, 100.0, 3.4]
    # columns: key, label, answers, share of answers %, average
    assert table["score_1"][2:4] == [1, 12.5]  # S7
    assert table["score_2"][2:4] == [1, 12.5]  # S2a
    assert table["score_3"][2:4] == [1, 12.5]  # S6
    assert table["score_4"][2:4] == [2, 25.0]  # S2b S8
    assert table["score_5"][2:4] == [2, 25.0]  # S1 S5
    assert table["no_score"][2:4] == [1, 12.5]  # S4
    assert table["not_solved"][2:4] == [2, 25.0]  # S2a S7


# e. Reopens -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reopen_rate_and_close_outcomes(june):
    table = by_key(rows("reopens"))

    # Ever resolved: resolved_at set T1 T2 T3 T5 T6 T7 T9 T11 = 8, plus T10 (reopened, resolved_at cleared) = 9
    assert table["ever_resolved"][2] == 9
    # Reopened at least once: T2 T5 T10 = 3/9 = 33.3%; reopens in total 1 + 2 + 1 = 4
    assert table["reopened"][2:] == [3, 33.3]
    assert table["reopens"][2] == 4
    # Outcomes: confirmed T1 T6 T9 = 3/6 = 50%, rated T2 T11 = 2/6 = 33.3%, silent T5 = 1/6 = 16.7%
    assert table["closed_with_outcome"][2:] == [6, 100.0]
    assert table["outcome_confirmed"][2:] == [3, 50.0]
    assert table["outcome_rated"][2:] == [2, 33.3]
    assert table["outcome_silent"][2:] == [1, 16.7]


# f. Returns ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_returns_share_among_all_tickets(june):
    assert rows("returns") == [
        ["all", "All tickets", 12, 100.0],
        ["return_refund", "Return and refund", 2, 16.7],  # T2 T9
        ["exchange", "Exchange", 2, 16.7],  # T1 T7
        ["refund_only", "Refund only", 1, 8.3],  # T3
        ["reship", "Reship missing or wrong item", 1, 8.3],  # T6
        ["returns", "Returns, refunds, exchanges and reships", 6, 50.0],  # 6/12
    ]


# g. Defects ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_defects_rank_products_by_distinct_quality_tickets(june):
    # Quality tickets in June: T2 T3 T7 T10 = 4. Kettle: T2, T3, T7 (two kettle lines, one ticket) = 3/4;
    # heater: T3, T10 = 2/4. T1's kettle is a wrong-item ticket; X1 and X2 are outside June.
    assert rows("defects") == [
        ["", "All product-quality tickets", 4, 100.0],
        ["SKU-KETTLE", "电热水壶", 3, 75.0],
        ["SKU-HEATER", "暖风机", 2, 50.0],
    ]


@pytest.mark.django_db
def test_defects_keep_the_top_20(db):
    from tests.factories import OrderItemFactory, ProductFactory, TicketFactory

    for i in range(22):
        ticket = TicketFactory(category="product_quality")
        ticket.affected_items.add(OrderItemFactory(product=ProductFactory(sku=f"SKU-{i:02d}")))

    report_rows = rows("defects", Period.last_days())

    assert report_rows[0][2] == 22
    assert len(report_rows) == 1 + 20
    assert [r[0] for r in report_rows[1:3]] == ["SKU-00", "SKU-01"]  # ties: by SKU


# h. Responsibility ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_responsibility_split(june):
    assert rows("responsibility") == [
        ["all", "All tickets", 12, 100.0],
        ["undetermined", "Undetermined", 3, 25.0],  # T4 T8 T12
        ["merchant", "Merchant", 5, 41.7],  # T1 T2 T3 T5 T10
        ["customer", "Customer", 2, 16.7],  # T7 T11
        ["third_party", "Third party (e.g. courier)", 2, 16.7],  # T6 T9
    ]


# i. Agents ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_agents_figures_over_their_june_tickets(june):
    # columns: username, name, assigned, handled, FR median, RES median, CSAT average, surveys, reopens
    assert rows("agents") == [
        # alice: T1 T2 T3 T7 T9 T11, all resolved. FR 0.5 0.5 1 | 1 2.5 3 -> 1.0; RES 5 8 10 | 30 40 50 -> 20.0
        # surveys of those tickets, whenever answered: S1 5, S2a 2, S2b 4, S5 5, S6 3, S7 1, S9 5 (July)
        # = 25/7 = 3.57 -> 3.6 (S8 is on May's X2: not hers in June). Reopens: T2 once.
        ["alice", "Alice Wang", 6, 6, 1.0, 20.0, 3.6, 7, 1],
        # bob: T4 T5 T6 T10; resolved T5 T6. FR 1.5 2 | 4 6 -> 3.0; RES 20 72 -> 46.0;
        # one survey (S4 on T6) without a score; reopens T5 twice + T10 once = 3.
        ["bob", "bob", 4, 2, 3.0, 46.0, None, 1, 3],
    ]


# Query counts --------------------------------------------------------------------------------------------

QUERIES = {
    "volume": 2,  # type x category x channel x platform, day
    "response_times": 2,  # overall, by priority
    "sla": 1,  # by type x platform
    "csat": 1,
    "reopens": 1,
    "returns": 1,
    "defects": 3,  # quality total, top products, their SKU and name
    "responsibility": 1,
    "agents": 3,  # per agent, their surveys, their names
    "platforms": 4,  # refunds by platform x day, refunds by platform, orders, tickets
}


def test_every_report_has_a_pinned_query_count():
    assert set(QUERIES) == set(REPORTS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(QUERIES))
def test_query_count_is_fixed_and_does_not_grow_with_the_data(name, django_assert_num_queries):
    build_june()
    with django_assert_num_queries(QUERIES[name]):
        before = report_run(name, JUNE)

    build_june(suffix="-2")  # every ticket, person, product and survey again
    with django_assert_num_queries(QUERIES[name]):
        after = report_run(name, JUNE)

    assert after.rows != before.rows  # the second copy was counted
