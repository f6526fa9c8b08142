"""In Chromium, in zh-Hans, as a supervisor: the dashboard's breached card says which 20 it shows and how
many there are; its count opens the complete list in the queue (newest breach first, paged, the same
count); the list is exported as CSV and the downloaded file holds every breached ticket, in that order,
with a BOM. Screenshots: artifacts/e2e/supervisor_lists/NN-name.png."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, TicketFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import Visit, _missing, expect, pytestmark  # noqa: F401
from tests.web.test_e2e_money import PASSWORD, _login
from tickets.models import SLAState, Status

BREACHED = 55  # more than the dashboard's 20 and than one queue page (50)


def _breached_tickets(agent) -> list:
    """Open tickets whose resolution fell due 1, 2, ... 55 minutes ago: newest breach first is this order."""
    now = timezone.now()
    made = []
    for minutes in range(1, BREACHED + 1):
        customer = CustomerFactory(name=f"客户{minutes:02d}", platform="taobao")
        made.append(TicketFactory(
            customer=customer, order=OrderFactory(customer=customer), assignee=agent, status=Status.IN_PROGRESS,
            sla_state=SLAState.BREACHED, resolution_due_at=now - timedelta(minutes=minutes),
            type="return_refund", category="product_quality",
        ))
    for _ in range(3):
        TicketFactory(status=Status.IN_PROGRESS, sla_state=SLAState.WARNING, resolution_due_at=now + timedelta(hours=1),
                      sla_next_check_at=now + timedelta(minutes=20))
    return made


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_supervisor_opens_every_breached_ticket_from_the_dashboard_and_exports_them(
    browser_db, live_server, browser, settings
):
    supervisor, agent = make_user("supervisor", username="zhang_sup"), make_user("agent", username="li_agent")
    speaks("zh-hans", supervisor)
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    breached = _breached_tickets(agent)
    base = live_server.url
    with translation.override("zh-hans"):
        see_all = gettext("see all %(n)s") % {"n": BREACHED}
        card_sort = gettext("%(shown)s of %(total)s shown: most escalated first, then oldest first.") % {
            "shown": 20, "total": BREACHED}
        first_page = gettext("Page %(n)s of %(total)s (%(rows)s tickets)") % {"n": 1, "total": 2, "rows": BREACHED}
        second_page = gettext("Page %(n)s of %(total)s (%(rows)s tickets)") % {"n": 2, "total": 2, "rows": BREACHED}
        newest_breach, export_csv = gettext("Newest breach first"), gettext("Export CSV")
        headers = [gettext("Number"), gettext("Status"), gettext("SLA state"), gettext("Customer")]
        next_page, breached_label = gettext("Next"), gettext("Breached")
        refused = gettext("%(count)s tickets match, more than the %(limit)s an export may hold. Narrow the filter "
                          "(a tab, a status, a date range) and export again.") % {"count": BREACHED, "limit": 50}

    context = browser.new_context(locale="zh-CN", accept_downloads=True, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    visit = Visit(page, "supervisor_lists")
    _login(page, base, supervisor)

    # The dashboard: 55 breached, 20 of them listed, saying in which order, with "see all 55".
    page.goto(f"{base}/dashboard/")
    expect(page.locator("#breached-total")).to_have_text(str(BREACHED))
    expect(page.locator("#breached-see-all")).to_have_text(see_all)
    expect(page.locator("#breached-list .list-note")).to_have_text(card_sort)
    expect(page.locator("#breached-list table tr")).to_have_count(20)
    visit.shot("dashboard")

    # The count opens the complete list: the open tab filtered to breached, newest breach first.
    page.click("#breached-total")
    page.wait_for_url(re.compile(r"/\?queue=open&sla_state=breached&ordering=-sla_due_at$"))
    expect(page.locator(".pager span")).to_have_text(first_page)
    expect(page.locator("select[name=ordering] option:checked")).to_have_text(newest_breach)
    numbers = page.locator("#ticket-table tbody td:nth-child(2) a").all_inner_texts()
    assert numbers == [t.number for t in breached[:50]]
    visit.shot("breached-list-page-1")
    page.get_by_role("link", name=next_page).click()
    expect(page.locator(".pager span")).to_have_text(second_page)
    assert page.locator("#ticket-table tbody td:nth-child(2) a").all_inner_texts() == [t.number for t in breached[50:]]
    visit.shot("breached-list-page-2")

    # Past the bound, the export is refused on the list itself with the count: no file.
    settings.QUEUE_EXPORT_MAX_ROWS = 50
    page.get_by_role("link", name=export_csv).click()
    expect(page.locator("p.flash.error")).to_have_text(refused)
    assert page.url.endswith("/?queue=open&sla_state=breached&ordering=-sla_due_at")  # the list, first page
    visit.shot("export-refused-past-the-bound")
    settings.QUEUE_EXPORT_MAX_ROWS = 50_000

    # Export CSV from there: every page, in the list's order, Chinese headers, opened by Excel thanks to the BOM.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=export_csv).click()
    download = download_info.value
    assert re.fullmatch(r"tickets_open_\d{8}_\d{4}\.csv", download.suggested_filename)
    content = open(download.path(), "rb").read()
    assert content.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [header[0], header[1], header[6], header[10]] == headers
    assert [row[0] for row in rows] == [t.number for t in breached]
    assert {row[6] for row in rows} == {breached_label} and rows[0][10] == "客户01"

    # The file as a person would look at it: shown in the browser as a table for the screenshot.
    table = "".join(f"<tr>{''.join(f'<td>{cell}</td>' for cell in row)}</tr>" for row in [header, *rows[:12]])
    page.set_content(f'<meta charset="utf-8"><style>td{{border:1px solid #ccc;padding:2px 6px;font:12px sans-serif}}'
                     f'</style><p>{download.suggested_filename}: {len(rows)} rows</p><table>{table}</table>')
    visit.shot("exported-csv")
    context.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_supervisor_reassigns_a_breached_ticket_from_the_dashboard(browser_db, live_server, browser):
    """Each row's select offers every desk worker, copied from the page's one list by dashboard.js."""
    supervisor, agent = make_user("supervisor", username="zhang_sup"), make_user("agent", username="li_agent")
    other = make_user("agent", username="wang_agent")
    label = f"{other.get_full_name()} ({other.username})" if other.get_full_name() else other.username
    speaks("zh-hans", supervisor)
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    first, second = _breached_tickets(agent)[:2]
    with translation.override("zh-hans"):
        saved = gettext("Assignment saved.")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    visit = Visit(page, "supervisor_lists")
    _login(page, live_server.url, supervisor)

    page.goto(f"{live_server.url}/dashboard/")
    row = page.locator("#breached-list tr", has=page.locator(f"a:text-is('{second.number}')"))
    select = row.locator("select[name=assignee]")
    # The placeholder, then every worker, in every row alike.
    workers = page.locator("#worker-options").evaluate("t => t.content.querySelectorAll('option').length")
    assert workers >= 3 and select.locator("option").count() == workers + 1
    assert page.locator("#breached-list tr").first.locator("select option").count() == workers + 1
    select.select_option(label=label)
    visit.shot("dashboard-reassign")
    row.get_by_role("button").click()

    expect(page.locator("p.flash.success")).to_have_text(saved)
    assert page.url.endswith("/dashboard/")
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.assignee, first.assignee) == (other, agent)
    context.close()
