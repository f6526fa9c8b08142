"""POST /api/v1/intake/: platform after-sales events, HMAC-signed per source, idempotent per platform id."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import TestCase
from rest_framework.test import APIClient

from customers.models import Customer
from orders.models import Order
from tickets.intake import sign
from tickets.models import Channel, IntakeEvent, IntakeSource, Message, Ticket, TicketType

URL = "/api/v1/intake/"
SECRET = "tb-shared-secret-0123456789"

TAOBAO_EVENT = {
    "platform": "taobao", "aftersale_id": "TB-RF-20261111-0001", "order_id": "3912345678901234567",
    "buyer_account": "tb_小王2026", "buyer_name": "小王", "type": "return_refund", "reason": "尺码不符",
    "description": "买的M码，收到是L码", "amount": "399.00",
    "evidence_urls": ["https://img.example.com/a.jpg"], "created_at": "2026-11-12T10:00:00+08:00",
}
DOUYIN_EVENT = {
    "platform": "douyin", "aftersale_id": "7300000000000000001", "order_id": "6920000000000000001",
    "buyer_account": "dy_用户123", "type": "1", "reason": "商品破损", "amount_fen": 9900,
}


@pytest.fixture
def taobao(db) -> IntakeSource:
    return IntakeSource.objects.create(name="taobao-shop", platform="taobao", secret=SECRET)


@pytest.fixture
def douyin(db) -> IntakeSource:
    return IntakeSource.objects.create(name="douyin-shop", platform="douyin", secret="dy-secret")


def signed_headers(source: IntakeSource, body: bytes, *, timestamp: int | None = None, secret: str | None = None):
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Intake-Source": source.name,
        "X-Intake-Timestamp": ts,
        "X-Intake-Signature": sign(secret=secret or source.secret, timestamp=ts, body=body),
    }


def post(body: bytes, headers: dict, client: APIClient | None = None):
    # The worker's task is queued once the request commits (and runs eagerly here): a test's transaction never
    # commits, so its on-commit callbacks are run when the request is done.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return (client or APIClient()).post(URL, data=body, content_type="application/json", headers=headers)


def look_up(source: IntakeSource, receipt: str, *, secret: str | None = None, client: APIClient | None = None):
    """GET the receipt, signed by `source` over the path as the README says."""
    path = f"{URL}{receipt}/"
    return (client or APIClient()).get(path, headers=signed_headers(source, path.encode(), secret=secret))


def delivered(source: IntakeSource, event: dict) -> dict:
    """Deliver an event and answer what its receipt says once the worker has run."""
    response = deliver(source, event)
    assert response.status_code in (200, 202), response.content
    return look_up(source, response.json()["receipt"]).json()


def deliver(source: IntakeSource, event: dict, client: APIClient | None = None):
    body = json.dumps(event, ensure_ascii=False).encode()
    return post(body, signed_headers(source, body), client)


def counts() -> tuple[int, int, int, int, int]:
    return (Customer.objects.count(), Order.objects.count(), Ticket.objects.count(), IntakeEvent.objects.count(),
            Message.objects.count())


# Accepted ----------------------------------------------------------------------------------------

def test_a_signed_taobao_event_creates_customer_order_and_ticket(taobao):
    response = deliver(taobao, TAOBAO_EVENT)

    assert response.status_code == 202, response.content
    assert (response.json()["created"], response.json()["state"]) == (True, "pending")
    body = look_up(taobao, response.json()["receipt"]).json()
    assert body["state"] == "done"
    ticket = Ticket.objects.select_related("customer", "order").get(pk=body["ticket"])
    assert body["number"] == ticket.number
    assert (ticket.channel, ticket.type, ticket.requested_amount) == (Channel.PLATFORM, "return_refund",
                                                                      Decimal("399.00"))
    assert (ticket.external_source, ticket.external_id) == ("taobao", "TB-RF-20261111-0001")
    assert "尺码不符" in ticket.description and "L码" in ticket.description
    assert (ticket.customer.platform, ticket.customer.platform_account, ticket.customer.name) == (
        "taobao", "tb_小王2026", "小王"
    )
    assert (ticket.order.platform, ticket.order.external_number) == ("taobao", "3912345678901234567")
    assert ticket.order.customer_id == ticket.customer_id
    assert "https://img.example.com/a.jpg" in ticket.messages.get(direction="inbound").body
    event = IntakeEvent.objects.get()
    assert (event.source, event.ticket_id, event.payload) == (taobao, ticket.pk, TAOBAO_EVENT)
    assert ticket.events.filter(action="created").exists()


def test_the_same_event_again_answers_200_with_the_same_ticket_and_no_new_rows(taobao):
    first = delivered(taobao, TAOBAO_EVENT)
    before = counts()

    again = deliver(taobao, TAOBAO_EVENT)  # a redelivery: freshly signed, same platform id

    assert again.status_code == 200, again.content  # its ticket exists: answered with it at once
    assert again.json() == {**first, "created": False, "updated": False}
    assert counts() == before


def test_an_update_of_the_same_case_changes_the_ticket_once_with_timeline_events(taobao):
    first = delivered(taobao, TAOBAO_EVENT)
    update = {**TAOBAO_EVENT, "amount": "299.00", "deadline_at": "2026-11-14T10:00:00+08:00"}

    answers = [deliver(taobao, update).json() for _ in range(2)]  # the platform retries: applied once

    assert [a["updated"] for a in answers] == [True, False] and {a["ticket"] for a in answers} == {first["ticket"]}
    ticket = Ticket.objects.get(pk=first["ticket"])
    assert ticket.requested_amount == Decimal("299.00") and ticket.platform_deadline_at.day == 14
    event = ticket.events.get(action="platform_updated")
    assert event.changes["requested_amount"] == ["399.00", "299.00"]

    cancel = {**update, "status": "cancelled"}
    assert [deliver(taobao, cancel).json()["updated"] for _ in range(2)] == [True, False]
    assert ticket.events.filter(action="platform_cancelled").count() == 1
    assert ticket.messages.filter(direction="note", body__contains="cancelled").count() == 1
    assert Ticket.objects.count() == 1


def test_a_known_buyer_and_order_are_reused(taobao):
    deliver(taobao, TAOBAO_EVENT)
    before = counts()

    answer = delivered(taobao, {**TAOBAO_EVENT, "aftersale_id": "TB-RF-20261111-0002", "type": "exchange"})

    assert answer["state"] == "done"
    assert counts()[:2] == before[:2]  # same customer, same order
    assert Ticket.objects.get(pk=answer["ticket"]).type == TicketType.EXCHANGE


def test_douyin_platform_code_and_fen_are_normalised(douyin):
    answer = delivered(douyin, DOUYIN_EVENT)

    ticket = Ticket.objects.get(pk=answer["ticket"])
    assert (ticket.type, ticket.requested_amount, ticket.channel) == (TicketType.REFUND_ONLY, Decimal("99.00"),
                                                                      Channel.PLATFORM)
    assert ticket.customer.platform == "douyin"


# Refused: who is sending -------------------------------------------------------------------------

def body_of(event: dict) -> bytes:
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, s: {**h, "X-Intake-Signature": "sha256=" + "0" * 64}, id="bad-signature"),
        pytest.param(lambda h, s: {**h, "X-Intake-Signature": h["X-Intake-Signature"].upper()}, id="signature-case"),
        pytest.param(lambda h, s: signed_headers(s, b"{}"), id="signature-of-another-body"),
        pytest.param(lambda h, s: signed_headers(s, body_of(TAOBAO_EVENT), secret="wrong"), id="wrong-secret"),
        pytest.param(lambda h, s: {k: v for k, v in h.items() if k != "X-Intake-Signature"}, id="no-signature"),
        pytest.param(lambda h, s: {k: v for k, v in h.items() if k != "X-Intake-Timestamp"}, id="no-timestamp"),
        pytest.param(lambda h, s: {k: v for k, v in h.items() if k != "X-Intake-Source"}, id="no-source"),
        pytest.param(lambda h, s: {}, id="no-headers"),
        pytest.param(lambda h, s: {**h, "X-Intake-Source": "nobody"}, id="unknown-source"),
        pytest.param(lambda h, s: {**h, "X-Intake-Timestamp": "yesterday"}, id="malformed-timestamp"),
        pytest.param(lambda h, s: signed_headers(s, body_of(TAOBAO_EVENT), timestamp=int(time.time()) - 301),
                     id="stale-timestamp"),
        pytest.param(lambda h, s: signed_headers(s, body_of(TAOBAO_EVENT), timestamp=int(time.time()) + 301),
                     id="future-timestamp"),
    ],
)
def test_unsigned_or_badly_signed_events_are_refused_with_403_and_nothing_created(taobao, tamper):
    body = body_of(TAOBAO_EVENT)
    before = counts()

    response = post(body, tamper(signed_headers(taobao, body), taobao))

    assert response.status_code == 403, response.content
    assert set(response.json()) == {"detail", "code"}
    assert counts() == before


def test_a_timestamp_just_inside_five_minutes_is_accepted(taobao):
    body = body_of(TAOBAO_EVENT)

    response = post(body, signed_headers(taobao, body, timestamp=int(time.time()) - 290))

    assert response.status_code == 202


def test_an_inactive_source_is_refused(taobao):
    IntakeSource.objects.filter(pk=taobao.pk).update(is_active=False)
    before = counts()

    response = deliver(taobao, TAOBAO_EVENT)

    assert response.status_code == 403
    assert counts() == before


def test_the_intake_ignores_user_credentials(taobao, supervisor):
    client = APIClient()
    client.force_authenticate(user=supervisor)
    body = body_of(TAOBAO_EVENT)

    assert post(body, {}, client).status_code == 403


# Refused: what is sent ---------------------------------------------------------------------------

def test_a_source_sending_another_platforms_event_is_a_field_error(taobao):
    before = counts()

    response = deliver(taobao, DOUYIN_EVENT)

    assert response.status_code == 400
    assert "platform" in response.json()["errors"]
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"aftersale_id": None, "buyer_account": ""}, {"aftersale_id", "buyer_account"}),
        ({"platform": "alibaba"}, {"platform"}),
        ({"amount": "-1"}, {"amount"}),
        ({"amount": "1" * 20}, {"amount"}),
        ({"amount_fen": "ninety"}, {"amount_fen"}),
        ({"evidence_urls": ["not a url"]}, {"evidence_urls"}),
        ({"evidence_urls": "https://img.example.com/a.jpg"}, {"evidence_urls"}),
        ({"created_at": "last tuesday"}, {"created_at"}),
        ({"type": "teleport"}, {"type"}),
        ({"type": "99"}, {"type"}),
        ({"aftersale_id": "x" * 101}, {"aftersale_id"}),
        ({"deadline_at": "4013-05-31T21:01:37-02:13"}, {"deadline_at"}),  # once a 500 (no working time found)
        ({"deadline_at": "1999-12-31T23:00:00+08:00"}, {"deadline_at"}),
        ({"order_id": "\u0018"}, {"order_id"}),  # blank once the control character is cleaned
        ({"amount_fen": True}, {"amount_fen"}),  # a JSON boolean is not a number
        ({"evidence_urls": ["javascript:alert(1)"]}, {"evidence_urls"}),
    ],
)
def test_an_invalid_payload_is_a_400_with_field_errors(taobao, change, fields):
    event = {k: v for k, v in {**TAOBAO_EVENT, **change}.items() if v is not None}
    before = counts()

    response = deliver(taobao, event)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) >= fields
    assert counts() == before


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b""])
def test_a_body_that_is_not_a_json_object_is_a_400(taobao, body):
    before = counts()

    response = post(body, signed_headers(taobao, body))

    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("parse_error", "invalid")
    assert counts() == before


# The same new event from many workers at once (PostgreSQL) ---------------------------------------

THREADS = 8


def post_from_threads_at_once(aftersale_id: str) -> list:
    """THREADS clients post the same new, validly signed event, released together by a barrier."""
    source = IntakeSource.objects.create(name="tb-race", platform="taobao", secret="race-secret")
    body = json.dumps({**TAOBAO_EVENT, "aftersale_id": aftersale_id}).encode()
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(index: int) -> None:
        try:
            client = APIClient()
            headers = signed_headers(source, body)
            barrier.wait(timeout=10)
            response = post(body, headers, client)
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # the test reports what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert all(isinstance(result, tuple) for result in results), results
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_new_event_from_8_threads_at_once_stores_one_ticket_and_one_event():
    results = post_from_threads_at_once("TB-RACE-0001")

    assert [body["created"] for _status, body in results].count(True) == 1, results
    assert Ticket.objects.filter(external_id="TB-RACE-0001").count() == 1
    assert IntakeEvent.objects.filter(external_id="TB-RACE-0001").count() == 1
    assert (Customer.objects.count(), Order.objects.count()) == (1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_new_event_from_8_threads_at_once_answers_everyone_with_the_same_ticket():
    results = post_from_threads_at_once("TB-RACE-0002")

    assert {status for status, _body in results} <= {200, 202}, results
    assert len({body["receipt"] for _status, body in results}) == 1, results
    ticket = Ticket.objects.get(external_id="TB-RACE-0002")
    assert {body["ticket"] for _status, body in results} <= {None, ticket.pk}, results
