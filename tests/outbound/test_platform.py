"""The platform chat outbox against a loopback HTTP receiver that checks the signature."""

import time
from datetime import timedelta

import pytest

from tickets import services
from tickets.events import EventAction
from tickets.outbound import TemporaryFailure
from tickets.outbound import platform as adapter
from tickets.outbound.service import deliveries_retry_due

pytestmark = pytest.mark.django_db


def _reply(ticket, agent, capture):
    with capture(execute=True):
        message = services.message_add(ticket=ticket, actor=agent, direction="outbound", body="亲，已为您补发")
    delivery = message.deliveries.get()
    delivery.refresh_from_db()
    return delivery


def test_a_reply_is_posted_signed_with_the_contract_body(platform_ticket, outbox, receiver, agent,
                                                         django_capture_on_commit_callbacks):
    delivery = _reply(platform_ticket, agent, django_capture_on_commit_callbacks)
    assert (delivery.state, delivery.external_id) == ("sent", "pm-1")
    [request] = receiver.requests
    assert request["signed"] and request["key"] == str(delivery.key)
    body = request["json"]
    assert body["idempotency_key"] == str(delivery.key) and body["ticket"] == platform_ticket.number
    assert (body["platform"], body["aftersale_id"], body["buyer_account"]) == ("jd", "AFS-9001", "jd_buyer_7")
    assert body["order_id"] == platform_ticket.order.external_number and body["text"] == "亲，已为您补发"


def test_a_500_is_retried_later_with_the_same_key_then_sent(platform_ticket, outbox, receiver, agent,
                                                            django_capture_on_commit_callbacks):
    receiver.answers = [(500, {"error": "upstream down"}), (200, {"message_id": "pm-2"})]
    delivery = _reply(platform_ticket, agent, django_capture_on_commit_callbacks)
    assert delivery.state == "failed" and "HTTP 500" in delivery.last_error
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.external_id) == ("sent", 2, "pm-2")
    assert [r["key"] for r in receiver.requests] == [str(delivery.key)] * 2
    assert receiver.requests[0]["json"] == receiver.requests[1]["json"]  # the same body on every attempt


def test_a_receiver_that_hangs_is_a_temporary_failure_within_the_timeout(platform_ticket, outbox, receiver, agent):
    receiver.delay = 4  # the endpoint's timeout is 2 s
    delivery = services.message_add(ticket=platform_ticket, actor=agent, direction="outbound",
                                    body="您好").deliveries.get()
    started = time.monotonic()
    with pytest.raises(TemporaryFailure):
        adapter.send(delivery)
    assert time.monotonic() - started < 3.5


def test_a_400_is_dead_with_the_receivers_reason(platform_ticket, outbox, receiver, agent,
                                                 django_capture_on_commit_callbacks):
    receiver.answers = [(400, {"error": "buyer has blocked the shop"})]
    delivery = _reply(platform_ticket, agent, django_capture_on_commit_callbacks)
    assert delivery.state == "dead" and delivery.last_error == "HTTP 400 buyer has blocked the shop"
    event = platform_ticket.events.get(action=EventAction.MESSAGE_UNDELIVERED)
    assert "Platform chat" in event.reason_text and "blocked" in event.reason_text


def test_a_wrong_secret_is_refused_by_the_receiver_and_not_retried(platform_ticket, outbox, receiver, agent,
                                                                   django_capture_on_commit_callbacks):
    outbox.secret = "not-the-shared-one"
    outbox.save()
    delivery = _reply(platform_ticket, agent, django_capture_on_commit_callbacks)
    assert delivery.state == "dead" and "bad signature" in delivery.last_error
    assert not receiver.requests[0]["signed"]


def test_nobody_listening_is_a_temporary_failure(platform_ticket, outbox, agent, django_capture_on_commit_callbacks):
    outbox.url = "http://127.0.0.1:1/outbox"
    outbox.save()
    delivery = _reply(platform_ticket, agent, django_capture_on_commit_callbacks)
    assert delivery.state == "failed" and "unreachable" in delivery.last_error


def test_the_outbox_contract_is_in_the_openapi_schema_with_an_example_per_platform(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    hook = schema["x-webhooks"]["platformChatOutbox"]["post"]
    examples = hook["requestBody"]["content"]["application/json"]["examples"]
    assert {example["value"]["platform"] for example in examples.values()} == {"taobao", "jd", "douyin", "pinduoduo"}
    assert all(header in hook["description"]
               for header in ("X-Aftersales-Timestamp", "X-Aftersales-Signature", "Idempotency-Key"))
