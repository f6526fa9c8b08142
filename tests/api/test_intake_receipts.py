"""The intake's receipt contract (README "Platform intake webhook"): the webhook stores the event and answers
202 with a receipt; a worker makes the tickets in batches with ticket_create's rules; the receipt says what
became of the event. Deliveries here run no on-commit callbacks unless a test asks (the worker's task then
runs eagerly), so a test sees the event pending first."""

import json
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from orders.models import Order
from tests.api.test_intake import TAOBAO_EVENT, URL, look_up, signed_headers
from tests.factories import CustomerFactory, make_user
from tickets import intake, services
from tickets.intake import INTAKE_QUEUED_KEY, intake_events_process, normalise_type
from tickets.models import Channel, IntakeEvent, IntakeSource, Message, Ticket, TicketEvent
from tickets.tasks import intake_process_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_task_marked_queued():
    """Tests here queue tasks that never run: the mark they leave must not hold back the next test's."""
    from django.core.cache import cache

    cache.delete(INTAKE_QUEUED_KEY)
    yield
    cache.delete(INTAKE_QUEUED_KEY)


@pytest.fixture
def taobao() -> IntakeSource:
    return IntakeSource.objects.create(name="taobao-shop", platform="taobao", secret="tb-secret-receipts")


def store(source: IntakeSource, event: dict, client: APIClient | None = None):
    """Deliver without running the worker (its task is queued on commit, which a test's transaction never does)."""
    body = json.dumps(event, ensure_ascii=False).encode()
    return (client or APIClient()).post(URL, data=body, content_type="application/json",
                                        headers=signed_headers(source, body))


def event_numbered(n: int, **change) -> dict:
    return {**TAOBAO_EVENT, "aftersale_id": f"TB-RCPT-{n}", "order_id": f"TB-O-{n}", **change}


# The contract ------------------------------------------------------------------------------------------------

def test_the_webhook_answers_202_with_a_receipt_that_says_pending_then_the_ticket(taobao):
    answer = store(taobao, TAOBAO_EVENT)

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["state"], body["created"], body["ticket"], body["number"]) == ("pending", True, None, None)
    assert body["url"] == f"http://testserver{URL}{body['receipt']}/"
    assert Ticket.objects.count() == 0  # the webhook made no ticket
    assert look_up(taobao, body["receipt"]).json()["state"] == "pending"

    assert intake_events_process() == 1

    done = look_up(taobao, body["receipt"])
    assert done.status_code == 200
    ticket = Ticket.objects.get()
    assert done.json() == {"receipt": body["receipt"], "url": body["url"], "state": "done", "ticket": ticket.pk,
                           "number": ticket.number, "errors": None}


def test_the_same_event_again_while_pending_answers_the_same_receipt_and_stores_nothing_more(taobao):
    first = store(taobao, TAOBAO_EVENT).json()

    again = store(taobao, TAOBAO_EVENT)

    assert again.status_code == 202
    assert (again.json()["receipt"], again.json()["created"]) == (first["receipt"], False)
    assert IntakeEvent.objects.get().updates == []  # nothing new to apply
    intake_events_process()
    assert Ticket.objects.count() == 1


def test_an_update_sent_before_the_ticket_exists_is_applied_right_after_it_is_made(taobao):
    first = store(taobao, TAOBAO_EVENT).json()
    store(taobao, {**TAOBAO_EVENT, "amount": "299.00"})
    store(taobao, {**TAOBAO_EVENT, "amount": "299.00", "status": "cancelled"})

    intake_events_process()

    ticket = Ticket.objects.get(pk=look_up(taobao, first["receipt"]).json()["ticket"])
    assert ticket.requested_amount == Decimal("299.00")
    assert ticket.events.get(action="platform_updated").changes["requested_amount"] == ["399.00", "299.00"]
    assert ticket.events.filter(action="platform_cancelled").count() == 1


def test_a_chat_line_on_a_case_still_pending_makes_its_ticket_first(taobao):
    receipt = store(taobao, TAOBAO_EVENT).json()["receipt"]
    line = {"kind": "message", "platform": "taobao", "aftersale_id": TAOBAO_EVENT["aftersale_id"],
            "message_id": "wx-1", "text": "快递单号已经填好了", "sent_at": timezone.now().isoformat()}

    response = store(taobao, line)

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert look_up(taobao, receipt).json()["ticket"] == response.json()["ticket"] == ticket.pk
    assert ticket.messages.filter(external_id="wx-1").exists()


def test_a_receipt_is_read_only_by_its_source_and_only_signed_over_its_path(taobao):
    receipt = store(taobao, TAOBAO_EVENT).json()["receipt"]
    other = IntakeSource.objects.create(name="tb-other", platform="taobao", secret="other-secret")
    path = f"{URL}{receipt}/"

    assert look_up(other, receipt).status_code == 404
    assert look_up(taobao, receipt, secret="wrong").status_code == 403
    assert APIClient().get(path).status_code == 403
    signed_elsewhere = signed_headers(taobao, f"{URL}00000000-0000-4000-8000-000000000000/".encode())
    assert APIClient().get(path, headers=signed_elsewhere).status_code == 403
    assert look_up(taobao, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_invalid_event_is_a_400_with_field_errors_and_nothing_stored(taobao):
    response = store(taobao, {**TAOBAO_EVENT, "type": "6"})  # a Douyin code, not a Taobao one

    assert response.status_code == 400
    assert "type" in response.json()["errors"]
    assert not IntakeEvent.objects.exists()


def test_an_event_the_worker_cannot_take_fails_with_its_reason_and_the_rest_of_the_batch_is_made(taobao):
    # A ticket carrying this after-sales id was made another way: the event's ticket would break the unique id.
    services.ticket_create(actor=None, channel=Channel.PLATFORM, description="x", customer=CustomerFactory(),
                           external_source="taobao", external_id="TB-RCPT-2")
    receipts = [store(taobao, event_numbered(n)).json()["receipt"] for n in range(1, 4)]

    assert intake_events_process() == 3

    answers = [look_up(taobao, receipt).json() for receipt in receipts]
    assert [answer["state"] for answer in answers] == ["done", "failed", "done"]
    assert answers[1]["ticket"] is None and "aftersale_id" in answers[1]["errors"]
    again = store(taobao, event_numbered(2))  # a redelivery answers what became of it
    assert (again.status_code, again.json()["state"]) == (200, "failed")


def test_with_the_broker_down_the_event_waits_and_the_beat_sweep_makes_its_ticket(taobao, monkeypatch, caplog):
    def broker_down(task, *args, countdown=None):
        return intake.logger.warning("broker unreachable") or False

    monkeypatch.setattr(intake, "enqueue", broker_down)
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = store(taobao, TAOBAO_EVENT)

    assert answer.status_code == 202 and "broker unreachable" in caplog.text
    assert IntakeEvent.objects.get().state == IntakeEvent.State.PENDING
    from django.core.cache import cache
    assert cache.get(INTAKE_QUEUED_KEY) is None  # not marked queued: the next event tries the broker again

    assert intake_process_task() == 1  # what beat runs every INTAKE_SWEEP_SECONDS

    assert look_up(taobao, answer.json()["receipt"]).json()["state"] == "done"


def test_a_burst_queues_one_task_until_it_starts(taobao, monkeypatch, settings):
    settings.INTAKE_GATHER_MS = 300
    queued = []
    monkeypatch.setattr(intake, "enqueue", lambda task, *args, countdown=None: queued.append(countdown) or True)

    for n in range(5):
        with TestCase.captureOnCommitCallbacks(execute=True):
            store(taobao, event_numbered(n))
    assert queued == [0.3]  # one task, started 300 ms after the first event: the burst's events are its batch

    intake_process_task()  # it starts: the mark is cleared, the next event queues a new one
    with TestCase.captureOnCommitCallbacks(execute=True):
        store(taobao, event_numbered(9))
    assert len(queued) == 2


# The batch makes what ticket_create makes -------------------------------------------------------------------

def create_one_by_one(source: IntakeSource, events: list[IntakeEvent]) -> None:
    """The webhook's synchronous path before the receipt (tickets/intake.py `_create`, kept here as the
    reference): one ticket_create per event, buyer and order looked up one by one."""
    for event in events:
        data = intake._from_json(event.data)
        customer, _ = Customer.objects.get_or_create(
            platform="taobao", platform_account=data["buyer_account"],
            defaults={"name": data.get("buyer_name") or data["buyer_account"]})
        order = Order.objects.filter(platform="taobao", external_number=data["order_id"]).first() or \
            Order.objects.create(platform="taobao", external_number=data["order_id"], customer=customer,
                                 placed_at=data.get("created_at") or timezone.now(),
                                 paid_amount=data.get("amount") or Decimal("0"))
        words = "\n".join(filter(None, [data.get("reason", ""), data.get("description", "")]))
        ticket = services.ticket_create(
            actor=None, channel=Channel.PLATFORM, description=words, customer=customer,
            order=order if order.customer_id == customer.pk else None, type=normalise_type("taobao", data["type"]),
            requested_amount=data.get("amount"), customer_request=data.get("reason", ""),
            platform_intervention=data.get("platform_intervention", False), external_source="taobao",
            external_id=data["aftersale_id"], platform_deadline_at=data.get("deadline_at"))
        if data.get("evidence_urls"):
            services.message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND,
                                 body=intake._evidence_text(data))


def snapshot() -> list[dict]:
    """Every ticket as an agent sees it, ids replaced by what they name (ids differ between the two runs)."""
    rows = []
    skip = {"id", "number", "customer", "order", "assignee", "sla_policy"}
    for ticket in Ticket.objects.select_related("customer", "order", "assignee").order_by("external_id"):
        row = {field.attname: getattr(ticket, field.attname) for field in Ticket._meta.concrete_fields
               if field.name not in skip}
        row.update(number=bool(ticket.number), customer=(ticket.customer.platform_account, ticket.customer.name),
                   order=ticket.order.external_number if ticket.order else None,
                   assignee=ticket.assignee.username if ticket.assignee else None,
                   sla_policy=ticket.sla_policy_id,
                   events=[(e.action, e.to_status, e.changes, e.note, e.actor_id)
                           for e in TicketEvent.objects.filter(ticket=ticket).order_by("id")],
                   messages=list(ticket.messages.order_by("id").values_list("direction", "channel", "body")))
        rows.append(row)
    return rows


def test_a_batch_makes_the_tickets_ticket_create_makes_one_by_one_field_for_field(taobao):
    # Agents to share the work, a VIP buyer, a repeat contact on one order, a big amount (high risk: seniors),
    # an order of another buyer, evidence, a platform deadline: every rule intake applies.
    for role in ("agent", "agent", "senior_agent"):
        make_user(role)
    events = [
        event_numbered(1, buyer_account="tb_a"),
        event_numbered(2, buyer_account="tb_a", order_id="TB-O-1", type="exchange"),  # same order: a repeat
        event_numbered(3, buyer_account="tb_b", amount="5000.00", description="我要投诉到消协"),
        event_numbered(4, buyer_account="tb_c", order_id="TB-O-1"),  # tb_a's order: kept off this ticket
        event_numbered(5, buyer_account="tb_a", evidence_urls=[], deadline_at="2026-12-09T10:00:00+08:00"),
        event_numbered(6, buyer_account="tb_d", buyer_name="", platform_intervention=True, type="refund_only"),
    ]
    with time_machine.travel("2026-12-07 10:00:00+08:00", tick=False):
        for event in events:
            assert store(taobao, event).status_code == 202
        stored = list(IntakeEvent.objects.order_by("pk"))
        with transaction.atomic():
            create_one_by_one(taobao, stored)
            one_by_one = snapshot()
            transaction.set_rollback(True)

        assert intake_events_process() == len(events)
        batched = snapshot()

    assert len(batched) == len(events)
    assert [row["assignee"] for row in batched] == [row["assignee"] for row in one_by_one]
    for single, batch in zip(one_by_one, batched, strict=True):
        assert batch == single, batch["external_id"]
    # The rules had something to decide: agents took turns, priorities and risks differ, one order kept off.
    assert all(row["assignee"] for row in batched) and len({row["assignee"] for row in batched}) == 3
    assert len({row["priority"] for row in batched}) > 1 and len({row["risk_level"] for row in batched}) > 1
    assert {row["order"] for row in batched} >= {None, "TB-O-1"} and any(row["messages"] for row in batched)


# Two workers at once (PostgreSQL) ----------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_make_each_ticket_once(monkeypatch):
    # The two workers below do the work.
    monkeypatch.setattr(intake, "enqueue", lambda task, *args, countdown=None: True)
    source = IntakeSource.objects.create(name="tb-workers", platform="taobao", secret="workers-secret")
    for n in range(60):
        assert store(source, event_numbered(n, buyer_account=f"tb_{n % 7}")).status_code == 202
    settled, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait(timeout=10)
            settled.append(intake_events_process(batch_size=7))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors and sum(settled) == 60, (settled, errors)
    assert Ticket.objects.count() == 60
    assert set(IntakeEvent.objects.values_list("state", flat=True)) == {IntakeEvent.State.DONE}
    assert IntakeEvent.objects.values("ticket").distinct().count() == 60
    assert Customer.objects.filter(platform_account__startswith="tb_").count() == 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_takes_the_next_batch_while_another_holds_one_of_the_same_source(monkeypatch):
    """The claim locks the events alone. Locking the source joined to them too (every event of a shop shares
    one) made a second worker skip every pending event while the first held a batch, and the two could
    leave most events pending between them (seen in CI: 3 of 60 settled)."""
    monkeypatch.setattr(intake, "enqueue", lambda task, *args, countdown=None: True)
    source = IntakeSource.objects.create(name="tb-held", platform="taobao", secret="held-secret")
    for n in range(20):
        assert store(source, event_numbered(n)).status_code == 202
    holding, release, settled, errors = threading.Event(), threading.Event(), {}, []
    tickets_for = intake._tickets_for

    def first_batch_held(events):
        if threading.current_thread().name == "holder" and not holding.is_set():
            holding.set()
            assert release.wait(timeout=60)
        tickets_for(events)

    monkeypatch.setattr(intake, "_tickets_for", first_batch_held)

    def holder():
        try:
            settled["holder"] = intake_events_process(batch_size=7)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=holder, name="holder")
    thread.start()
    try:
        assert holding.wait(timeout=60)
        settled["other"] = intake_events_process(batch_size=7)
    finally:
        release.set()
        thread.join(timeout=60)

    assert not errors, errors
    assert settled == {"other": 13, "holder": 7}
    assert set(IntakeEvent.objects.values_list("state", flat=True)) == {IntakeEvent.State.DONE}
    assert Ticket.objects.count() == 20


def test_the_webhook_stores_an_event_in_a_fixed_few_queries(taobao, django_assert_max_num_queries):
    store(taobao, event_numbered(0))  # warm-up
    with django_assert_max_num_queries(3):  # the source, INSERT … ON CONFLICT DO NOTHING, the receipt
        assert store(taobao, event_numbered(1)).status_code == 202
