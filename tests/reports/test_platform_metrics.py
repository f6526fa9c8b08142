"""The platform metrics report on a small hand-built 1-2 June 2024, every figure worked out by hand.

Local times (Asia/Shanghai). Refunds ("h" = hours from request to paid or refused):
 R1 Taobao O1, ticket A (quality)                requested 06-01 10:00, paid 06-01 14:00       4 h
 R2 Taobao O2, ticket B (platform intervened)    requested 06-01 08:00, paid 06-01 18:00      10 h
 R3 Taobao O3, ticket C (quality, dispute channel) 06-02 00:00, finance rejected 06-02 06:00   6 h (refused)
 R7 JD O5, ticket D (quality)                    requested 06-01 20:00, approval rejected 06-02 04:00  8 h
 left out: R4 a price difference paid 06-01, R5 still requested, R6 paid 07-01 00:30, R8 without a ticket.
Orders placed: Taobao O1 O2 (06-01), O3 (06-02), O4 (05-31, outside); JD O5 (06-02).
First responses (tickets created in the period):
 A 06-01 09:00 platform deadline 21:00, answered 20:00 (in time) · B 06-01 09:00 deadline 10:00, answered
 11:00 (late) · C 06-02 09:00 SLA policy, answered 10:00, not breached (in time) · E 06-02 SLA, unanswered,
 breached (late) · F 06-02 SLA, unanswered, not breached (not due yet) · G 06-02 deadline 12:00, unanswered
 (late) · H 06-02 deadline 2099, unanswered (not due yet) · D JD, neither SLA nor deadline (left out).
"""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from orders.models import Refund
from tests.factories import CustomerFactory, OrderFactory, TicketFactory, make_user
from tickets.models import ApprovalRequest, Department, Subtask, Ticket
from tickets.reports.periods import Period
from tickets.reports.queries import report_run
from tickets.sla.models import SLAPolicy

SHOP = ZoneInfo("Asia/Shanghai")
PERIOD = Period.from_dates(date(2024, 6, 1), date(2024, 6, 2))
QUERY = "?from=2024-06-01&to=2024-06-02"

pytestmark = pytest.mark.django_db


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHOP)


def ticket(platform: str, created: str, *, category: str = "other", channel: str = "chat", sla: bool = False,
           deadline: str | None = None, answered: str | None = None, breached: bool = False,
           intervened: bool = False) -> Ticket:
    row = TicketFactory(
        customer=CustomerFactory(platform=platform), category=category, channel=channel,
        platform_intervention=intervened, first_response_breached=breached,
        sla_policy=SLAPolicy.objects.order_by("pk").first() if sla else None,
    )
    Ticket.objects.filter(pk=row.pk).update(
        created_at=local(created),
        platform_deadline_at=local(deadline) if deadline else None,
        first_response_at=local(answered) if answered else None,
    )
    return row


def order(platform: str, placed: str):
    return OrderFactory(platform=platform, placed_at=local(placed), paid_amount=Decimal("500"))


def refund(order_, ticket_, requested: str, *, status: str, paid: str | None = None, kind: str = "refund") -> Refund:
    row = Refund.objects.create(order=order_, ticket=ticket_, amount=Decimal("10"), reason="r", kind=kind,
                                status=status, paid_at=local(paid) if paid else None)
    Refund.objects.filter(pk=row.pk).update(created_at=local(requested))
    return row


def build(user) -> None:
    finance = Department.objects.get(code="finance")
    o1, o2, o3 = order("taobao", "2024-06-01 10:00"), order("taobao", "2024-06-01 12:00"), order("taobao",
                                                                                                  "2024-06-02 09:00")
    order("taobao", "2024-05-31 23:00")
    o5 = order("jd", "2024-06-02 08:00")
    a = ticket("taobao", "2024-06-01 09:00", category="product_quality", deadline="2024-06-01 21:00",
               answered="2024-06-01 20:00")
    b = ticket("taobao", "2024-06-01 09:00", category="logistics", deadline="2024-06-01 10:00",
               answered="2024-06-01 11:00", intervened=True)
    c = ticket("taobao", "2024-06-02 09:00", category="product_quality", channel="platform_dispute", sla=True,
               answered="2024-06-02 10:00")
    ticket("taobao", "2024-06-02 09:30", sla=True, breached=True)  # E
    ticket("taobao", "2024-06-02 09:40", sla=True)  # F
    ticket("taobao", "2024-06-02 09:50", deadline="2024-06-02 12:00")  # G
    ticket("taobao", "2024-06-02 09:55", deadline="2099-01-01 00:00")  # H
    d = ticket("jd", "2024-06-01 19:00", category="product_quality")

    refund(o1, a, "2024-06-01 10:00", status="paid", paid="2024-06-01 14:00")  # R1
    refund(o2, b, "2024-06-01 08:00", status="paid", paid="2024-06-01 18:00")  # R2
    r3 = refund(o3, c, "2024-06-02 00:00", status="failed")
    subtask = Subtask.objects.create(ticket=c, department=finance, kind="refund_payment", description="pay",
                                     refund=r3, status="rejected", created_by=user)
    Subtask.objects.filter(pk=subtask.pk).update(finished_at=local("2024-06-02 06:00"))
    r7 = refund(o5, d, "2024-06-01 20:00", status="failed")
    ApprovalRequest.objects.create(ticket=d, kind="refund", refund=r7, status="rejected", requested_by=user,
                                   decided_at=local("2024-06-02 04:00"))
    refund(o1, a, "2024-06-01 09:00", status="paid", paid="2024-06-01 12:00", kind="price_difference")  # R4
    refund(o2, a, "2024-06-01 09:00", status="requested")  # R5
    refund(o1, a, "2024-05-30 09:00", status="paid", paid="2024-07-01 00:30")  # R6
    refund(o3, None, "2024-06-01 09:00", status="paid", paid="2024-06-01 10:00")  # R8


@pytest.fixture
def data(db):
    build(make_user("agent", username="pm_agent"))


def rows_by_key() -> dict:
    return {row[0]: row for row in report_run("platforms", PERIOD).rows}


# key, platform, day, refunds, avg h, median h, orders, quality orders, quality %, disputes, dispute %,
# first responses due, in time, in time %
EXPECTED = {
    "taobao:all": ["taobao:all", "Taobao", "Whole period", 3, 6.7, 6.0, 3, 1, 33.3, 1, 33.3, 5, 2, 40.0],
    "taobao:2024-06-01": ["taobao:2024-06-01", "Taobao", "2024-06-01", 2, 7.0, 7.0, 2, 1, 50.0, 1, 50.0, 2, 1, 50.0],
    "taobao:2024-06-02": ["taobao:2024-06-02", "Taobao", "2024-06-02", 1, 6.0, 6.0, 1, 0, 0.0, 0, 0.0, 3, 1, 33.3],
    "jd:all": ["jd:all", "JD", "Whole period", 1, 8.0, 8.0, 1, 0, 0.0, 0, 0.0, 0, 0, None],
    "jd:2024-06-02": ["jd:2024-06-02", "JD", "2024-06-02", 1, 8.0, 8.0, 1, 0, 0.0, 0, 0.0, 0, 0, None],
}


def test_every_figure_by_platform_and_day(data):
    rows = rows_by_key()

    for key, expected in EXPECTED.items():
        assert rows[key] == expected, key
    assert [key for key in rows if key.startswith(("taobao", "jd"))] == list(EXPECTED)  # total first, then days


def test_every_platform_has_a_total_row_even_without_data(data):
    rows = rows_by_key()

    assert [key for key in rows if key.endswith(":all")] == [
        "taobao:all", "tmall:all", "jd:all", "douyin:all", "pinduoduo:all", "own_site:all", "other:all",
    ]
    assert rows["douyin:all"][3:] == [0, None, None, 0, 0, None, 0, None, 0, 0, None]


def test_refund_handling_time_reads_a_refused_refunds_closing_from_finance_or_the_approval(data):
    rows = rows_by_key()

    assert rows["taobao:2024-06-02"][3:6] == [1, 6.0, 6.0]  # R3: finance's rejected payment task, 6 h
    assert rows["jd:all"][3:6] == [1, 8.0, 8.0]  # R7: the supervisor's rejection, 8 h


def test_quality_refunds_count_orders_once(data):
    o1 = Refund.objects.filter(status="paid", kind="refund", ticket__category="product_quality").first().order
    refund(o1, o1.refunds.first().ticket, "2024-06-01 11:00", status="paid", paid="2024-06-01 15:00")

    rows = rows_by_key()

    assert rows["taobao:2024-06-01"][3] == 3  # three refunds finished that day ...
    assert rows["taobao:2024-06-01"][7:9] == [1, 50.0]  # ... but one order with a quality refund


def test_chart_has_one_bar_group_per_platform(data):
    chart = report_run("platforms", PERIOD).chart

    assert chart["labels"] == ["Taobao", "Tmall", "JD", "Douyin", "Pinduoduo", "Own site", "Other"]
    assert [d["data"][0] for d in chart["datasets"]] == [33.3, 33.3, 40.0]
    assert chart["unit"] == "%"


@pytest.mark.parametrize("copies", [3, 9])
def test_query_count_is_constant(copies, django_assert_num_queries):
    user = make_user("agent", username="pm_count")
    finance = Department.objects.get(code="finance")
    platforms = ["taobao", "jd", "douyin"]
    for n in range(copies):
        day = f"2024-06-{n + 1:02d}"
        o = order(platforms[n % 3], f"{day} 08:00")
        t = ticket(platforms[n % 3], f"{day} 08:00", category="product_quality", sla=True, answered=f"{day} 09:00")
        if n % 3 == 2:
            r = refund(o, t, f"{day} 09:00", status="failed")
            s = Subtask.objects.create(ticket=t, department=finance, kind="refund_payment", description="pay",
                                       refund=r, status="cancelled", created_by=user)
            Subtask.objects.filter(pk=s.pk).update(finished_at=local(f"{day} 12:00"))
        else:
            refund(o, t, f"{day} 09:00", status="paid", paid=f"{day} 11:00")
    period = Period.from_dates(date(2024, 6, 1), date(2024, 6, 30))

    with django_assert_num_queries(4):
        report = report_run("platforms", period)

    day_rows = [row for row in report.rows if not row[0].endswith(":all")]
    assert len(day_rows) == copies
    assert sum(row[3] for row in day_rows) == copies


# Page, exports, access ------------------------------------------------------------------------------


def test_page_shows_the_section_the_definitions_and_the_chart_data(data, supervisor, client):
    client.force_login(supervisor)
    html = client.get("/reports/" + QUERY).text

    assert 'id="report-platforms"' in html and 'id="definitions-platforms"' in html
    assert "Quality refund rate (品质退款率)" in html and "Dispute refund rate (纠纷退款率)" in html
    assert "<td>taobao:2024-06-01</td><td>Taobao</td><td>2024-06-01</td><td>2</td><td>7.0</td>" in html
    assert 'data-report="platforms"' in html
    assert 'href="/reports/platforms.csv?from=2024-06-01&amp;to=2024-06-02"' in html


def test_page_speaks_chinese(data, supervisor, client):
    supervisor.staff_profile.language = "zh-hans"
    supervisor.staff_profile.save(update_fields=["language"])
    client.force_login(supervisor)
    html = client.get("/reports/" + QUERY).text

    assert "平台指标" in html and "品质退款率" in html and "整个期间" in html


def test_csv_contains_the_rows(data, supervisor, client):
    client.force_login(supervisor)
    response = client.get("/reports/platforms.csv" + QUERY)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="platforms_2024-06-01_2024-06-02.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith('Code,Platform,Day,Refunds finished,"Refund handling, average (h)"')
    assert "taobao:2024-06-01,Taobao,2024-06-01,2,7.0,7.0,2,1,50.0,1,50.0,2,1,50.0" in lines
    assert "jd:all,JD,Whole period,1,8.0,8.0,1,0,0.0,0,0.0,0,0," in lines


def test_xlsx_alone_and_in_the_workbook_of_all_reports(data, supervisor, client):
    client.force_login(supervisor)
    alone = load_workbook(io.BytesIO(client.get("/reports/platforms.xlsx" + QUERY).content))
    every = load_workbook(io.BytesIO(client.get("/reports/all.xlsx" + QUERY).content))

    assert alone.sheetnames == ["Platform metrics"]
    assert "Platform metrics" in every.sheetnames
    for sheet in (alone["Platform metrics"], every["Platform metrics"]):
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[0][:3] == ["Code", "Platform", "Day"]
        assert values[1] == EXPECTED["taobao:all"]
        assert sheet["I2"].number_format == "0.0"


def test_api_answers_the_report(data, supervisor, client):
    client.force_login(supervisor)
    body = client.get("/api/v1/reports/platforms/" + QUERY).json()

    assert body["name"] == "platforms"
    assert EXPECTED["taobao:2024-06-02"] in body["rows"]


@pytest.mark.parametrize("who", ["agent", "senior", "warehouse_staff"])
def test_only_those_who_read_reports_get_it(who, request, client, admin_user):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/reports/platforms.csv").status_code == 403
    assert client.get("/reports/platforms.xlsx").status_code == 403
    assert client.get("/api/v1/reports/platforms/").status_code == 403

    client.force_login(admin_user)
    assert client.get("/reports/platforms.csv").status_code == 200


def test_a_day_with_only_a_ticket_still_within_its_deadline_makes_no_row(db):
    ticket("tmall", "2024-06-01 10:00", sla=True)

    assert [row[0] for row in report_run("platforms", PERIOD).rows if row[0].startswith("tmall")] == ["tmall:all"]


def test_days_are_shop_local(db):
    # 06-01 07:30 local is still 05-31 in UTC; the refund paid 06-02 23:30 local (15:30 UTC) is on 06-02.
    o = order("pinduoduo", "2024-06-01 07:30")
    t = ticket("pinduoduo", "2024-06-01 07:30")
    refund(o, t, "2024-06-01 07:00", status="paid", paid="2024-06-02 23:30")

    rows = rows_by_key()

    assert [key for key in rows if key.startswith("pinduoduo")] == [
        "pinduoduo:all", "pinduoduo:2024-06-01", "pinduoduo:2024-06-02",
    ]
    assert rows["pinduoduo:2024-06-01"][3:7] == [0, None, None, 1]  # the order
    assert rows["pinduoduo:2024-06-02"][3:7] == [1, 40.5, 40.5, 0]  # the refund, 40.5 h after it was asked
