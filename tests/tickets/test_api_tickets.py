"""The tickets REST API: /api/v1/tickets/ list, intake, detail, transitions, classify; who is refused."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, UserFactory
from tests.tickets.test_workflow import ALLOWED, FORBIDDEN, REASONS, hand_to_warehouse, new_ticket, ticket_in
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Status, Ticket, TicketEvent
from tickets.workflow import TRANSITIONS, Action

LIST_URL = "/api/v1/tickets/"


def detail_url(ticket) -> str:
    return f"{LIST_URL}{ticket.pk}/"


def transitions_url(ticket) -> str:
    return f"{LIST_URL}{ticket.pk}/transitions/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def api(agent) -> APIClient:
    return client_for(agent)


# List --------------------------------------------------------------------------------------------

def ids_of(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_list_filters_by_status_type_priority_and_assignee(agent, senior, api, settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    plain = new_ticket(agent)
    triaged = ticket_in(Status.TRIAGED, agent)
    complaint = new_ticket(agent, type="complaint")  # suggested P2
    exposure = new_ticket(agent, threatens_exposure=True)  # suggested P1
    ticket_take(ticket=exposure, actor=senior)

    assert set(ids_of(api.get(LIST_URL))) == {plain.pk, triaged.pk, complaint.pk, exposure.pk}
    assert ids_of(api.get(LIST_URL, {"status": "triaged"})) == [triaged.pk]
    assert ids_of(api.get(LIST_URL, {"type": "complaint"})) == [complaint.pk]
    assert ids_of(api.get(LIST_URL, {"priority": "P1"})) == [exposure.pk]
    assert ids_of(api.get(LIST_URL, {"assignee": senior.pk})) == [exposure.pk]
    assert ids_of(api.get(LIST_URL, {"status": "new", "priority": "P2"})) == [complaint.pk]


def test_list_refuses_an_unknown_filter_value(api):
    response = api.get(LIST_URL, {"status": "flying"})

    assert response.status_code == 400


def test_list_pages_with_a_cursor_newest_first(agent, api):
    created = [new_ticket(agent).pk for _ in range(5)]

    seen, url, pages = [], LIST_URL + "?page_size=2", 0
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1

    assert pages == 3
    assert seen == list(reversed(created))


def test_list_query_count_does_not_grow_with_the_number_of_tickets(agent, senior, supervisor):
    def queries_for_list() -> tuple[int, int]:
        client = client_for(get_user_model().objects.get(pk=supervisor.pk))  # no cached roles
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST_URL, {"page_size": 50})
        assert response.status_code == 200
        return len(ctx), len(response.json()["results"])

    for _ in range(3):
        new_ticket(agent, order=OrderFactory(customer=CustomerFactory()), customer=None)
    few = queries_for_list()
    for _ in range(17):
        new_ticket(agent, order=OrderFactory(customer=CustomerFactory()), customer=None)
    many = queries_for_list()

    assert (few[1], many[1]) == (3, 20)
    assert many[0] == few[0]


# Intake ------------------------------------------------------------------------------------------

def test_create_by_order_number_fills_in_the_customer(api, agent):
    order = OrderFactory()
    item = OrderItemFactory(order=order)

    response = api.post(
        LIST_URL,
        {"channel": "phone", "order_number": order.external_number, "description": "少发了一件",
         "affected_items": [item.pk], "type": "reship", "category": "wrong_or_missing_item"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["customer"]["id"] == order.customer_id
    assert body["order_number"] == order.external_number
    assert [row["id"] for row in body["affected_items"]] == [item.pk]
    ticket = Ticket.objects.get(pk=body["id"])
    assert (ticket.customer_id, ticket.order_id, ticket.status) == (order.customer_id, order.pk, Status.NEW)
    assert [e["action"] for e in body["timeline"]][0] == "created"


def test_create_with_an_unknown_order_number_says_so_and_creates_nothing(api):
    response = api.post(
        LIST_URL, {"channel": "chat", "order_number": "TB-NO-SUCH", "description": "退货"}, format="json"
    )

    assert response.status_code == 404  # a well-formed reference to an order the desk does not have
    assert "TB-NO-SUCH" in response.json()["errors"]["order_number"][0]
    assert not Ticket.objects.exists()


def test_create_with_items_of_another_order_is_refused(api):
    order, other_item = OrderFactory(), OrderItemFactory()

    response = api.post(
        LIST_URL,
        {"channel": "chat", "order": order.pk, "affected_items": [other_item.pk], "description": "发错货"},
        format="json",
    )

    assert response.status_code == 400
    assert "affected_items" in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_create_without_customer_or_order_asks_for_the_order_number(api):
    response = api.post(LIST_URL, {"channel": "chat", "description": "我要退款"}, format="json")

    assert response.status_code == 400
    assert "order_number" in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_create_for_a_known_customer_without_an_order(api):
    customer = CustomerFactory()

    response = api.post(
        LIST_URL, {"channel": "chat", "customer": customer.pk, "description": "怎么清洗滤网"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["customer"]["id"] == customer.pk


# Detail ------------------------------------------------------------------------------------------

def test_detail_has_timeline_and_available_actions(api, agent):
    ticket = ticket_in(Status.IN_PROGRESS, agent)

    body = api.get(detail_url(ticket)).json()

    assert body["id"] == ticket.pk
    actions = [event["action"] for event in body["timeline"]]
    assert actions[0] == "created"
    assert actions[-2:] == [Action.TRIAGE, Action.START]
    assert body["timeline"][-1]["actor"] == agent.username
    assert body["available_actions"] == [Action.WAIT_CUSTOMER, Action.RESOLVE]


# Transitions -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "source"), ALLOWED)
def test_every_allowed_transition_answers_200_with_the_new_status(api, agent, action, source):
    ticket = ticket_in(source, agent)
    if action == Action.ARCHIVE:
        services.ticket_set_summary(
            ticket=ticket, actor=agent, root_cause="根因：包装不牢；补寄解决", summary="根因：包装不牢；补寄解决",
            what_worked="根因：包装不牢；补寄解决",
        )

    response = api.post(transitions_url(ticket), {"action": action, "reason": REASONS.get(action, "")},
                        format="json")

    assert response.status_code == 200, response.json()
    target = TRANSITIONS[action].target
    assert response.json()["status"] == target
    assert Ticket.objects.get(pk=ticket.pk).status == target
    # The transition is the last status event on the timeline (SLA clock events may follow it).
    status_events = [e for e in response.json()["timeline"] if e["to_status"]]
    assert status_events[-1]["action"] == action


@pytest.mark.parametrize(("action", "status"), FORBIDDEN)
def test_forbidden_transition_answers_409_and_changes_nothing(api, agent, action, status):
    ticket = ticket_in(status, agent)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()

    response = api.post(transitions_url(ticket), {"action": action, "reason": "试试"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert (body["status"], body["action"]) == (status, action)
    assert body["reason"] and body["detail"]
    assert Ticket.objects.get(pk=ticket.pk).status == status
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_guard_refusal_answers_409_with_the_reason(api, agent):
    ticket = ticket_in(Status.RESOLVED, agent)

    response = api.post(transitions_url(ticket), {"action": Action.REOPEN}, format="json")

    assert response.status_code == 409
    assert "reason" in response.json()["reason"]
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED


@pytest.mark.parametrize("action", ["fly", Action.WAIT_DEPARTMENT, Action.DEPARTMENT_DONE])
def test_unknown_or_automatic_action_is_a_field_error(api, agent, action):
    ticket = ticket_in(Status.IN_PROGRESS, agent)

    response = api.post(transitions_url(ticket), {"action": action}, format="json")

    assert response.status_code == 400
    assert "action" in response.json()["errors"]
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS


def test_classify_sets_the_classification_and_resuggests_priority(api, agent):
    ticket = new_ticket(agent, type="", category="")

    response = api.post(
        f"{detail_url(ticket)}classify/",
        {"type": "complaint", "category": "service_attitude", "tags": ["态度差"], "reason": "客户投诉客服"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["type"], body["category"], body["priority"], body["tags"]) == (
        "complaint", "service_attitude", "P2", ["态度差"]
    )
    assert body["available_actions"] == [Action.TRIAGE]
    # A P2 complaint leaves the catch-all SLA policy for a tighter one: the clocks are recomputed right after.
    assert [e["action"] for e in body["timeline"]][-2:] == ["classified", "sla_recomputed"]
    old_policy, new_policy = body["timeline"][-1]["changes"]["sla_policy"]
    assert old_policy == "默认 Default (48h reply)" and new_policy != old_policy


def test_classify_refuses_an_unknown_type(api, agent):
    ticket = new_ticket(agent)

    response = api.post(f"{detail_url(ticket)}classify/", {"type": "gossip"}, format="json")

    assert response.status_code == 400
    assert "type" in response.json()["errors"]
    assert Ticket.objects.get(pk=ticket.pk).type == "return_refund"


def test_classify_of_an_archived_ticket_answers_409(api, agent):
    ticket = ticket_in(Status.ARCHIVED, agent)

    response = api.post(f"{detail_url(ticket)}classify/", {"type": "complaint"}, format="json")

    assert response.status_code == 409
    assert Ticket.objects.get(pk=ticket.pk).type == "return_refund"


# Who is refused ----------------------------------------------------------------------------------

def test_anonymous_is_refused_everywhere(agent):
    ticket = new_ticket(agent)
    client = APIClient()

    for response in (
        client.get(LIST_URL),
        client.get(detail_url(ticket)),
        client.post(LIST_URL, {"channel": "chat", "customer": ticket.customer_id, "description": "x"}),
        client.post(transitions_url(ticket), {"action": Action.TRIAGE}),
    ):
        assert response.status_code in (401, 403)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW
    assert Ticket.objects.count() == 1


def test_user_without_a_desk_role_sees_nothing(agent):
    ticket = new_ticket(agent)
    client = client_for(UserFactory(username="plain1"))

    assert client.get(LIST_URL).json()["results"] == []
    assert client.get(detail_url(ticket)).status_code == 404
    assert client.post(transitions_url(ticket), {"action": Action.TRIAGE}, format="json").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_another_agent_cannot_move_someone_elses_ticket(agent):
    ticket = new_ticket(agent)
    assert ticket.assignee == agent
    other = client_for(UserFactory(username="agent2", role="agent"))

    assert other.get(detail_url(ticket)).status_code == 200
    assert other.post(transitions_url(ticket), {"action": Action.TRIAGE}, format="json").status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_department_staff_see_only_their_tickets_and_cannot_move_them(agent, warehouse_staff):
    handed = ticket_in(Status.IN_PROGRESS, agent)
    hand_to_warehouse(handed, agent)
    not_handed = new_ticket(agent)
    client = client_for(warehouse_staff)

    assert ids_of(client.get(LIST_URL)) == [handed.pk]
    assert client.get(detail_url(not_handed)).status_code == 404
    response = client.post(transitions_url(handed), {"action": Action.RESOLVE}, format="json")
    assert response.status_code == 403
    assert Ticket.objects.get(pk=handed.pk).status == Status.WAITING_DEPARTMENT


# Token auth --------------------------------------------------------------------------------------

def test_token_authentication_works(agent):
    ticket = new_ticket(agent)
    token = Token.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert ids_of(response) == [ticket.pk]


def test_a_wrong_token_is_refused(agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get(LIST_URL).status_code in (401, 403)


def test_drf_create_token_command_gives_a_working_token(agent):
    out = StringIO()

    call_command("drf_create_token", "agent1", stdout=out)

    token = Token.objects.get(user=agent)
    assert token.key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(LIST_URL).status_code == 200
