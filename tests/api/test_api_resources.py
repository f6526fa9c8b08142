"""The REST resources around a ticket, as each role sees them: messages, attachments, editing,
notifications, customers, orders, subtasks; pagination, authentication, the error shape, and no
500 on garbage. (List filters, intake, transitions and token basics are in tests/tickets/test_api_tickets.py.)
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, OrderFactory, UserFactory
from tests.tickets.test_uploads import EXE, PNG
from tests.tickets.test_workflow import hand_to_warehouse, move, new_ticket
from tickets.models import Attachment, Message, Notification, Status, Subtask, Ticket, TicketEvent

API = "/api/v1"
LIST_ENDPOINTS = ["tickets", "subtasks", "customers", "orders", "notifications"]
PHONE = "13812345678"
ADDRESS = "浙江省杭州市西湖区文三路100号3幢501室"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def assert_error_shape(response, status: int) -> dict:
    """Every error is JSON {"detail", "code"}; validation errors (code "invalid") add {"errors": {field: [...]}}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if body["code"] == "invalid":
        assert status == 400
        assert isinstance(body["errors"], dict) and body["errors"]
        assert all(isinstance(messages, list) and messages for messages in body["errors"].values())
    return body


@pytest.fixture
def plain(db):
    """Logged in, but with no role in the desk."""
    return UserFactory(username="plain1")


@pytest.fixture
def handed(agent):
    """An agent's ticket (with an order) waiting on the warehouse."""
    customer = CustomerFactory(phone=PHONE, address=ADDRESS)
    order = OrderFactory(customer=customer, shipping_address=ADDRESS)
    ticket = move(new_ticket(agent, customer=customer, order=order), agent, "triage", "start")
    hand_to_warehouse(ticket, agent)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


# Messages ----------------------------------------------------------------------------------------

def messages_url(ticket) -> str:
    return f"{API}/tickets/{ticket.pk}/messages/"


def test_agent_posts_a_reply_and_reads_the_conversation(agent, handed):
    client = client_for(agent)

    response = client.post(messages_url(handed), {"direction": "outbound", "body": "您好，已安排仓库检查"},
                           format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["author"], response.json()["direction"]) == (agent.username, "outbound")
    listed = client.get(messages_url(handed)).json()
    assert [m["body"] for m in listed] == ["您好，已安排仓库检查"]


def test_supervisor_may_post_on_any_ticket(supervisor, handed):
    response = client_for(supervisor).post(messages_url(handed), {"direction": "note", "body": "主管备注"},
                                           format="json")

    assert response.status_code == 201


def test_department_staff_read_the_conversation_but_cannot_post(agent, warehouse_staff, handed):
    Message.objects.create(ticket=handed, direction="inbound", channel="chat", body="东西坏了", author=None)
    client = client_for(warehouse_staff)

    assert [m["body"] for m in client.get(messages_url(handed)).json()] == ["东西坏了"]
    response = client.post(messages_url(handed), {"direction": "note", "body": "仓库来过"}, format="json")

    assert_error_shape(response, 403)
    assert handed.messages.count() == 1


def test_a_user_without_a_role_gets_not_found_for_messages(plain, handed):
    client = client_for(plain)

    assert_error_shape(client.get(messages_url(handed)), 404)
    assert_error_shape(client.post(messages_url(handed), {"direction": "note", "body": "x"}, format="json"), 404)
    assert not handed.messages.exists()


@pytest.mark.parametrize("body", ["", "   "])
def test_an_empty_message_is_a_field_error(agent, handed, body):
    response = client_for(agent).post(messages_url(handed), {"direction": "outbound", "body": body}, format="json")

    assert "body" in assert_error_shape(response, 400)["errors"]
    assert not handed.messages.exists()


def test_a_message_without_direction_is_a_field_error(agent, handed):
    response = client_for(agent).post(messages_url(handed), {"body": "你好"}, format="json")

    assert "direction" in assert_error_shape(response, 400)["errors"]


# Attachments -------------------------------------------------------------------------------------

def attachments_url(ticket) -> str:
    return f"{API}/tickets/{ticket.pk}/attachments/"


def test_a_real_png_is_accepted(agent, handed, media):
    response = client_for(agent).post(
        attachments_url(handed), {"file": SimpleUploadedFile("破损.png", PNG, content_type="image/png")},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["original_name"], body["content_type"], body["size"]) == ("破损.png", "image/png", len(PNG))
    assert Attachment.objects.get(pk=body["id"]).ticket_id == handed.pk
    assert len(stored_files(media)) == 1
    assert handed.events.filter(action="attachment_added").exists()


def test_an_exe_renamed_png_is_refused_with_a_clear_message_and_nothing_stored(agent, handed, media):
    events_before = handed.events.count()

    response = client_for(agent).post(
        attachments_url(handed), {"file": SimpleUploadedFile("photo.png", EXE, content_type="image/png")},
        format="multipart",
    )

    body = assert_error_shape(response, 400)
    messages = [message for field in body["errors"].values() for message in field]
    assert any("photo.png is not an accepted photo, video or PDF" in message for message in messages), body
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
    assert handed.events.count() == events_before


def test_an_upload_without_a_file_is_a_field_error(agent, handed, media):
    response = client_for(agent).post(attachments_url(handed), {}, format="multipart")

    assert "file" in assert_error_shape(response, 400)["errors"]


def test_department_staff_cannot_attach_to_the_ticket_itself(warehouse_staff, handed, media):
    response = client_for(warehouse_staff).post(
        attachments_url(handed), {"file": SimpleUploadedFile("a.png", PNG)}, format="multipart"
    )

    assert_error_shape(response, 403)
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_attachments_take_multipart_only(agent, handed, media):
    response = client_for(agent).post(attachments_url(handed), {"file": "x"}, format="json")

    assert_error_shape(response, 415)


# Editing the ticket -------------------------------------------------------------------------------

def detail_url(ticket) -> str:
    return f"{API}/tickets/{ticket.pk}/"


def test_patch_edits_the_recorded_facts_and_writes_an_event(agent, handed):
    events_before = handed.events.count()

    response = client_for(agent).patch(
        detail_url(handed),
        {"description": "电饭煲不加热，指示灯不亮", "requested_amount": "299.00", "purchase_date": "2026-10-01",
         "product_model": "RC-3000", "threatens_exposure": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["description"], body["requested_amount"], body["purchase_date"], body["product_model"]) == (
        "电饭煲不加热，指示灯不亮", "299.00", "2026-10-01", "RC-3000"
    )
    ticket = Ticket.objects.get(pk=handed.pk)
    assert (ticket.requested_amount, ticket.purchase_date) == (Decimal("299.00"), date(2026, 10, 1))
    assert ticket.events.count() > events_before
    event = ticket.events.filter(action="classified").get()
    assert event.actor == agent
    assert set(event.changes) >= {"description", "requested_amount", "purchase_date", "product_model"}


def test_patch_of_text_facts_writes_a_classified_event(agent, handed):
    response = client_for(agent).patch(
        detail_url(handed), {"description": "指示灯不亮", "product_model": "RC-3000", "symptom": "不加热",
                             "reason": "客户补充"}, format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["description"], response.json()["product_model"]) == ("指示灯不亮", "RC-3000")
    event = TicketEvent.objects.filter(ticket=handed, action="classified").get()
    assert event.changes["product_model"] == ["", "RC-3000"]
    assert (event.actor, event.reason) == (agent, "客户补充")
    assert response.json()["timeline"][-1]["action"] in ("classified", "sla_recomputed")


@pytest.mark.parametrize(
    ("field", "value"),
    [("requested_amount", "-1"), ("requested_amount", "abc"), ("requested_amount", "1" * 40),
     ("requested_amount", 10**30), ("purchase_date", "yesterday"), ("purchase_date", 20261001),
     ("threatens_exposure", "maybe"), ("tags", "not-a-list"), ("type", "gossip"), ("description", "")],
)
def test_patch_with_a_wrong_value_is_a_field_error_and_changes_nothing(agent, handed, field, value):
    version = handed.version

    response = client_for(agent).patch(detail_url(handed), {field: value}, format="json")

    assert field in assert_error_shape(response, 400)["errors"]
    assert Ticket.objects.get(pk=handed.pk).version == version


def test_department_staff_and_plain_users_cannot_patch(warehouse_staff, plain, handed):
    assert_error_shape(client_for(warehouse_staff).patch(detail_url(handed), {"symptom": "x"}, format="json"), 403)
    assert_error_shape(client_for(plain).patch(detail_url(handed), {"symptom": "x"}, format="json"), 404)
    assert Ticket.objects.get(pk=handed.pk).symptom == ""


def test_put_and_delete_are_not_allowed(supervisor, handed):
    client = client_for(supervisor)

    assert_error_shape(client.put(detail_url(handed), {"description": "x"}, format="json"), 405)
    assert_error_shape(client.delete(detail_url(handed)), 405)
    assert Ticket.objects.filter(pk=handed.pk, description=handed.description).exists()


# Notifications -----------------------------------------------------------------------------------

def notify(user, ticket, key: str) -> Notification:
    return Notification.objects.create(
        recipient=user, kind=Notification.Kind.SUBTASK_DUE_SOON, ticket=ticket, dedupe_key=key
    )


def test_notifications_list_only_my_own(agent, supervisor, handed):
    mine = [notify(agent, handed, "a"), notify(agent, handed, "b")]
    notify(supervisor, handed, "c")

    body = client_for(agent).get(f"{API}/notifications/").json()

    assert sorted(row["id"] for row in body["results"]) == sorted(n.pk for n in mine)
    assert body["results"][0]["ticket_number"] == handed.number


def test_marking_my_notification_read(agent, handed):
    notification = notify(agent, handed, "a")
    other = notify(agent, handed, "b")
    client = client_for(agent)

    response = client.post(f"{API}/notifications/{notification.pk}/read/")

    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    notification.refresh_from_db()
    assert notification.read_at is not None
    unread = client.get(f"{API}/notifications/", {"unread": "true"}).json()["results"]
    assert [row["id"] for row in unread] == [other.pk]


def test_someone_elses_notification_is_not_found(agent, supervisor, handed):
    theirs = notify(supervisor, handed, "a")

    assert_error_shape(client_for(agent).post(f"{API}/notifications/{theirs.pk}/read/"), 404)
    theirs.refresh_from_db()
    assert theirs.read_at is None


# Customers and orders ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_desk_people_see_customers_and_orders_unmasked(request, role, handed):
    client = client_for(request.getfixturevalue(role))

    customers = client.get(f"{API}/customers/").json()["results"]
    customer = client.get(f"{API}/customers/{handed.customer_id}/").json()
    order = client.get(f"{API}/orders/{handed.order_id}/").json()

    assert handed.customer_id in [row["id"] for row in customers]
    assert (customer["phone"], customer["address"], customer["pii_masked"]) == (PHONE, ADDRESS, False)
    assert order["shipping_address"] == ADDRESS
    assert [row["id"] for row in client.get(f"{API}/orders/").json()["results"]] == [handed.order_id]


def test_department_staff_see_only_their_tickets_customers_masked(agent, warehouse_staff, handed):
    order = OrderFactory()
    other = new_ticket(agent, customer=order.customer, order=order)  # not handed to the warehouse
    client = client_for(warehouse_staff)

    customers = client.get(f"{API}/customers/").json()["results"]
    orders = client.get(f"{API}/orders/").json()["results"]
    customer = client.get(f"{API}/customers/{handed.customer_id}/").json()
    order = client.get(f"{API}/orders/{handed.order_id}/").json()

    assert [row["id"] for row in customers] == [handed.customer_id]
    assert [row["id"] for row in orders] == [handed.order_id]
    assert (customer["phone"], customer["pii_masked"]) == ("138****5678", True)
    assert customer["address"] == "浙江省杭州市****" == order["shipping_address"]
    assert PHONE not in str(customers) and ADDRESS not in str(orders)
    assert_error_shape(client.get(f"{API}/customers/{other.customer_id}/"), 404)
    assert_error_shape(client.get(f"{API}/orders/{other.order_id}/"), 404)


def test_a_user_without_a_role_sees_no_customers_or_orders(plain, handed):
    client = client_for(plain)

    assert client.get(f"{API}/customers/").json()["results"] == []
    assert client.get(f"{API}/orders/").json()["results"] == []
    assert_error_shape(client.get(f"{API}/customers/{handed.customer_id}/"), 404)
    assert_error_shape(client.get(f"{API}/orders/{handed.order_id}/"), 404)


# Subtasks ----------------------------------------------------------------------------------------

@pytest.fixture
def two_departments(agent, handed):
    """The warehouse subtask of `handed` is overdue; a finance subtask on another ticket is not."""
    from tickets.models import Department
    from tickets.subtasks import subtask_create

    warehouse = handed.subtasks.get()
    Subtask.objects.filter(pk=warehouse.pk).update(due_at=timezone.now() - timedelta(hours=1))
    other = move(new_ticket(agent), agent, "triage", "start")
    finance = subtask_create(ticket=other, actor=agent, department=Department.objects.get(code="finance"),
                             kind="refund_payment", description="退款 99 元")
    return warehouse, finance


def subtask_ids(client, **params) -> list[int]:
    response = client.get(f"{API}/subtasks/", params)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_mine_is_my_departments_subtasks(warehouse_staff, finance_staff, supervisor, two_departments):
    warehouse, finance = two_departments

    assert subtask_ids(client_for(warehouse_staff), mine="true") == [warehouse.pk]
    assert subtask_ids(client_for(finance_staff), mine="true") == [finance.pk]
    assert subtask_ids(client_for(supervisor), mine="false") == sorted([warehouse.pk, finance.pk])
    assert subtask_ids(client_for(supervisor), mine="true") == []  # a supervisor has no department


def test_overdue_lists_active_subtasks_past_due(supervisor, finance_staff, two_departments):
    warehouse, finance = two_departments

    assert subtask_ids(client_for(supervisor), overdue="true") == [warehouse.pk]
    assert subtask_ids(client_for(supervisor), overdue="false") == [finance.pk]
    assert subtask_ids(client_for(finance_staff), overdue="true") == []


def test_a_user_without_a_role_sees_no_subtasks(plain, two_departments):
    warehouse, _ = two_departments
    client = client_for(plain)

    assert subtask_ids(client) == []
    assert_error_shape(client.get(f"{API}/subtasks/{warehouse.pk}/"), 404)


# Every list: cursor pages, authentication --------------------------------------------------------

@pytest.mark.parametrize("resource", LIST_ENDPOINTS)
def test_every_list_is_a_cursor_page_that_can_be_followed(supervisor, agent, resource):
    for _ in range(3):
        customer = CustomerFactory()
        ticket = move(new_ticket(agent, customer=customer, order=OrderFactory(customer=customer)), agent,
                      "triage", "start")
        hand_to_warehouse(ticket, agent)
        notify(supervisor, ticket, f"n{ticket.pk}")
    client = client_for(supervisor)

    seen, url = [], f"{API}/{resource}/?page_size=2"
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    everything = client.get(f"{API}/{resource}/?page_size=200").json()["results"]
    assert len(everything) >= 3
    assert sorted(seen) == sorted(row["id"] for row in everything) and len(set(seen)) == len(seen)
    assert "cursor=" in client.get(f"{API}/{resource}/?page_size=1").json()["next"]


@pytest.mark.parametrize("resource", LIST_ENDPOINTS)
def test_anonymous_is_refused_with_json(resource):
    response = APIClient().get(f"{API}/{resource}/")

    assert response.status_code in (401, 403)
    assert_error_shape(response, response.status_code)


def test_token_authentication_works_on_every_list(supervisor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=supervisor).key}")

    for resource in LIST_ENDPOINTS:
        assert client.get(f"{API}/{resource}/").status_code == 200, resource


def test_a_wrong_token_is_refused_with_json(supervisor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)

    response = client.get(f"{API}/customers/")

    # 403, not 401: SessionAuthentication comes first and offers no WWW-Authenticate challenge.
    assert response.status_code in (401, 403)
    assert assert_error_shape(response, response.status_code)["code"] == "authentication_failed"


# Garbage in, no 500 out --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path",
    ["tickets/{t}/", "tickets/{t}/messages/", "customers/{c}/", "orders/{o}/", "subtasks/{s}/"],
)
@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999", "99999999999999999999999", "%20", "1e3"])
def test_unknown_or_non_numeric_ids_are_not_found(supervisor, handed, path, bad_id):
    url = f"{API}/" + path.format(t=bad_id, c=bad_id, o=bad_id, s=bad_id)

    assert_error_shape(client_for(supervisor).get(url), 404)


@pytest.mark.parametrize(
    "path",
    ["tickets/{id}/transitions/", "tickets/{id}/classify/", "tickets/{id}/messages/", "tickets/{id}/take/",
     "tickets/{id}/assign/", "subtasks/{id}/transitions/"],
)
@pytest.mark.parametrize("bad_id", ["abc", "99999999999999999999999"])
def test_writes_to_unknown_or_non_numeric_ids_are_not_found(supervisor, path, bad_id):
    response = client_for(supervisor).post(f"{API}/" + path.format(id=bad_id), {"action": "start"}, format="json")

    assert_error_shape(response, 404)


def test_an_unrouted_api_path_answers_json(supervisor, handed):
    response = client_for(supervisor).get(f"{API}/tickets/1.5/messages/")

    assert_error_shape(response, 404)


@pytest.mark.parametrize("bad_id", ["abc"])
def test_marking_a_non_numeric_notification_read_is_not_found(agent, bad_id):
    client = client_for(agent)
    client.raise_request_exception = False

    assert_error_shape(client.post(f"{API}/notifications/{bad_id}/read/"), 404)


@pytest.mark.parametrize("bad_id", ["0", "99999999999999999999999"])
def test_marking_an_unknown_notification_read_is_not_found(agent, bad_id):
    assert_error_shape(client_for(agent).post(f"{API}/notifications/{bad_id}/read/"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "tickets/"), ("patch", "tickets/{t}/"), ("post", "tickets/{t}/transitions/"),
     ("post", "tickets/{t}/classify/"), ("post", "tickets/{t}/messages/"), ("post", "tickets/{t}/subtasks/"),
     ("post", "tickets/{t}/assign/"), ("post", "subtasks/{s}/transitions/")],
)
def test_a_non_json_body_is_a_parse_error(supervisor, handed, method, path):
    url = f"{API}/" + path.format(t=handed.pk, s=handed.subtasks.get().pk)

    response = getattr(client_for(supervisor), method)(url, data="{not json", content_type="application/json")

    assert assert_error_shape(response, 400)["code"] == "parse_error"
    assert Ticket.objects.get(pk=handed.pk).version == handed.version


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("tickets/", {"channel": "chat", "customer": "abc", "description": "x"}, "customer"),
        ("tickets/", {"channel": "chat", "customer": 10**30, "description": "x"}, "customer"),
        ("tickets/", {"channel": "carrier-pigeon", "order_number": "X", "description": "x"}, "channel"),
        ("tickets/", {"channel": "chat", "order": [1], "description": "x"}, "order"),
        ("tickets/", {"channel": "chat", "order_number": "X", "requested_amount": 10**30, "description": "x"},
         "requested_amount"),
        ("tickets/{t}/transitions/", {"action": 42}, "action"),
        ("tickets/{t}/transitions/", {"action": "start", "version": "abc"}, "version"),
        ("tickets/{t}/transitions/", {"action": "start", "version": 0}, "version"),
        ("tickets/{t}/messages/", {"direction": "outbound", "body": {"a": 1}}, "body"),
        ("tickets/{t}/messages/", {"direction": "sideways", "body": "x"}, "direction"),
        ("tickets/{t}/assign/", {"assignee": "abc"}, "assignee"),
        ("tickets/{t}/assign/", {"assignee": 10**30}, "assignee"),
        ("tickets/{t}/assign/", {"assignee": 1.5}, "assignee"),
        ("tickets/{t}/subtasks/", {"department": "finance", "kind": "reship", "description": "x",
                                   "due_at": "next week"}, "due_at"),
        ("subtasks/{s}/transitions/", {"action": "explode"}, "action"),
    ],
)
def test_wrong_types_and_huge_numbers_are_field_errors(supervisor, handed, path, payload, field):
    url = f"{API}/" + path.format(t=handed.pk, s=handed.subtasks.get().pk)
    tickets_before = Ticket.objects.count()

    response = client_for(supervisor).post(url, payload, format="json")

    assert field in assert_error_shape(response, 400)["errors"]
    assert Ticket.objects.count() == tickets_before
    assert Ticket.objects.get(pk=handed.pk).version == handed.version


def test_a_whole_number_written_with_a_point_is_that_number(supervisor, handed):
    """JSON has one number type (JSON Schema and OpenAPI 3.1 count 7.0 as an integer): 7.0 is 7."""
    agent = handed.assignee
    url = f"{API}/tickets/{handed.pk}/assign/"

    response = client_for(supervisor).post(url, {"assignee": float(agent.pk), "reason": "x"}, format="json")

    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=handed.pk).assignee_id == agent.pk


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("tickets/", {"channel": "chat", "customer": 987654, "description": "x"}, "customer"),
        ("tickets/{t}/assign/", {"assignee": 987654}, "assignee"),
        ("tickets/{t}/subtasks/", {"department": "nowhere", "kind": "reship", "description": "x"}, "department"),
    ],
)
def test_a_reference_to_nothing_is_a_404_naming_the_field(supervisor, handed, path, payload, field):
    url = f"{API}/" + path.format(t=handed.pk)
    tickets_before = Ticket.objects.count()

    response = client_for(supervisor).post(url, payload, format="json")

    assert field in assert_error_shape(response, 404)["errors"]
    assert Ticket.objects.count() == tickets_before
    assert Ticket.objects.get(pk=handed.pk).version == handed.version


@pytest.mark.parametrize(
    "query",
    [{"status": "flying"}, {"assignee": "abc"}, {"assignee": "99999999999999999999999"}, {"cursor": "garbage"},
     {"page_size": "abc"}, {"page_size": "-5"}, {"page_size": "100000000000000000000"}, {"created_after": "soon"}],
)
def test_garbage_query_parameters_never_crash_the_ticket_list(supervisor, handed, query):
    response = client_for(supervisor).get(f"{API}/tickets/", query)

    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert_error_shape(response, response.status_code)


@pytest.mark.parametrize(
    "query",
    [{"mine": "maybe"}, {"overdue": "maybe"}, {"ticket": "abc"}, {"ticket": "99999999999999999999999"},
     {"department": "nowhere"}, {"status": "flying"}],
)
def test_garbage_query_parameters_never_crash_the_subtask_list(supervisor, handed, query):
    response = client_for(supervisor).get(f"{API}/subtasks/", query)

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert_error_shape(response, 400)


def test_a_refused_transition_has_the_uniform_shape(agent, handed):
    response = client_for(agent).post(f"{detail_url(handed)}transitions/", {"action": "resolve"}, format="json")

    body = assert_error_shape(response, 409)
    assert (body["code"], body["status"], body["action"]) == ("transition_refused", Status.WAITING_DEPARTMENT,
                                                              "resolve")
