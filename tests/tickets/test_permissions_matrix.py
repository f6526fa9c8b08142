"""Who may do what: role x action tables (tickets/policies.py), through the REST API and the pages.

MATRIX: actions on tickets and subtasks through the API. DESK_MATRIX (below): creating tickets, incidents,
approvals, price-difference batches and exports, through the API and the pages. Every route of the site
and who reaches it is tests/test_route_access.py.

Given two tickets, each waiting for the customer with one open department subtask:
- ticket T ("the ticket") has a warehouse subtask; its customer has a phone and an address;
- ticket U has a finance subtask and another customer.
Both are unassigned, except for the rows "agent_own" (both assigned to the acting agent) and
"agent_other" (both assigned to another agent). Warehouse staff see T (not U), finance staff
see U (not T). Every refusal must leave both tickets and their subtasks exactly as they were.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from orders.models import Refund
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, UserFactory, make_user
from tickets import services
from tickets.assignment import ticket_take
from tickets.models import ApprovalRequest, Department, Incident, Status, Subtask, Ticket, TicketEvent
from tickets.playbook import services as playbook
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch
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


# The desk's other doors: creating tickets, incidents, approvals, price-difference batches, exports ------------
#
# Each action is done with a valid request (unlike tests/test_route_access.py, which calls every route with an
# empty body), so the roles that may act really do: a ticket is created, an incident confirmed, an approval
# or a batch decided, a file downloaded. Every refusal leaves every table below as it was: the refused
# ticket creation wrote no ticket and no customer (it used to write the ticket, then answer 404).
#
# Given a ticket of the agent's with a ¥280 refund agreed above the agent's ¥200 limit (an approval the agent
# asked for, pending), a suggested incident, and a price-difference batch uploaded by another supervisor that
# waits for a second person's approval.

DESK_ROLES = ("agent", "senior", "supervisor", "warehouse", "finance", "admin", "plain", "anon")
LOGIN = "login"  # a browser page: 302 to the login page

# fmt: off
DESK_MATRIX = {
    #                      agent  senior super  wareh  financ admin  plain  anon
    "create_api":         (201,   201,   201,   403,   403,   403,   403,   ANON),   # POST /api/v1/tickets/
    "create_page":        (302,   302,   302,   403,   403,   403,   403,   LOGIN),  # POST /tickets/new/
    "incident_list_api":  (403,   403,   200,   403,   403,   403,   403,   ANON),
    "incident_list_page": (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "incident_act_api":   (403,   403,   200,   403,   403,   403,   403,   ANON),   # confirm
    "incident_act_page":  (403,   403,   302,   403,   403,   403,   403,   LOGIN),  # confirm
    "approval_list_api":  (IN,    OUT,   IN,    OUT,   OUT,   OUT,   OUT,   ANON),   # the agent asked
    "approval_list_page": (403,   403,   200,   403,   403,   403,   403,   LOGIN),
    "approval_decide_api":  (403, 403,   200,   403,   403,   403,   403,   ANON),   # never the one who asked
    "approval_decide_page": (403, 403,   302,   403,   403,   403,   403,   LOGIN),
    "pricediff_list":     (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "pricediff_upload":   (403,   403,   302,   403,   403,   403,   403,   LOGIN),
    "pricediff_detail":   (403,   403,   200,   403,   200,   403,   403,   LOGIN),
    "pricediff_report":   (403,   403,   200,   403,   200,   403,   403,   LOGIN),  # report.csv
    "pricediff_decide":   (403,   403,   302,   403,   302,   403,   403,   LOGIN),  # approve
    "report_csv":         (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    "report_xlsx":        (403,   403,   200,   403,   403,   200,   403,   LOGIN),
    "reports_xlsx":       (403,   403,   200,   403,   403,   200,   403,   LOGIN),  # every report, one workbook
}
# fmt: on
assert all(len(row) == len(DESK_ROLES) for row in DESK_MATRIX.values())

DESK_CASES = [
    pytest.param(role, action, expected, id=f"{role}-{action}")
    for action, row in DESK_MATRIX.items()
    for role, expected in zip(DESK_ROLES, row, strict=True)
]
DESK_READS = {"incident_list_api", "incident_list_page", "approval_list_api", "approval_list_page", "pricediff_list",
              "pricediff_detail", "pricediff_report", "report_csv", "report_xlsx", "reports_xlsx"}


def _drop_csv(number: str, sku: str) -> bytes:
    return f"订单号,商品编码,新价格,原因\n{number},{sku},90,降价\n".encode("utf-8-sig")


def _bought(number: str, sku: str) -> None:
    order = OrderFactory(external_number=number, customer=CustomerFactory(),
                         placed_at=timezone.now() - timedelta(days=3))
    OrderItemFactory(order=order, product=ProductFactory(sku=sku), unit_price=Decimal("100.00"),
                     paid_amount=Decimal("100.00"))


@pytest.fixture
def desk_world(settings, agent, senior, supervisor, warehouse_staff, finance_staff, admin_user):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    settings.PRICEDIFF_APPROVAL_TOTAL = "5"  # every batch waits for a second person
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("300.00"))
    item = OrderItemFactory(order=order, unit_price=Decimal("300.00"), paid_amount=Decimal("300.00"))
    ticket = services.ticket_create(
        actor=agent, channel="chat", description="少发了配件", order=order, affected_items=[item],
        type="refund_only", category="wrong_or_missing_item",
    )
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    solution = playbook.solution_propose(ticket=ticket, actor=agent, kind="refund_only", amount=Decimal("280"),
                                         return_required=False)
    playbook.solution_confirm(solution=solution, actor=agent, channel="chat", text="同意退款280元")
    now = timezone.now()
    incident = Incident.objects.create(
        title="拉链批次问题", cause=Incident.Cause.PRODUCT_DEFECT, product=item.product, category="product_quality",
        window_start=now - timedelta(days=1), window_end=now,
    )
    uploader = make_user("supervisor", username="super2", department=None)
    _bought("TB-PD-1", "SKU-PD-1")
    batch, _created = pricediff.pricediff_preview(actor=uploader, file_name="drop.csv",
                                                  content=_drop_csv("TB-PD-1", "SKU-PD-1"))
    batch = pricediff.pricediff_execute(batch=batch, actor=uploader)
    assert batch.status == PriceDiffBatch.Status.AWAITING_APPROVAL
    _bought("TB-PD-2", "SKU-PD-2")  # the file the upload row sends
    return {
        "users": {"agent": agent, "senior": senior, "supervisor": supervisor, "warehouse": warehouse_staff,
                  "finance": finance_staff, "admin": admin_user, "plain": UserFactory(username="plain2"),
                  "anon": None},
        "ticket": ticket, "customer": ticket.customer, "order": order, "item": item, "incident": incident,
        "approval": ApprovalRequest.objects.get(ticket=ticket), "batch": batch,
    }


def _desk_request(client, action, world):
    incident, approval, batch = world["incident"], world["approval"], world["batch"]
    period = {"from": (timezone.localdate() - timedelta(days=7)).isoformat(), "to": timezone.localdate().isoformat()}
    confirm = {"action": "confirm", "agreed_reply": "{customer_name}您好，该批次拉链有问题，我们为您免费换新。",
               "plan": "换新"}
    requests = {
        "create_api": lambda: client.post(
            "/api/v1/tickets/", {"channel": "chat", "description": "空调不制冷", "customer": world["customer"].pk},
            format="json",
        ),
        "create_page": lambda: client.post("/tickets/new/", {
            "order_number": world["order"].external_number, "affected_items": [world["item"].pk],
            "channel": "phone", "description": "空调不制冷",
        }),
        "incident_list_api": lambda: client.get("/api/v1/incidents/"),
        "incident_list_page": lambda: client.get("/incidents/"),
        "incident_act_api": lambda: client.post(f"/api/v1/incidents/{incident.pk}/act/", confirm, format="json"),
        "incident_act_page": lambda: client.post(f"/incidents/{incident.pk}/act/", confirm),
        "approval_list_api": lambda: client.get("/api/v1/approvals/"),
        "approval_list_page": lambda: client.get("/approvals/"),
        "approval_decide_api": lambda: client.post(
            f"/api/v1/approvals/{approval.pk}/decide/", {"approve": True, "reason": "核实无误"}, format="json"
        ),
        "approval_decide_page": lambda: client.post(
            f"/approvals/{approval.pk}/decide/", {"decision": "approve", "reason": "核实无误"}
        ),
        "pricediff_list": lambda: client.get("/price-differences/"),
        "pricediff_upload": lambda: client.post("/price-differences/upload/", {
            "file": SimpleUploadedFile("drop2.csv", _drop_csv("TB-PD-2", "SKU-PD-2"), content_type="text/csv"),
        }),
        "pricediff_detail": lambda: client.get(f"/price-differences/{batch.pk}/"),
        "pricediff_report": lambda: client.get(f"/price-differences/{batch.pk}/report.csv"),
        "pricediff_decide": lambda: client.post(f"/price-differences/{batch.pk}/decide/", {"decision": "approve"}),
        "report_csv": lambda: client.get("/reports/volume.csv", period),
        "report_xlsx": lambda: client.get("/reports/volume.xlsx", period),
        "reports_xlsx": lambda: client.get("/reports/all.xlsx", period),
    }
    return requests[action]()


def _desk_snapshot():
    return {
        "tickets": Ticket.objects.count(),
        "customers": Customer.objects.count(),
        "events": TicketEvent.objects.count(),
        "incidents": list(Incident.objects.order_by("pk").values_list("pk", "status", "agreed_reply")),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "decided_by_id")),
        "batches": list(PriceDiffBatch.objects.order_by("pk").values_list("pk", "status", "decided_by_id")),
        "refunds": Refund.objects.count(),
    }


# What an allowed write leaves behind (reads change nothing).
DESK_EFFECTS = {
    "create_api": lambda before, after: after["tickets"] == before["tickets"] + 1,
    "create_page": lambda before, after: after["tickets"] == before["tickets"] + 1,
    "incident_act_api": lambda before, after: after["incidents"][0][1] == Incident.Status.CONFIRMED,
    "incident_act_page": lambda before, after: after["incidents"][0][1] == Incident.Status.CONFIRMED,
    "approval_decide_api": lambda before, after: after["approvals"][0][1] == ApprovalRequest.Status.APPROVED,
    "approval_decide_page": lambda before, after: after["approvals"][0][1] == ApprovalRequest.Status.APPROVED,
    "pricediff_upload": lambda before, after: len(after["batches"]) == len(before["batches"]) + 1,
    "pricediff_decide": lambda before, after: after["batches"][0][2] is not None,
}


@pytest.mark.parametrize(("role", "action", "expected"), DESK_CASES)
def test_desk_role_may_or_may_not(desk_world, role, action, expected):
    # Given
    client = APIClient()
    user = desk_world["users"][role]
    if user is not None:
        client.force_login(user)  # the session serves both the pages and the API
    before = _desk_snapshot()

    # When
    response = _desk_request(client, action, desk_world)

    # Then
    after = _desk_snapshot()
    if expected == ANON:
        assert response.status_code in (401, 403), response.content
    elif expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    elif expected in (IN, OUT):
        assert response.status_code == 200, response.content
        assert (desk_world["approval"].pk in _listed_ids(response)) is (expected == IN)
    else:
        assert response.status_code == expected, response.content[:500]
        if expected == 302:
            assert not response["Location"].startswith("/accounts/login/")
    if expected in (ANON, LOGIN, 403, 404) or action in DESK_READS:
        assert after == before
    else:
        assert DESK_EFFECTS[action](before, after), (before, after)


def test_desk_matrix_covers_every_role_and_action():
    assert len(DESK_CASES) == len(DESK_MATRIX) * len(DESK_ROLES) == 18 * 8
    assert set(DESK_EFFECTS) | DESK_READS == set(DESK_MATRIX)
