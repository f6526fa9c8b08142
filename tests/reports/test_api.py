"""GET /api/v1/reports/<name>/: the JSON shape, the period, and who is refused."""

from datetime import datetime

import pytest
from rest_framework.test import APIClient

from tests.reports.conftest import SHOP
from tickets.reports.queries import REPORTS

URL = "/api/v1/reports/{}/"


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return as_user


@pytest.mark.django_db
def test_report_as_json_with_its_period_columns_and_rows(june, supervisor, api):
    response = api(supervisor).get(URL.format("returns"), {"from": "2024-06-01", "to": "2024-06-30"})

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "returns"
    assert body["scope"] == "Tickets created in the period"
    assert body["period"] == {
        "from": "2024-06-01", "to": "2024-06-30", "start": "2024-06-01T00:00:00+08:00",
        "end": "2024-07-01T00:00:00+08:00", "days": 30, "time_zone": "Asia/Shanghai",
    }
    assert body["columns"] == [
        {"key": "key", "label": "Type", "kind": "text"}, {"key": "label", "label": "Label", "kind": "text"},
        {"key": "tickets", "label": "Tickets", "kind": "count"},
        {"key": "share_pct", "label": "Share (%)", "kind": "percent"},
    ]
    # T2 T9 return_refund, T1 T7 exchange, T3 refund_only, T6 reship: 6 of 12 (tests/reports/conftest.py)
    assert body["rows"][0] == ["all", "All tickets", 12, 100.0]
    assert body["rows"][-1] == ["returns", "Returns, refunds, exchanges and reships", 6, 50.0]


@pytest.mark.django_db
def test_agents_report_json_keeps_nulls(june, supervisor, api):
    body = api(supervisor).get(URL.format("agents"), {"from": "2024-06-01", "to": "2024-06-30"}).json()

    assert body["rows"][1] == ["bob", "bob", 4, 2, 3.0, 46.0, None, 1, 3]


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_answers_with_the_default_period(name, june, supervisor, api, time_machine):
    time_machine.move_to(datetime(2024, 6, 30, 18, 0, tzinfo=SHOP), tick=False)  # "today" is June's last day

    body = api(supervisor).get(URL.format(name)).json()

    assert body["name"] == name
    assert (body["period"]["from"], body["period"]["to"], body["period"]["days"]) == ("2024-06-01", "2024-06-30", 30)
    assert body["rows"], body
    assert all(len(row) == len(body["columns"]) for row in body["rows"])
    counts = [i for i, column in enumerate(body["columns"]) if column["kind"] == "count"]
    assert any(row[i] for row in body["rows"] for i in counts), body  # June's tickets are counted


@pytest.mark.django_db
def test_admin_may_read(admin_user, api):
    assert api(admin_user).get(URL.format("volume")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"from": "2024-13-01"}, "from", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        ({"from": "2024-06-30", "to": "2024-06-01"}, "to", "The end date is before the start date."),
        ({"from": "2023-06-01", "to": "2024-06-30"}, "to", "A period can be at most 366 days long."),
        ({"to": "9999-12-31"}, "to", "Give a date between 2000-01-01 and 2099-12-31."),
    ],
)
def test_bad_dates_are_a_400_naming_the_parameter(query, field, message, supervisor, api):
    response = api(supervisor).get(URL.format("volume"), query)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "code": "invalid", "errors": {field: [message]}}


@pytest.mark.django_db
def test_unknown_report_is_404(supervisor, api):
    response = api(supervisor).get(URL.format("no-such-report"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agent", "senior", "warehouse_staff"])
def test_non_supervisors_are_403_even_for_unknown_names(who, request, api):
    client = api(request.getfixturevalue(who))

    assert client.get(URL.format("volume")).status_code == 403
    assert client.get(URL.format("no-such-report")).status_code == 403
    assert client.get(URL.format("volume"), {"from": "bad"}).status_code == 403


@pytest.mark.django_db
def test_anonymous_is_401(api):
    response = api(None).get(URL.format("volume"))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_schema_documents_the_report_endpoint(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()

    assert "/api/v1/reports/{name}/:" in schema
    assert "- response_times" in schema  # the report names as an enum
    assert "name: from" in schema and "name: to" in schema
