"""In Chromium, in zh-Hans: a supervisor opens the reports, chooses 1-2 June 2024, reads the platform metrics
(definitions, table, chart) and downloads the report as CSV and XLSX. Screenshots at 1440 px go to
artifacts/e2e/platform_metrics/."""

import io
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from tests.factories import make_user
from tests.reports.test_platform_metrics import build
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "platform_metrics"
PASSWORD = "e2e-platform-2026"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_supervisor_reads_the_platform_metrics_and_downloads_them(browser_db, live_server, page):
    supervisor = make_user("supervisor", username="zhuguan")
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    speaks("zh-hans", supervisor)
    build(make_user("agent", username="pm_e2e_agent"))
    base = live_server.url
    page.set_default_timeout(10_000)
    page.set_viewport_size({"width": 1440, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    with translation.override("zh-hans"):
        t = {text: gettext(text) for text in (
            "Platform metrics", "Quality refund rate (品质退款率)", "Whole period", "Taobao", "Show",
        )}

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".usernav .who")).to_contain_text(supervisor.username)

    page.goto(f"{base}/reports/")
    page.fill("#id_from", "2024-06-01")
    page.fill("#id_to", "2024-06-02")
    page.locator("#period-form button[type=submit]").click()
    page.wait_for_url("**/reports/?from=2024-06-01&to=2024-06-02")

    section = page.locator("#report-platforms")
    page.click("nav.queues a[href='#report-platforms']")
    expect(section.locator("h2")).to_have_text(t["Platform metrics"])
    expect(section.locator("#definitions-platforms")).to_contain_text(t["Quality refund rate (品质退款率)"])
    first = section.locator("tbody tr").first
    expect(first).to_contain_text(t["Taobao"])
    expect(first).to_contain_text(t["Whole period"])
    expect(section.locator("tbody tr", has_text="taobao:2024-06-01")).to_contain_text("50.0")
    canvas = section.locator("canvas#chart-platforms")
    expect(canvas).to_be_visible()
    # Chart.js sized the canvas and drew on it: some pixel is not transparent.
    drawn = canvas.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; } return false; }"
    )
    assert drawn and canvas.bounding_box()["height"] > 100
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(SHOTS / "01-platform-metrics.png"))
    page.screenshot(path=str(SHOTS / "02-viewport.png"))

    with page.expect_download() as csv_download:
        section.get_by_role("link", name="CSV").click()
    assert csv_download.value.suggested_filename == "platforms_2024-06-01_2024-06-02.csv"
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    assert "taobao:2024-06-01" in text and "品质退款率" in text

    with page.expect_download() as xlsx_download:
        section.get_by_role("link", name="XLSX").click()
    workbook = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    assert workbook.sheetnames == [t["Platform metrics"]]
    assert [c.value for c in workbook.active[2]][:4] == ["taobao:all", t["Taobao"], t["Whole period"], 3]

    with page.expect_download() as all_download:
        page.click("#export-all")
    assert t["Platform metrics"] in load_workbook(io.BytesIO(all_download.value.path().read_bytes())).sheetnames
