"""The queue as a file (CSV, XLSX) and the dashboard's complete breached / at-risk lists (issue 18 item 6).

An export holds exactly what the queue page selects (tab, filters, search, sort), every page of it; a
selection past QUEUE_EXPORT_MAX_ROWS is refused on the queue page with its count, nothing streamed. The
dashboard's breached and at-risk counts link to the queue filtered to the same SLA state, whose count
matches the card, sorted newest breach first (or as chosen) and paged.
"""

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone
from openpyxl import load_workbook

from customers.masking import mask_name
from tests.factories import CustomerFactory, OrderFactory, TicketFactory, make_user
from tickets import exports
from tickets.models import Category, Priority, RiskLevel, SLAState, Status, TicketType

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.QUEUE_COUNTS_SECONDS = 0  # tab counts taken afresh: tests create tickets between reads
    settings.TIME_ZONE = "Asia/Shanghai"
    cache.clear()


def ticket(*, assignee=None, status=Status.IN_PROGRESS, sla_state=SLAState.ON_TRACK, due_in=timedelta(hours=4),
           created_ago=timedelta(hours=1), **fields):
    now = timezone.now()
    customer = fields.pop("customer", None) or CustomerFactory(platform="taobao")
    made = TicketFactory(customer=customer, order=OrderFactory(customer=customer), assignee=assignee, status=status,
                         sla_state=sla_state, resolution_due_at=now + due_in, type=TicketType.RETURN_REFUND,
                         category=Category.PRODUCT_QUALITY, **fields)
    made.__class__.objects.filter(pk=made.pk).update(created_at=now - created_ago)  # auto_now_add ignores a value
    made.refresh_from_db()
    return made


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# Export ------------------------------------------------------------------------------------------


def test_the_csv_holds_exactly_the_filtered_sorted_tickets_of_every_page(client, supervisor, settings):
    agent = make_user("agent", username="lihua")
    agent.first_name, agent.last_name = "华", "李"
    agent.save()
    breached = [ticket(assignee=agent, sla_state=SLAState.BREACHED, priority=Priority.P1,
                       created_ago=timedelta(hours=h), due_in=-timedelta(hours=h)) for h in (5, 2, 9)]
    ticket(assignee=agent, sla_state=SLAState.WARNING)  # another SLA state
    ticket(sla_state=SLAState.BREACHED, status=Status.CLOSED)  # not open: not in the tab
    settings.QUEUE_EXPORT_MAX_ROWS = 10
    client.force_login(supervisor)

    page = client.get("/", {"queue": "open", "sla_state": "breached", "ordering": "created_at"})
    export_link = 'href="/tickets/export.csv?queue=open&amp;sla_state=breached&amp;ordering=created_at"'
    assert export_link in page.content.decode()
    response = client.get("/tickets/export.csv", {"queue": "open", "sla_state": "breached", "ordering": "created_at",
                                                   "page": "2"})  # the page shown does not matter

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.search(r'attachment; filename="tickets_open_\d{8}_\d{4}\.csv"', response["Content-Disposition"])
    header, *rows = csv_rows(response)
    assert header[:3] == ["Number", "Status", "Type"] and "Customer" in header and "SLA due (shop time)" in header
    oldest_first = sorted(breached, key=lambda t: t.created_at)
    assert [row[0] for row in rows] == [t.number for t in oldest_first]
    first, row = oldest_first[0], rows[0]
    due = first.resolution_due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert row == [first.number, "In progress", "Return and refund", "Product quality", first.get_priority_display(),
                   "Low", "Breached", due, "Taobao", first.order.external_number, first.customer.name, "华 李",
                   first.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                   first.updated_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")]


def test_newest_breach_first_sorts_by_the_missed_due_time(client, supervisor):
    late = ticket(sla_state=SLAState.BREACHED, due_in=-timedelta(minutes=10), created_ago=timedelta(days=2))
    early = ticket(sla_state=SLAState.BREACHED, due_in=-timedelta(hours=6), created_ago=timedelta(hours=7))
    # The first response was due before the resolution: that is when this one breached.
    first_response = ticket(sla_state=SLAState.BREACHED, due_in=timedelta(hours=5),
                            first_response_due_at=timezone.now() - timedelta(hours=1))
    client.force_login(supervisor)

    newest = csv_rows(client.get("/tickets/export.csv", {"queue": "open", "sla_state": "breached",
                                                         "ordering": "-sla_due_at"}))[1:]
    oldest = csv_rows(client.get("/tickets/export.csv", {"queue": "open", "sla_state": "breached",
                                                         "ordering": "sla_due_at"}))[1:]

    assert [r[0] for r in newest] == [late.number, first_response.number, early.number]
    assert [r[0] for r in oldest] == [early.number, first_response.number, late.number]


def test_the_search_and_the_tab_are_exported_in_chinese_with_translated_headers(client, supervisor, agent, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # the shop's language: the desk speaks it
    wanted = ticket(assignee=agent, customer=CustomerFactory(name="张三丰", platform="taobao"))
    ticket(assignee=agent, customer=CustomerFactory(name="李四", platform="taobao"))
    ticket(assignee=None, customer=CustomerFactory(name="张三丰", platform="taobao"))  # not in "team"
    client.force_login(supervisor)

    rows = csv_rows(client.get("/tickets/export.csv", {"queue": "team", "q": "张三丰"}))

    assert [r[0] for r in rows[1:]] == [wanted.number]
    assert rows[0][0] == "编号" and "客户" in rows[0]


def test_the_xlsx_opens_with_openpyxl_and_holds_the_same_rows(client, supervisor):
    made = [ticket(sla_state=SLAState.WARNING) for _ in range(3)]
    evil = ticket(customer=CustomerFactory(name="=HYPERLINK(\"http://x\")", platform="taobao"))
    client.force_login(supervisor)

    response = client.get("/tickets/export.xlsx", {"queue": "unassigned"})

    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert re.search(r'filename="tickets_unassigned_\d{8}_\d{4}\.xlsx"', response["Content-Disposition"])
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Number" and len(rows) == 5
    assert {r[0] for r in rows[1:]} == {t.number for t in [*made, evil]}
    created = next(r for r in rows[1:] if r[0] == made[0].number)[12]
    # A date cell in the shop's time (a spreadsheet has no zones), to the second.
    assert abs(created - made[0].created_at.astimezone(SHANGHAI).replace(tzinfo=None)) < timedelta(seconds=1)
    evil_cell = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == evil.number)[10]
    assert evil_cell.data_type == "s" and evil_cell.value.startswith("=HYPERLINK")  # text, never a formula


def test_past_the_bound_the_export_is_refused_on_the_queue_page_with_the_count(client, supervisor, settings):
    for _ in range(4):
        ticket()
    settings.QUEUE_EXPORT_MAX_ROWS = 3
    client.force_login(supervisor)

    response = client.get("/tickets/export.csv", {"queue": "unassigned", "priority": "P3"})

    assert response.status_code == 302 and not response.streaming
    assert response["Location"] == "/?queue=unassigned&priority=P3"
    page = client.get(response["Location"]).content.decode()
    assert "4 tickets match, more than the 3 an export may hold. Narrow the filter" in page
    assert "At most 3 tickets per export" in page
    refused = client.get("/tickets/export.xlsx", {"queue": "unassigned"})
    assert refused.status_code == 302 and not refused.streaming

    settings.QUEUE_EXPORT_MAX_ROWS = 4
    assert len(csv_rows(client.get("/tickets/export.csv", {"queue": "unassigned"}))) == 5


def test_a_refused_filter_exports_nothing_rather_than_more_than_asked(client, supervisor):
    ticket()
    client.force_login(supervisor)

    response = client.get("/tickets/export.csv", {"queue": "open", "status": "no-such-status"})

    assert response.status_code == 302 and not response.streaming
    page = client.get(response["Location"]).content.decode()
    assert "The export was not made: correct the filter first." in page and 'class="error"' in page


def test_whoever_has_the_queue_exports_it_department_staff_do_not(client, agent, warehouse_staff, admin_user):
    mine = ticket(assignee=agent, customer=CustomerFactory(name="王小明", platform="taobao"))
    ticket(assignee=make_user("agent"))

    client.force_login(agent)
    rows = csv_rows(client.get("/tickets/export.csv"))  # the agent's default tab: their own
    assert [r[0] for r in rows[1:]] == [mine.number]
    assert rows[1][10] == "王小明"  # agents read customers in full (tickets.policies.sees_unmasked_pii)

    client.force_login(admin_user)
    assert client.get("/tickets/export.csv", {"queue": "open"}).status_code == 200

    client.force_login(warehouse_staff)
    assert client.get("/tickets/export.csv", {"queue": "open"}).status_code == 403
    assert client.get("/tickets/export.xlsx", {"queue": "open"}).status_code == 403
    client.logout()
    assert client.get("/tickets/export.csv").status_code == 302


def test_the_rows_mask_the_customer_for_whoever_may_not_read_them(warehouse_staff, agent):
    made = ticket(customer=CustomerFactory(name="王小明", platform="taobao"))

    masked = list(exports.export_rows([made.pk], user=warehouse_staff))
    full = list(exports.export_rows([made.pk], user=agent))

    assert masked[0][10] == mask_name("王小明") == "王**" and full[0][10] == "王小明"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_makes_the_same_queries_for_3_tickets_as_for_9(client, supervisor, django_assert_num_queries,
                                                                  kind):
    def made(n):
        for _ in range(n):
            ticket(assignee=make_user("agent"), sla_state=SLAState.BREACHED, risk_level=RiskLevel.HIGH)

    client.force_login(supervisor)
    url = f"/tickets/export.{kind}?queue=open&sla_state=breached"
    made(3)
    b"".join(client.get(url).streaming_content)  # the first request after logging in loads the session's user

    def read():
        response = client.get(url)
        return b"".join(response.streaming_content)

    # session, user, roles; the ids; one chunk of rows with their customer, order and assignee
    with django_assert_num_queries(5):
        body = read()
    made(6)
    with django_assert_num_queries(5):
        body = read()
    if kind == "csv":
        assert body.decode("utf-8-sig").count("\n") == 10


# The dashboard's complete lists ---------------------------------------------------------------------


def test_the_dashboard_counts_link_to_complete_lists_that_count_the_same(client, supervisor):
    breached = [ticket(sla_state=SLAState.BREACHED, due_in=-timedelta(minutes=m), assignee=make_user("agent"))
                for m in range(1, 26)]
    at_risk = [ticket(sla_state=SLAState.WARNING, sla_next_check_at=timezone.now() + timedelta(minutes=5))
               for _ in range(3)]
    ticket(sla_state=SLAState.BREACHED, status=Status.RESOLVED)  # not open: on neither card
    client.force_login(supervisor)

    page = client.get("/dashboard/").content.decode()

    breached_url = "/?queue=open&amp;sla_state=breached&amp;ordering=-sla_due_at"
    at_risk_url = "/?queue=open&amp;sla_state=warning&amp;ordering=sla_next_check_at"
    assert f'id="breached-total" href="{breached_url}"' in page and f'href="{at_risk_url}"' in page
    assert re.search(r'id="breached-see-all">see all 25<', page) and re.search(r'id="at-risk-see-all">see all 3<', page)
    assert "20 of 25 shown: most escalated first, then oldest first." in page
    assert "3 of 3 shown: SLA due soonest first." in page

    first = client.get(breached_url.replace("&amp;", "&")).content.decode()
    assert "Page 1 of 1 (25 tickets)" in first
    numbers = re.findall(r'<a href="/tickets/\d+/">(\w+)</a>', first)
    assert numbers == [t.number for t in breached]  # newest breach first: due 1 minute ago, then 2...
    assert '<option value="-sla_due_at" selected>Newest breach first</option>' in first
    listed = client.get(at_risk_url.replace("&amp;", "&")).content.decode()
    assert "(3 tickets)" in listed and all(t.number in listed for t in at_risk)


def test_the_breached_list_is_paged_and_sorted_as_chosen(client, supervisor, monkeypatch):
    monkeypatch.setattr("tickets.views.queue.PAGE_SIZE", 4)
    breached = [ticket(sla_state=SLAState.BREACHED, due_in=-timedelta(minutes=m), created_ago=timedelta(hours=m))
                for m in range(1, 7)]  # the newest breach is the newest ticket: the two sorts run opposite
    client.force_login(supervisor)
    query = {"queue": "open", "sla_state": "breached"}

    pages = [client.get("/", {**query, "ordering": "-sla_due_at", "page": n}).content.decode() for n in (1, 2)]
    oldest = client.get("/", {**query, "ordering": "created_at"}).content.decode()

    shown = [re.findall(r'<a href="/tickets/\d+/">(\w+)</a>', p) for p in pages]
    assert shown == [[t.number for t in breached[:4]], [t.number for t in breached[4:]]]
    assert "Page 2 of 2 (6 tickets)" in pages[1]
    assert re.search(r'href="\?queue=open&amp;sla_state=breached&amp;ordering=-sla_due_at&(amp;)?page=1"', pages[1])
    assert re.findall(r'<a href="/tickets/\d+/">(\w+)</a>', oldest) == [t.number for t in breached[::-1][:4]]

