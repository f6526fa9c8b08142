"""What the ticket page costs and what it leaves out until asked (issue 21): the folded forms are fetched when
opened, the timeline is rendered once per change of the ticket and shared, and the page's queries do not grow
with the timeline."""

from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Refund, Shipment
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.test_list_page_queries import follow_up_row, solution_row, survey_row, ticket_subtask_row
from tickets import services
from tickets.incidents.models import Incident
from tickets.incidents.services import incidents_of_ticket
from tickets.models import Attachment, Message, Ticket
from tickets.policies import ticket_get_for_page, ticket_get_for_user
from tickets.replies import reply_placeholders
from tickets.selectors import TICKET_PAGE_LISTS, has_rows, ticket_page_records
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db

FOLDED = ("classify", "override", "summary", "solution", "subtask")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def people():
    return {"agent": make_user("agent", username="tp_agent"), "other": make_user("agent", username="tp_other"),
            "supervisor": make_user("supervisor", username="tp_sup"),
            "warehouse": make_user("department_staff", username="tp_wh", department="warehouse")}


@pytest.fixture
def ticket(people):
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("100"))
    OrderItemFactory(order=order, unit_price=Decimal("100"), paid_amount=Decimal("100"))
    ticket = services.ticket_create(actor=people["agent"], channel="chat", description="杯子漏水", order=order,
                                    affected_items=list(order.items.all()), type="exchange", category="logistics")
    ticket_transition(ticket=ticket, actor=people["agent"], action="triage")
    return Ticket.objects.get(pk=ticket.pk)


def _page(client, ticket) -> str:
    response = client.get(f"/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_folded_forms_are_not_in_the_page_and_come_when_opened(client, people, ticket):
    client.force_login(people["agent"])
    page = _page(client, ticket)

    for name in FOLDED:
        assert f'id="{name}-details"' in page
        assert f'hx-get="/tickets/{ticket.pk}/forms/{name}/"' in page
    assert 'id="classify-form"' not in page and 'id="subtask-form"' not in page
    assert 'name="root_cause"' not in page and '<option value="courier_claim">' not in page

    fragment = client.get(f"/tickets/{ticket.pk}/forms/subtask/")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert 'id="subtask-form"' in html and '<option value="courier_claim">' in html
    assert "csrfmiddlewaretoken" in html and "<html" not in html

    classify = client.get(f"/tickets/{ticket.pk}/forms/classify/").content.decode()
    assert 'id="classify-form"' in classify and f'name="version" value="{ticket.version}"' in classify
    assert 'value="exchange" selected' in classify  # the ticket's own values, as the form showed them before


def test_a_form_the_case_needs_now_opens_with_the_page(client, people):
    unclassified = services.ticket_create(actor=people["agent"], channel="chat", description="没分类",
                                          customer=CustomerFactory())
    client.force_login(people["agent"])
    page = _page(client, unclassified)
    assert 'id="classify-details" open' in page and 'id="classify-form"' in page
    assert 'id="override-details" hx-get=' in page  # the others stay folded


def test_folded_forms_are_only_for_who_may_edit(client, people, ticket):
    client.force_login(people["warehouse"])
    assert client.get(f"/tickets/{ticket.pk}/forms/classify/").status_code == 404  # none of their subtasks: unseen
    client.force_login(people["agent"])
    assert client.get(f"/tickets/{ticket.pk}/forms/nothing/").status_code == 404
    assert client.post(f"/tickets/{ticket.pk}/forms/classify/").status_code == 405  # only fetched, never saved here


def test_the_timeline_is_rendered_once_and_follows_every_change(client, people, ticket):
    client.force_login(people["agent"])
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="第一句")
    first = _page(client, ticket)
    assert "第一句" in first

    with CaptureQueriesContext(connection) as cached:
        again = _page(client, ticket)
    assert "第一句" in again
    # Served from the cache: neither the events nor the messages are read again.
    tables = " ".join(q["sql"] for q in cached.captured_queries)
    assert '"tickets_ticketevent"."action"' not in tables and '"tickets_message"."body"' not in tables

    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="第二句")
    assert "第二句" in _page(client, ticket)  # a new message moves the stamp: a new timeline

    # Shared by everyone who may see the ticket, in their own language.
    client.force_login(people["supervisor"])
    client.cookies["django_language"] = "en"
    english = _page(client, ticket)
    client.cookies["django_language"] = "zh-hans"
    chinese = _page(client, ticket)
    timeline = [page[page.index('id="timeline"'):page.index('id="composer"')] for page in (english, chinese)]
    assert all("第二句" in part for part in timeline)
    assert "Customer" in timeline[0] and "客户" in timeline[1] and "Customer" not in timeline[1]


def test_a_delivery_state_change_shows_on_the_cached_timeline(client, people, ticket):
    from tickets.models import Delivery

    client.force_login(people["agent"])
    reply = services.message_add(ticket=ticket, actor=people["agent"], direction=Message.Direction.OUTBOUND,
                                 body="您好，已为您补发")
    Delivery.objects.create(message=reply, channel="email", state="queued", recipient="a@example.com")
    assert 'data-delivery="queued"' in _page(client, ticket)
    Delivery.objects.filter(message=reply).update(state="dead", last_error="mailbox full", updated_at=timezone.now())
    page = _page(client, ticket)
    assert 'data-delivery="dead"' in page and "mailbox full" in page


def test_the_page_reads_the_same_queries_whatever_the_timeline_holds(client, people, ticket):
    client.force_login(people["agent"])
    _page(client, ticket)  # the session's first page also reads the agent's language

    def queries() -> int:
        cache.clear()  # a cold page: the timeline read and rendered
        with CaptureQueriesContext(connection) as captured:
            _page(client, ticket)
        return len(captured.captured_queries)

    services.message_add(ticket=ticket, actor=people["agent"], direction=Message.Direction.NOTE, body="记一笔")
    services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body="客户说")
    few = queries()
    for n in range(20):
        services.message_add(ticket=ticket, actor=people["agent"], direction=Message.Direction.NOTE, body=f"第{n}条")
        services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body=f"客户{n}")
    assert queries() == few


def test_what_the_page_offers_from_the_catalogue_is_shared_for_a_while(client, people, ticket, settings):
    """Reply templates, macros and suggested articles are the same on every page of the same kind of ticket:
    read once and shared for SHARED_CHOICES_SECONDS (a page then reads none of their tables); a new one is
    offered from the next window on."""
    from tickets.expert.models import Macro
    from tickets.knowledge.models import KnowledgeArticle
    from tickets.models import ReplyTemplate

    settings.SHARED_CHOICES_SECONDS = 30
    ReplyTemplate.objects.create(name="漏水说明", body="{customer_name}您好，杯子漏水可换新。", language="zh-hans")
    Macro.objects.create(name="请寄回检测", body="您好，请寄回检测。")
    KnowledgeArticle.objects.create(
        title="杯子漏水怎么办", body="杯子漏水：换新。", language="zh-hans", category="logistics",
        ticket_type="exchange", status=KnowledgeArticle.Status.PUBLISHED, published_at=timezone.now(),
        author=people["agent"])
    client.force_login(people["agent"])
    client.cookies["django_language"] = "zh-hans"
    catalogue = ("tickets_replytemplate", "tickets_macro", "tickets_knowledgearticle")

    with mock.patch("tickets.live.time.time", return_value=1_800_000_000):  # a 30 s window's first moment
        first = _page(client, ticket)
        assert all(name in first for name in ("漏水说明", "请寄回检测", "杯子漏水怎么办"))
        ReplyTemplate.objects.create(name="新的模板", body="您好", language="zh-hans")
        Macro.objects.create(name="新的宏", body="您好")
        with CaptureQueriesContext(connection) as captured:
            second = _page(client, ticket)
        read = " ".join(query["sql"] for query in captured.captured_queries)
        assert not [table for table in catalogue if table in read]
        assert "漏水说明" in second and "新的模板" not in second and "新的宏" not in second
    with mock.patch("tickets.live.time.time", return_value=1_800_000_030):  # the next window
        third = _page(client, ticket)
    assert "新的模板" in third and "新的宏" in third


def test_a_macro_the_supervisor_saves_or_deletes_shows_on_the_next_ticket_page(client, people, ticket, settings,
                                                                           django_capture_on_commit_callbacks):
    """The shared macro list is forgotten when a macro is saved or deleted on the desk: the supervisor who has
    just written one finds it on the ticket, not half a minute later."""
    from tickets.expert.models import Macro

    settings.SHARED_CHOICES_SECONDS = 30
    client.force_login(people["supervisor"])
    with mock.patch("tickets.live.time.time", return_value=1_800_000_000):  # one window throughout
        assert "请拍照片" not in _page(client, ticket)  # the list is now shared, without it
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/macros/", {"name": "请拍照片", "body": "您好，请拍一张照片。", "action": "",
                                                "tags": "", "subtask_kind": "", "subtask_description": ""})
        assert response.status_code == 302
        assert "请拍照片" in _page(client, ticket)
        macro = Macro.objects.get(name="请拍照片")
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(f"/macros/{macro.pk}/delete/").status_code == 302
        assert "请拍照片" not in _page(client, ticket)


# The lists a page reads only where they have rows ----------------------------------------------------------


def _what_the_page_reads(ticket: Ticket, agent) -> dict:
    return {
        "lists": {name: list(getattr(ticket, name).all())
                  for name in ("subtasks", "solutions", "affected_items", "attachments")},
        "records": ticket_page_records(ticket),
        "incidents": incidents_of_ticket(ticket) if has_rows(ticket, "incidents") else [],
        "placeholders": reply_placeholders(ticket, agent),
    }


def _a_row_in_every_list(ticket: Ticket, agent) -> None:
    ticket_subtask_row(agent, ticket)
    solution_row(agent, ticket)
    follow_up_row(agent, ticket)
    survey_row(agent, ticket)
    Attachment.objects.create(ticket=ticket, file="attachments/x.jpg", original_name="x.jpg",
                              content_type="image/jpeg", size=3, uploaded_by=agent)
    Incident.objects.create(title="批次开胶", cause="other", status="confirmed", window_start=timezone.now(),
                            window_end=timezone.now()).tickets.add(ticket)
    Refund.objects.create(order=ticket.order, ticket=ticket, amount=Decimal("12.50"), reason="r", kind="refund",
                          status="paid")
    Shipment.objects.create(order=ticket.order, ticket=ticket, reason=Shipment.Reason.EXCHANGE, carrier="中通",
                            tracking_number="ZT777")


def test_the_page_reads_a_list_only_where_it_has_rows_and_reads_the_same(people, ticket):
    agent = people["agent"]
    page_ticket = ticket_get_for_page(user=agent, ticket_id=ticket.pk)
    assert page_ticket.lists_present == {"affected_items"}  # an open case: its item, nothing after it yet
    with CaptureQueriesContext(connection) as captured:
        bare = _what_the_page_reads(page_ticket, agent)
    # Only what is not a list of the ticket's: the order's items, the reply placeholders' product of the item.
    assert not [q["sql"] for q in captured.captured_queries
                if any(f'"{table}"' in q["sql"] for table in ("tickets_solution", "tickets_attachment",
                       "tickets_subtask", "tickets_satisfactionsurvey", "tickets_followup", "tickets_incident",
                       "orders_refund", "orders_shipment"))]
    assert bare == _what_the_page_reads(ticket_get_for_user(user=agent, ticket_id=ticket.pk), agent)

    _a_row_in_every_list(ticket, agent)
    page_ticket = ticket_get_for_page(user=agent, ticket_id=ticket.pk)
    assert page_ticket.lists_present == set(TICKET_PAGE_LISTS)
    full = _what_the_page_reads(page_ticket, agent)
    assert full == _what_the_page_reads(ticket_get_for_user(user=agent, ticket_id=ticket.pk), agent)
    assert all(full["lists"].values()) and all(full["records"].values()) and full["incidents"]
    assert (full["placeholders"]["refund_amount"], full["placeholders"]["tracking_number"]) == ("12.50", "ZT777")


def test_the_page_of_a_ticket_with_every_list_shows_them(client, people, ticket):
    _a_row_in_every_list(ticket, people["agent"])
    client.force_login(people["agent"])
    response = client.get(f"/tickets/{ticket.pk}/")
    page = response.content.decode()
    assert "批次开胶" in page and "x.jpg" in page
    assert response.context["solutions"] and response.context["surveys"] and response.context["follow_ups"]
