"""Who may do what through the REST API: one role x action table (tickets/policies.py).

Given two tickets, each waiting for the customer with one open department subtask:
- ticket T ("the ticket") has a warehouse subtask; its customer has a phone and an address;
- ticket U has a finance subtask and another customer.
Both are unassigned, except for the rows "agent_own" (both assigned to the acting agent) and
"agent_other" (both assigned to another agent). Warehouse staff see T (not U), finance staff
see U (not T). Every refusal must leave both tickets and their subtasks exactly as they were.
"""

import pytest
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, UserFactory, make_user
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import Department, Status, Subtask, Ticket, TicketEvent
from tickets.subtasks import subtask_create
from tickets.workflow import ticket_transition

PHONE = "13812345678"
ADDRESS = "浙江省杭州市西湖区文三路100号"

# Outcomes that are not a plain status code.
IN, OUT = "listed", "not listed"  # GET /tickets/: 200, and T is / is not on the page
CLEAR, MASK = "pii clear", "pii masked"  # GET /customers/{T's customer}/: 200, phone/address shown / masked
ANON = "401|403"  # DRF answers 403 to anonymous session clients, 401 to token clients

ROLES = ("agent", "agent_own", "agent_other", "senior", "supervisor", "warehouse", "finance", "admin", "plain", "anon")

# Rows are actions on ticket T (warehouse subtask) and ticket U (finance subtask); columns are ROLES.
# fmt: off
MATRIX = {
    #                      agent  own    other  senior super  wareh  financ admin  plain  anon
    "view":               (200,   200,   200,   200,   200,   200,   404,   200,   404,   ANON),  # GET T
    "list":               (IN,    IN,    IN,    IN,    IN,    IN,    OUT,   IN,    OUT,   ANON),  # GET /tickets/
    "classify":           (200,   200,   403,   200,   200,   403,   404,   403,   404,   ANON),
    "transition":         (200,   200,   403,   200,   200,   403,   404,   403,   404,   ANON),  # resume
    "assign":             (403,   403,   403,   403,   200,   403,   404,   403,   404,   ANON),  # to senior
    "take":               (200,   409,   409,   200,   200,   403,   404,   403,   404,   ANON),
    "create_subtask":     (201,   201,   403,   201,   201,   403,   404,   403,   404,   ANON),  # warehouse
    "warehouse_start":    (403,   403,   403,   403,   200,   200,   404,   403,   404,   ANON),
    "warehouse_complete": (403,   403,   403,   403,   200,   200,   404,   403,   404,   ANON),
    "warehouse_reject":   (403,   403,   403,   403,   200,   200,   404,   403,   404,   ANON),
    "warehouse_cancel":   (200,   200,   403,   200,   200,   403,   404,   403,   404,   ANON),
    "finance_start":      (403,   403,   403,   403,   200,   404,   200,   403,   404,   ANON),  # on U
    "finance_complete":   (403,   403,   403,   403,   200,   404,   200,   403,   404,   ANON),  # on U
    "customer_pii":       (CLEAR, CLEAR, CLEAR, CLEAR, CLEAR, MASK,  404,   CLEAR, 404,   ANON),  # T's customer
}
# fmt: on
assert all(len(row) == len(ROLES) for row in MATRIX.values())

CASES = [
    pytest.param(role, action, expected, id=f"{role}-{action}")
    for action, row in MATRIX.items()
    for role, expected in zip(ROLES, row, strict=True)
]


def _ticket_waiting_for_customer(actor, *, customer, department_code: str, assignee) -> tuple[Ticket, Subtask]:
    ticket = services.ticket_create(
        actor=actor,
        channel="chat",
        description="收到的电饭煲不加热",
        customer=customer,
        type="return_refund",
        category="product_quality",
    )
    for action in ("triage", "start", "wait_customer"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=actor)
    # Handed over while waiting for the customer: the ticket stays waiting_customer, so
    # "resume" is a transition an allowed role can really make (it lands in waiting_department).
    subtask = subtask_create(
        ticket=ticket,
        actor=actor,
        department=Department.objects.get(code=department_code),
        kind=Subtask.Kind.INSPECT_RETURN,
        description="检查退回的电饭煲",
    )
    if assignee is not None:
        ticket_take(ticket=ticket, actor=assignee)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    return ticket, subtask


@pytest.fixture
def desk(settings, agent, senior, supervisor, warehouse_staff, finance_staff, admin_user):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    other_agent = make_user("agent", username="agent2", department=None)
    return {
        "users": {
            "agent": agent,
            "agent_own": agent,
            "agent_other": agent,
            "senior": senior,
            "supervisor": supervisor,
            "warehouse": warehouse_staff,
            "finance": finance_staff,
            "admin": admin_user,
            "plain": UserFactory(username="plain1"),
            "anon": None,
        },
        "assignee_for": {"agent_own": agent, "agent_other": other_agent},
        "senior": senior,
        "supervisor": supervisor,
    }


def _build(desk, role):
    assignee = desk["assignee_for"].get(role)
    supervisor = desk["supervisor"]
    ticket, warehouse_subtask = _ticket_waiting_for_customer(
        supervisor,
        customer=CustomerFactory(phone=PHONE, address=ADDRESS),
        department_code="warehouse",
        assignee=assignee,
    )
    other, finance_subtask = _ticket_waiting_for_customer(
        supervisor, customer=CustomerFactory(), department_code="finance", assignee=assignee
    )
    return ticket, other, warehouse_subtask, finance_subtask


def _request(client, action, *, ticket, warehouse_subtask, finance_subtask, senior):
    tickets = "/api/v1/tickets/"
    detail = f"{tickets}{ticket.pk}/"

    def subtask_move(subtask, move):
        return client.post(
            f"/api/v1/subtasks/{subtask.pk}/transitions/", {"action": move, "result": "已检查"}, format="json"
        )

    requests = {
        "view": lambda: client.get(detail),
        "list": lambda: client.get(tickets),
        "classify": lambda: client.post(f"{detail}classify/", {"symptom": "通电无反应"}, format="json"),
        "transition": lambda: client.post(f"{detail}transitions/", {"action": "resume"}, format="json"),
        "assign": lambda: client.post(
            f"{detail}assign/", {"assignee": senior.pk, "reason": "高风险转资深"}, format="json"
        ),
        "take": lambda: client.post(f"{detail}take/"),
        "create_subtask": lambda: client.post(
            f"{detail}subtasks/",
            {"department": "warehouse", "kind": "inspect_return", "description": "再次检查"},
            format="json",
        ),
        "warehouse_start": lambda: subtask_move(warehouse_subtask, "start"),
        "warehouse_complete": lambda: subtask_move(warehouse_subtask, "complete"),
        "warehouse_reject": lambda: subtask_move(warehouse_subtask, "reject"),
        "warehouse_cancel": lambda: subtask_move(warehouse_subtask, "cancel"),
        "finance_start": lambda: subtask_move(finance_subtask, "start"),
        "finance_complete": lambda: subtask_move(finance_subtask, "complete"),
        "customer_pii": lambda: client.get(f"/api/v1/customers/{ticket.customer_id}/"),
    }
    return requests[action]()


def _snapshot(*tickets):
    return {
        "tickets": list(
            Ticket.objects.filter(pk__in=[t.pk for t in tickets])
            .order_by("pk")
            .values_list("pk", "status", "assignee_id", "symptom", "updated_at")
        ),
        "events": TicketEvent.objects.filter(ticket__in=tickets).count(),
        "subtasks": list(
            Subtask.objects.filter(ticket__in=tickets)
            .order_by("pk")
            .values_list("pk", "status", "assignee_id", "result", "finished_at")
        ),
    }


def _listed_ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(("role", "action", "expected"), CASES)
def test_role_may_or_may_not(desk, role, action, expected):
    # Given
    ticket, other, warehouse_subtask, finance_subtask = _build(desk, role)
    client = APIClient()
    user = desk["users"][role]
    if user is not None:
        client.force_authenticate(user)
    before = _snapshot(ticket, other)

    # When
    response = _request(
        client,
        action,
        ticket=ticket,
        warehouse_subtask=warehouse_subtask,
        finance_subtask=finance_subtask,
        senior=desk["senior"],
    )

    # Then
    if expected == ANON:
        assert response.status_code in (401, 403), response.content
    elif expected in (IN, OUT):
        assert response.status_code == 200, response.content
        assert (ticket.pk in _listed_ids(response)) is (expected == IN)
    elif expected in (CLEAR, MASK):
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["pii_masked"] is (expected == MASK)
        if expected == MASK:
            assert body["phone"] == "138****5678"
            assert body["address"].endswith("****") and "文三路" not in body["address"]
        else:
            assert (body["phone"], body["address"]) == (PHONE, ADDRESS)
    else:
        assert response.status_code == expected, response.content

    reads = ("view", "list", "customer_pii")
    refused = expected in (ANON, 401, 403, 404, 409)
    if refused or action in reads:
        assert _snapshot(ticket, other) == before
    else:
        assert TicketEvent.objects.filter(ticket__in=(ticket, other)).count() > before["events"]


def test_matrix_covers_every_role_and_action():
    assert len(CASES) == len(MATRIX) * len(ROLES) == 14 * 10


# High-risk tickets are taken only by senior agents (DESIGN: risk=high is routed to them).


@pytest.mark.parametrize(("role", "expected"), [("agent", 409), ("senior", 200)])
def test_only_a_senior_takes_a_high_risk_ticket(settings, agent, senior, supervisor, role, expected):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    ticket = services.ticket_create(
        actor=supervisor, channel="chat", description="再不处理就曝光到微博", customer=CustomerFactory(),
        threatens_exposure=True,
    )
    assert ticket.risk_level == "high"
    user = {"agent": agent, "senior": senior}[role]
    client = APIClient()
    client.force_authenticate(user)
    before = _snapshot(ticket)

    response = client.post(f"/api/v1/tickets/{ticket.pk}/take/")

    assert response.status_code == expected, response.content
    ticket.refresh_from_db()
    if expected == 409:
        assert response.json()["code"] == "transition_refused"
        assert _snapshot(ticket) == before and ticket.assignee_id is None
    else:
        assert ticket.assignee_id == user.pk


def test_plain_user_lists_nothing(desk):
    _build(desk, "plain")
    client = APIClient()
    client.force_authenticate(desk["users"]["plain"])

    for url in ("/api/v1/tickets/", "/api/v1/subtasks/", "/api/v1/customers/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["results"] == [], url


def test_department_staff_lists_only_their_departments_tickets_and_subtasks(desk):
    ticket, other, warehouse_subtask, finance_subtask = _build(desk, "warehouse")
    client = APIClient()
    client.force_authenticate(desk["users"]["warehouse"])

    assert _listed_ids(client.get("/api/v1/tickets/")) == {ticket.pk}
    assert _listed_ids(client.get("/api/v1/subtasks/")) == {warehouse_subtask.pk}
    assert _listed_ids(client.get("/api/v1/customers/")) == {ticket.customer_id}
