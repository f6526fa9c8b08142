"""The reports page and its CSV / XLSX exports: who gets them, the period form, file contents."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from tests.factories import OrderItemFactory, ProductFactory, TicketFactory
from tests.reports.conftest import build_june
from tickets.reports.queries import REPORTS

JUNE_QUERY = "?from=2024-06-01&to=2024-06-30"
SECTIONS = [f'id="report-{name}"' for name in REPORTS]


@pytest.fixture
def as_user(client):
    def login(user):
        if user is not None:
            client.force_login(user)
        return client

    return login


# The page ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_supervisor_sees_every_report_with_chart_data_and_tables(june, supervisor, as_user):
    response = as_user(supervisor).get("/reports/" + JUNE_QUERY)

    assert response.status_code == 200
    html = response.text
    assert all(section in html for section in SECTIONS)
    assert "Tickets created in the period" in html and "Surveys answered in the period" in html
    assert 'id="report-charts"' in html  # json_script, read by static/js/reports.js
    assert "/static/vendor/chartjs/chart.umd.min.js" in html and "/static/js/reports.js" in html
    assert "cdn" not in html.lower()
    assert "<td>SKU-KETTLE</td><td>电热水壶</td><td>3</td><td>75.0</td>" in html  # the defects table
    assert 'href="/reports/defects.csv?from=2024-06-01&amp;to=2024-06-30"' in html
    assert 'href="/reports/all.xlsx?from=2024-06-01&amp;to=2024-06-30"' in html


@pytest.mark.django_db
def test_admin_may_read_the_reports(admin_user, as_user):
    assert as_user(admin_user).get("/reports/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agent", "senior", "warehouse_staff", "plain_user"])
def test_agents_department_staff_and_others_are_refused(who, request, as_user):
    user = request.getfixturevalue(who)

    assert as_user(user).get("/reports/").status_code == 403
    assert as_user(user).get("/reports/volume.csv").status_code == 403
    assert as_user(user).get("/reports/volume.xlsx").status_code == 403
    assert as_user(user).get("/reports/all.xlsx").status_code == 403
    assert as_user(user).get("/reports/no-such-report.csv").status_code == 403  # the catalogue stays hidden


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/reports/", "/reports/volume.csv", "/reports/volume.xlsx", "/reports/all.xlsx"])
def test_anonymous_is_sent_to_log_in(path, client):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_default_period_is_filled_into_the_form(supervisor, as_user):
    html = as_user(supervisor).get("/reports/").text

    assert 'name="from" value="' in html and 'name="to" value="' in html
    assert "(30 days, Asia/Shanghai time)" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, message",
    [
        ("?from=2024-06-30&to=2024-06-01", "The end date is before the start date."),
        ("?from=2023-01-01&to=2024-06-30", "A period can be at most 366 days long."),
        ("?from=2024-06-31", "Enter a valid date."),
    ],
)
def test_a_bad_period_shows_the_form_error_and_no_report(query, message, supervisor, as_user):
    response = as_user(supervisor).get("/reports/" + query)

    assert response.status_code == 200
    assert message in response.text
    assert 'id="report-volume"' not in response.text and "report-charts" not in response.text


@pytest.mark.django_db
def test_page_query_count_does_not_grow_with_the_data(supervisor, as_user):
    client = as_user(supervisor)
    client.get("/")  # a person's first page also looks up their language (tickets/middleware.py), once
    build_june()
    with CaptureQueriesContext(connection) as first:
        assert client.get("/reports/" + JUNE_QUERY).status_code == 200
    build_june(suffix="-2")
    with CaptureQueriesContext(connection) as second:
        assert client.get("/reports/" + JUNE_QUERY).status_code == 200

    assert len(second) == len(first)
    assert len(first) <= 19 + 8  # 19 report queries + session, user, roles, header


# CSV ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_csv_is_utf8_with_bom_header_and_rows(june, supervisor, as_user):
    response = as_user(supervisor).get("/reports/defects.csv" + JUNE_QUERY)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="defects_2024-06-01_2024-06-30.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == [
        "SKU,Product,Tickets,Share (%)",
        ",All product-quality tickets,4,100.0",
        "SKU-KETTLE,电热水壶,3,75.0",
        "SKU-HEATER,暖风机,2,50.0",
    ]


@pytest.mark.django_db
def test_csv_neutralises_formulas(supervisor, as_user):
    for sku, name in [("=SKU-1", "=HYPERLINK(\"http://evil.example\",\"点我\")"), ("+SKU-2", "-2+3"),
                      ("@SKU-3", "@SUM(A1)")]:
        ticket = TicketFactory(category="product_quality")
        ticket.affected_items.add(OrderItemFactory(product=ProductFactory(sku=sku, name=name)))

    text = as_user(supervisor).get("/reports/defects.csv").content.decode("utf-8-sig")

    assert "'=SKU-1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\"" in text
    assert "'+SKU-2,'-2+3" in text
    assert "'@SKU-3,'@SUM(A1)" in text
    assert "\n=" not in text and ",=" not in text


@pytest.mark.django_db
def test_export_of_an_unknown_report_is_404_and_a_bad_period_400(supervisor, as_user):
    client = as_user(supervisor)

    assert client.get("/reports/no-such-report.csv").status_code == 404
    assert client.get("/reports/no-such-report.xlsx").status_code == 404
    bad = client.get("/reports/volume.csv?from=2024-06-30&to=2024-06-01")
    assert bad.status_code == 400 and b"Invalid period" in bad.content


# XLSX ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_all_reports_workbook_has_one_sheet_per_report(june, supervisor, as_user):
    response = as_user(supervisor).get("/reports/all.xlsx" + JUNE_QUERY)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="reports_2024-06-01_2024-06-30.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [
        "Ticket volume", "Response and resolution times", "SLA compliance", "Customer satisfaction (CSAT)",
        "Reopens and follow-up outcomes", "Returns and refunds", "Product defects (top 20)", "Responsibility",
        "Agents", "Platform metrics",
    ]
    returns = workbook["Returns and refunds"]
    assert [c.value for c in returns[1]] == ["Type", "Label", "Tickets", "Share (%)"]
    assert [c.value for c in returns[7]] == ["returns", "Returns, refunds, exchanges and reships", 6, 50.0]
    assert returns["D7"].number_format == "0.0" and returns.freeze_panes == "A2"
    agents = workbook["Agents"]
    assert [c.value for c in agents[3]] == ["bob", "bob", 4, 2, 3.0, 46.0, None, 1, 3]


@pytest.mark.django_db
def test_one_report_workbook_and_formula_text_stays_text(supervisor, as_user):
    ticket = TicketFactory(category="product_quality")
    ticket.affected_items.add(OrderItemFactory(product=ProductFactory(sku="=SKU-1", name="=1+1")))

    response = as_user(supervisor).get("/reports/defects.xlsx")

    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Product defects (top 20)"]
    sku, name = workbook.active["A3"], workbook.active["B3"]
    assert (sku.value, sku.data_type) == ("=SKU-1", "s")  # text, not a formula
    assert (name.value, name.data_type) == ("=1+1", "s")
    assert workbook.active["C3"].value == 1
