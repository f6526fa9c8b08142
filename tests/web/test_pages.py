"""The browser pages (tickets/views.py) through django.test.Client: who gets each page, who is
refused, constant query counts on list pages, masked PII for department staff, form posts,
CSRF and the language switch.

Given two tickets with a department subtask each (T: warehouse, U: finance), a ticket V with
no subtask, and an evidence photo on T.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
    TicketFactory,
    UserFactory,
)
from tickets import services
from tickets.models import Attachment, Department, SLAState, Status, Subtask, Ticket, TicketEvent
from tickets.subtasks import subtask_create
from tickets.workflow import ticket_transition

PHONE = "13812345678"
MASKED_PHONE = "138****5678"
ADDRESS = "浙江省杭州市西湖区文三路100号"
MASKED_ADDRESS = "浙江省杭州市****"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\x0bIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
)
LOGIN = "login"  # expected outcome: redirected to the login page
INBOX = "inbox"  # expected outcome: redirected to the department inbox


@dataclass
class World:
    t: Ticket  # warehouse subtask; the customer has PHONE and ADDRESS
    u: Ticket  # finance subtask
    v: Ticket  # no subtask
    t_subtask: Subtask
    u_subtask: Subtask
    attachment: Attachment


def _handed_over(actor, *, order, department_code: str) -> tuple[Ticket, Subtask]:
    ticket = services.ticket_create(
        actor=actor, channel="phone", description="双十一买的羽绒服，下单M码收到L码", order=order,
        type="exchange", category="wrong_or_missing_item",
    )
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor)
    subtask = subtask_create(
        ticket=ticket, actor=actor, department=Department.objects.get(code=department_code),
        kind=Subtask.Kind.RESHIP, description="补寄M码",
    )
    ticket.refresh_from_db()
    return ticket, subtask


@pytest.fixture
def world(agent, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(phone=PHONE, address=ADDRESS)
    order = OrderFactory(customer=customer, shipping_address=ADDRESS)
    OrderItemFactory(order=order, product=ProductFactory(name="轻薄羽绒服 M码"))
    t, t_subtask = _handed_over(agent, order=order, department_code="warehouse")
    u, u_subtask = _handed_over(agent, order=OrderItemFactory().order, department_code="finance")
    v = services.ticket_create(actor=agent, channel="chat", description="咨询发货时间", customer=CustomerFactory())
    attachment = services.attachment_add(
        ticket=t, actor=agent, upload=SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    )
    return World(t=t, u=u, v=v, t_subtask=t_subtask, u_subtask=u_subtask, attachment=attachment)


@pytest.fixture
def login(client):
    """A logged-in Client for a user (None: anonymous)."""

    def as_user(user) -> Client:
        if user is not None:
            client.force_login(user)
        return client

    return as_user


# Who gets which page ------------------------------------------------------------------------------

ROLES = ("anon", "plain", "agent", "supervisor", "warehouse", "finance")
PAGES = {
    "queue": lambda w: "/",
    "new": lambda w: "/tickets/new/",
    "ticket_t": lambda w: f"/tickets/{w.t.pk}/",  # warehouse subtask
    "ticket_v": lambda w: f"/tickets/{w.v.pk}/",  # no subtask: unrelated to any department
    "dashboard": lambda w: "/dashboard/",
    "inbox": lambda w: "/inbox/",
    "subtask_t": lambda w: f"/subtasks/{w.t_subtask.pk}/",
    "subtask_u": lambda w: f"/subtasks/{w.u_subtask.pk}/",
    "notifications": lambda w: "/notifications/",
    "attachment_t": lambda w: f"/attachments/{w.attachment.pk}/",
}
# fmt: off
MATRIX = {
    #                anon   plain  agent  super  wareh  financ
    "queue":         (LOGIN, 403,  200,   200,   INBOX, INBOX),
    "new":           (LOGIN, 403,  200,   200,   403,   403),
    "ticket_t":      (LOGIN, 403,  200,   200,   200,   404),
    "ticket_v":      (LOGIN, 403,  200,   200,   404,   404),
    "dashboard":     (LOGIN, 403,  403,   200,   403,   403),
    "inbox":         (LOGIN, 403,  200,   200,   200,   200),
    "subtask_t":     (LOGIN, 403,  200,   200,   200,   404),
    "subtask_u":     (LOGIN, 403,  200,   200,   404,   200),
    "notifications": (LOGIN, 403,  200,   200,   200,   200),
    "attachment_t":  (LOGIN, 403,  200,   200,   200,   404),
}
# fmt: on
assert set(MATRIX) == set(PAGES) and all(len(row) == len(ROLES) for row in MATRIX.values())


@pytest.fixture
def users(agent, supervisor, warehouse_staff, finance_staff):
    return {
        "anon": None,
        "plain": UserFactory(username="plain1"),
        "agent": agent,
        "supervisor": supervisor,
        "warehouse": warehouse_staff,
        "finance": finance_staff,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page_name,role,expected",
    [pytest.param(p, r, e, id=f"{p}-{r}-{e}") for p, row in MATRIX.items() for r, e in zip(ROLES, row, strict=True)],
)
def test_page_answers_the_right_role_and_refuses_the_others(world, users, login, page_name, role, expected):
    url = PAGES[page_name](world)

    response = login(users[role]).get(url)

    if expected == LOGIN:
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == "/accounts/login/"
    elif expected == INBOX:
        assert response.status_code == 302
        assert response["Location"] == "/inbox/"
    else:
        assert response.status_code == expected, f"{role} GET {url}"
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    response.close()


@pytest.mark.django_db
def test_department_inbox_lists_only_the_departments_own_subtasks(world, warehouse_staff, login):
    response = login(warehouse_staff).get("/inbox/")

    assert response.status_code == 200
    assert world.t.number in response.text
    assert world.u.number not in response.text


# PII masking ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page_name", ["ticket_t", "subtask_t"])
def test_warehouse_staff_see_the_phone_and_address_masked(world, warehouse_staff, login, page_name):
    response = login(warehouse_staff).get(PAGES[page_name](world))

    assert response.status_code == 200
    assert MASKED_PHONE in response.text
    assert MASKED_ADDRESS in response.text
    assert PHONE not in response.text
    assert ADDRESS not in response.text
    assert "文三路" not in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("page_name", ["ticket_t", "subtask_t"])
def test_agents_see_the_phone_and_address_in_full(world, agent, login, page_name):
    response = login(agent).get(PAGES[page_name](world))

    assert response.status_code == 200
    assert PHONE in response.text
    assert ADDRESS in response.text


# Query counts of list pages -------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def _constant_queries(client: Client, url: str, add_rows, *, label: str) -> int:
    """Query count for 3 rows and for 40 rows of the same page: must be equal."""
    add_rows(3)
    client.get(url)  # warm caches (content types, session) so both counts measure the page only
    few = _queries(client, url)
    add_rows(37)
    many = _queries(client, url)
    print(f"\n{label}: {few} queries for 3 rows, {many} for 40 rows")
    assert many == few, f"{label}: {few} queries for 3 rows but {many} for 40 rows (N+1)"
    return few


def _open_tickets(assignee, **fields):
    def add(n):
        for _ in range(n):
            order = OrderItemFactory().order
            TicketFactory(customer=order.customer, order=order, assignee=assignee, status=Status.IN_PROGRESS,
                          resolution_due_at=timezone.now() + timedelta(hours=8), **fields)

    return add


@pytest.mark.django_db
def test_queue_page_queries_do_not_grow_with_rows(agent, login):
    client = login(agent)
    count = _constant_queries(client, "/?queue=all", _open_tickets(agent), label="queue")

    response = client.get("/?queue=all")
    assert "(40 tickets)" in response.text
    assert count <= 20, f"queue: {count} queries"


@pytest.mark.django_db
def test_department_inbox_queries_do_not_grow_with_rows(agent, warehouse_staff, login):
    warehouse = Department.objects.get(code="warehouse")

    def add(n):
        for ticket in [TicketFactory(status=Status.WAITING_DEPARTMENT) for _ in range(n)]:
            Subtask.objects.create(ticket=ticket, department=warehouse, kind=Subtask.Kind.RESHIP, description="补寄",
                                   due_at=timezone.now() + timedelta(hours=24), assignee=warehouse_staff,
                                   created_by=agent)

    client = login(warehouse_staff)
    count = _constant_queries(client, "/inbox/", add, label="inbox")

    assert client.get("/inbox/").text.count("/subtasks/") == 40
    assert count <= 20, f"inbox: {count} queries"


@pytest.mark.django_db
def test_dashboard_queries_do_not_grow_with_rows(agent, supervisor, login):
    client = login(supervisor)
    add = _open_tickets(agent, sla_state=SLAState.BREACHED, risk_level="high", escalation_level=1)

    count = _constant_queries(client, "/dashboard/", add, label="dashboard")

    assert count <= 25, f"dashboard: {count} queries"


# Posting forms ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_intake_without_order_number_asks_for_it_and_creates_nothing(agent, login):
    before = Ticket.objects.count()

    response = login(agent).post("/tickets/new/", {
        "channel": "phone", "description": "衣服尺码不对", "customer_name": "王女士", "customer_phone": PHONE,
    })

    assert response.status_code == 200
    assert "Ask for the order number, or tick that there is none." in response.text
    assert Ticket.objects.count() == before


@pytest.mark.django_db
def test_intake_with_an_order_number_creates_the_ticket_and_opens_it(agent, login):
    item = OrderItemFactory(order=OrderFactory(external_number="TB20241111000001"))

    response = login(agent).post("/tickets/new/", {
        "order_number": "TB20241111000001", "affected_items": [item.pk], "channel": "phone",
        "description": "双十一买的羽绒服，下单M码收到L码",
    })

    ticket = Ticket.objects.get(order=item.order)
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    assert ticket.customer_id == item.order.customer_id
    assert list(ticket.affected_items.all()) == [item]
    assert TicketEvent.objects.filter(ticket=ticket, action="created", actor=agent).exists()


@pytest.mark.django_db
def test_forbidden_transition_shows_the_refusal_and_changes_nothing(world, agent, login):
    events = TicketEvent.objects.filter(ticket=world.v).count()

    response = login(agent).post(f"/tickets/{world.v.pk}/transition/", {"action": "resolve"}, follow=True)

    assert response.status_code == 200
    assert "cannot resolve a ticket that is new: only allowed from in progress" in response.text.lower()
    world.v.refresh_from_db()
    assert world.v.status == Status.NEW
    assert TicketEvent.objects.filter(ticket=world.v).count() == events


@pytest.mark.django_db
def test_department_staff_may_not_post_a_transition(world, warehouse_staff, login):
    status = world.t.status

    response = login(warehouse_staff).post(f"/tickets/{world.t.pk}/transition/", {"action": "resolve"})

    assert response.status_code == 403
    world.t.refresh_from_db()
    assert world.t.status == status


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused(world, agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    world.v.type, world.v.category = "consultation", "usage"
    world.v.save(update_fields=["type", "category"])

    response = client.post(f"/tickets/{world.v.pk}/transition/", {"action": "triage"})

    assert response.status_code == 403
    world.v.refresh_from_db()
    assert world.v.status == Status.NEW


# Language ----------------------------------------------------------------------------------------
# "Log in", "Username" and "Password" are translated by Django's own catalogues, so these tests do
# not depend on the project's zh_Hans catalogue being complete or compiled.


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["cookie", "accept-language"])
@pytest.mark.parametrize("lang,shown,not_shown", [
    ("zh-hans", ["登录", "用户名", "密码"], ["Log in"]),
    ("en", ["Log in", "Username", "Password"], ["登录"]),
])
def test_login_page_speaks_the_chosen_language(client, how, lang, shown, not_shown):
    if how == "cookie":
        client.cookies["django_language"] = lang
        response = client.get("/accounts/login/")
    else:
        response = client.get("/accounts/login/", headers={"accept-language": lang})

    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    for text in shown:
        assert text in response.text
    for text in not_shown:
        assert text not in response.text


@pytest.mark.django_db
def test_language_switch_in_the_header_sets_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "登录" in client.get("/accounts/login/").text
