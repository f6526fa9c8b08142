"""Property-based API run: schemathesis generates requests for every operation of /api/schema/.

The WSGI application is called in-process (no server). Each operation is one pytest item; for
it the database is seeded with a ticket waiting on the warehouse (with its subtask, customer,
order and a notification per user), and most generated `{id}`s are pointed at those rows so the
calls reach real objects instead of answering 404 every time. Positive and negative (invalid)
inputs are generated. Checks: no 5xx, documented content types, and documented responses that
match their schema.

/api/v1/intake/ is left out of the token-authenticated run: it ignores tokens and answers 403 to
anything not HMAC-signed with a source's secret, so generated cases would never get past the
signature. test_intake_signed_by_the_source below signs each generated body itself.
"""

import json
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from werkzeug.test import Client as WerkzeugClient

from aftersales.wsgi import application
from tests.factories import CustomerFactory, OrderFactory, make_user
from tests.tickets.test_workflow import hand_to_warehouse, move, new_ticket
from tickets.intake import sign
from tickets.models import IntakeSource, Notification

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
INTAKE_PATH = "/api/v1/intake/"
ROLES = ["supervisor", "department_staff"]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
authenticated = schema.exclude(path=INTAKE_PATH)
intake = schema.include(path=INTAKE_PATH)

HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
CASES: Counter = Counter()  # (role, operation) -> cases run
STATUSES: Counter = Counter()  # status code -> responses


@pytest.fixture(scope="module")
def report_numbers(request):
    """Print the totals once the module is done (operations, cases, answers by status)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture and CASES:
        operations = len({operation for _role, operation in CASES})
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nschemathesis: {operations} operations, {len(CASES)} (role, operation) runs, "
                f"{sum(CASES.values())} cases; responses by status: "
                + ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
            )


@pytest.fixture
def desk(settings, report_numbers):
    """A ticket waiting on the warehouse, the people around it and a notification for each."""
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    agent = make_user("agent", username="st-agent")
    supervisor = make_user("supervisor", username="st-super")
    warehouse = make_user("department_staff", username="st-wh", department="warehouse")
    customer = CustomerFactory()
    ticket = move(new_ticket(agent, customer=customer, order=OrderFactory(customer=customer)), agent, "triage", "start")
    subtask = hand_to_warehouse(ticket, agent)
    notifications = {
        user.username: Notification.objects.create(
            recipient=user, kind=Notification.Kind.SUBTASK_DUE_SOON, ticket=ticket, subtask=subtask,
            dedupe_key=f"seed:{user.pk}",
        )
        for user in (supervisor, warehouse)
    }
    return {
        "users": {"supervisor": supervisor, "department_staff": warehouse},
        "ids": {
            "tickets": ticket.pk,
            "subtasks": subtask.pk,
            "customers": ticket.customer_id,
            "orders": ticket.order_id,
            "notifications": notifications,
        },
    }


def point_at_seeded_rows(case, desk, role: str) -> None:
    """Three ids in four go to a seeded row of the operation's resource; the rest stay random."""
    raw = case.path_parameters.get("id")
    if not isinstance(raw, int) or raw % 4 == 0:
        return
    resource = case.operation.path.split("/")[3]
    seeded = desk["ids"].get(resource)
    if isinstance(seeded, dict):
        seeded = seeded[desk["users"][role].username].pk
    if seeded is not None:
        case.path_parameters["id"] = seeded


def run(case, desk, role: str) -> None:
    point_at_seeded_rows(case, desk, role)
    token, _ = Token.objects.get_or_create(user=desk["users"][role])
    headers = {"Authorization": f"Token {token.key}"}
    response = case.call(headers=headers)
    CASES[(role, case.operation.label)] += 1
    STATUSES[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


@authenticated.parametrize()
@pytest.mark.parametrize("role", ROLES)
@HYPOTHESIS
def test_api(case, desk, role):
    run(case, desk, role)


@intake.parametrize()
@HYPOTHESIS
def test_intake_signed_by_the_source(case, report_numbers):
    """The generated body, signed as the source would sign it: no 5xx, documented answers only."""
    source, _ = IntakeSource.objects.get_or_create(name="st-taobao", defaults={"platform": "taobao", "secret": "s3"})
    body = b"" if isinstance(case.body, NotSet) else json.dumps(case.body, default=str).encode()
    timestamp = str(int(time.time()))
    response = WerkzeugClient(application).post(
        INTAKE_PATH, data=body, content_type="application/json",
        headers={"X-Intake-Source": source.name, "X-Intake-Timestamp": timestamp,
                 "X-Intake-Signature": sign(secret=source.secret, timestamp=timestamp, body=body)},
    )
    CASES[("intake source", case.operation.label)] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code != 403, response.get_data(as_text=True)
    case.validate_response(response, checks=CHECKS)
