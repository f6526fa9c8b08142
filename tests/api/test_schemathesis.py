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
import os
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import schemathesis
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.core import NotSet
from werkzeug.test import Client as WerkzeugClient

from aftersales.wsgi import application
from customers.models import Platform
from tests.factories import CustomerFactory, OrderFactory, make_user
from tests.tickets.test_workflow import hand_to_warehouse, move, new_ticket
from tickets.api.intake import DEADLINE_EARLIEST, DEADLINE_HORIZON
from tickets.intake import PLATFORM_TYPES, sign
from tickets.models import IntakeEvent, IntakeSource, Notification, TicketType
from tickets.reports.periods import EARLIEST, LATEST, Period

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MAX_EXAMPLES = int(os.environ.get("ST_EXAMPLES", 20))
load_all_checks()
CHECKS = REGISTERED_CHECKS.get_all()  # every check schemathesis has
INTAKE_PATH = "/api/v1/intake/"
ROLES = ["supervisor", "agent", "department_staff"]



@schemathesis.serializer("message/rfc822")
def raw_mail(context, value) -> dict:
    """/api/v1/inbound-mail/ takes the raw mail (it answers 403 unsigned: the run checks the refusals)."""
    return {"data": value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")}


schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
RECEIPT_PATH = "/api/v1/intake/{receipt}/"
authenticated = schema.exclude(path=INTAKE_PATH).exclude(path=RECEIPT_PATH)
intake = schema.include(path=INTAKE_PATH)
receipts = schema.include(path=RECEIPT_PATH)

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
                f"{sum(CASES.values())} cases ("
                + ", ".join(f"{role}: {n}" for role, n in sorted(_by_role(CASES).items()))
                + "); responses by status: "
                + ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
            )


def _by_role(cases: Counter) -> Counter:
    totals = Counter()
    for (role, _operation), n in cases.items():
        totals[role] += n
    return totals


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
            recipient=user,
            kind=Notification.Kind.SUBTASK_DUE_SOON,
            ticket=ticket,
            subtask=subtask,
            dedupe_key=f"seed:{user.pk}",
        )
        for user in (supervisor, agent, warehouse)
    }
    return {
        "users": {"supervisor": supervisor, "agent": agent, "department_staff": warehouse},
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


def keep_report_period_within_the_rule(case) -> None:
    """A report's period is two dates with a rule between them (`to` not before `from`, at most a year,
    within the years the desk keeps) that OpenAPI cannot state. A schema-valid pair the rule refuses
    becomes `from` and the 30 days after it, so the case still tests an accepted request. Invalid dates
    are sent as generated."""
    query = case.query if isinstance(case.query, dict) else {}
    if not case.operation.path.startswith("/api/v1/reports/"):
        return
    try:
        start, end = (date.fromisoformat(query[key]) if query.get(key) else None for key in ("from", "to"))
        Period.from_dates(start, end)
    except (TypeError, ValueError):
        return  # not dates: the API must refuse them, and does
    except ValidationError:
        start = min(max(start or Period.last_days().start, EARLIEST), LATEST - timedelta(days=29))
        case.query = {**query, "from": start.isoformat(), "to": (start + timedelta(days=29)).isoformat()}


def run(case, desk, role: str) -> None:
    point_at_seeded_rows(case, desk, role)
    keep_report_period_within_the_rule(case)
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


def keep_event_within_its_source(case) -> IntakeSource:
    """The source that sends the event's platform (a source sends only its own platform's events), and a
    platform code of another platform replaced by one of ours: rules between the body and the source, and
    between two fields, that OpenAPI cannot state. Bodies that are not objects are sent as generated."""
    body = case.body if isinstance(case.body, dict) else {}
    platform = body.get("platform") if body.get("platform") in Platform.values else "taobao"
    source, _ = IntakeSource.objects.get_or_create(
        name=f"st-{platform}", defaults={"platform": platform, "secret": "s3"}
    )
    if body.get("kind") == "message" and not body.get("aftersale_id") and not body.get("order_id"):
        case.body = body = {**body, "aftersale_id": "TB-RF-1"}  # one of the two names the case
    kind = body.get("type")
    if isinstance(kind, str) and kind not in TicketType.values and kind not in PLATFORM_TYPES.get(platform, {}):
        case.body = body = {**body, "type": TicketType.RETURN_REFUND}
    try:  # a deadline is from 2000 to a year from now: a date range OpenAPI 3.0 cannot state
        deadline = datetime.fromisoformat(body["deadline_at"])
        deadline = deadline if deadline.tzinfo else timezone.make_aware(deadline)
        if not DEADLINE_EARLIEST <= deadline <= timezone.now() + DEADLINE_HORIZON:
            case.body = {**body, "deadline_at": (timezone.now() + timedelta(days=3)).isoformat()}
    except (KeyError, TypeError, ValueError):
        pass  # none, or not a date-time: sent as generated
    return source


@intake.parametrize()
@HYPOTHESIS
def test_intake_signed_by_the_source(case, report_numbers):
    """The generated body, signed as the source would sign it: no 5xx, documented answers only."""
    source = keep_event_within_its_source(case)
    body = b"" if isinstance(case.body, NotSet) else json.dumps(case.body, default=str).encode()
    timestamp = str(int(time.time()))
    signed = {
        "X-Intake-Source": source.name,
        "X-Intake-Timestamp": timestamp,
        "X-Intake-Signature": sign(secret=source.secret, timestamp=timestamp, body=body),
    }
    # The headers the case has, with the source's true values; one the case leaves out stays out.
    given = {name.lower() for name in case.headers or {}}
    response = WerkzeugClient(application).open(
        INTAKE_PATH,
        method=case.method,
        data=body,
        content_type="application/json",
        headers={name: value for name, value in signed.items() if name.lower() in given},
    )
    CASES[("intake source", case.operation.label)] += 1
    STATUSES[response.status_code] += 1
    if given >= {name.lower() for name in signed}:
        assert response.status_code != 403, response.get_data(as_text=True)
    case.validate_response(response, checks=CHECKS)


@receipts.parametrize()
@HYPOTHESIS
def test_intake_receipt_signed_by_the_source(case, report_numbers):
    """A receipt looked up as the source would (signed over the path): the generated one (unknown: 404) or,
    for half the cases, one the source holds (200)."""
    source, _ = IntakeSource.objects.get_or_create(name="st-taobao", defaults={"platform": "taobao", "secret": "s3"})
    event, _ = IntakeEvent.objects.get_or_create(source=source, platform="taobao", external_id="ST-RCPT",
                                                 defaults={"payload": {}})
    receipt = str((case.path_parameters or {}).get("receipt", ""))
    if sum(map(ord, receipt)) % 2:
        case.path_parameters = {**(case.path_parameters or {}), "receipt": str(event.receipt)}
    path = case.formatted_path
    timestamp = str(int(time.time()))
    signed = {
        "X-Intake-Source": source.name,
        "X-Intake-Timestamp": timestamp,
        "X-Intake-Signature": sign(secret=source.secret, timestamp=timestamp, body=path.encode()),
    }
    given = {name.lower() for name in case.headers or {}}
    response = WerkzeugClient(application).open(
        path, method=case.method, headers={name: value for name, value in signed.items() if name.lower() in given}
    )
    CASES[("intake source", case.operation.label)] += 1
    STATUSES[response.status_code] += 1
    if case.method == "GET" and given >= {name.lower() for name in signed}:  # (other methods: a 405 check)
        assert response.status_code in (200, 404), response.get_data(as_text=True)
    case.validate_response(response, checks=CHECKS)
