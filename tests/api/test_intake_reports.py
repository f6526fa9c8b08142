"""POST /api/v1/intake/ with kind "message" (the buyer's chat line on its case) and kind "delivery" (the
integration reports what became of a reply we posted), signed as the after-sales events are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.test_intake import TAOBAO_EVENT, deliver, delivered
from tickets.models import Channel, Delivery, IntakeSource, Message, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def taobao(db) -> IntakeSource:
    return IntakeSource.objects.create(name="taobao-shop", platform="taobao", secret="tb-secret")


@pytest.fixture
def jd(db) -> IntakeSource:
    return IntakeSource.objects.create(name="jd-shop", platform="jd", secret="jd-secret")


@pytest.fixture
def case(taobao) -> Ticket:
    return Ticket.objects.get(pk=delivered(taobao, TAOBAO_EVENT)["ticket"])


def chat(**change) -> dict:
    return {"kind": "message", "platform": "taobao", "aftersale_id": TAOBAO_EVENT["aftersale_id"],
            "message_id": "wx-1001", "text": "快递单号已经填好了", "sent_at": timezone.now().isoformat(), **change}


# Chat messages -------------------------------------------------------------------------------------

def test_a_chat_line_is_an_inbound_platform_message_on_its_case_and_resumes_it(taobao, case):
    Ticket.objects.filter(pk=case.pk).update(status=Status.WAITING_CUSTOMER,
                                             created_at=timezone.now() - timedelta(hours=1))
    sent_at = timezone.now() - timedelta(minutes=3)

    response = deliver(taobao, chat(sent_at=sent_at.isoformat(),
                                    evidence_urls=["https://img.example.com/waybill.jpg"]))

    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message"])
    assert response.json() == {"ticket": case.pk, "number": case.number, "message": message.pk, "created": True}
    assert (message.direction, message.channel, message.external_id) == ("inbound", Channel.PLATFORM, "wx-1001")
    assert message.body.startswith("快递单号已经填好了") and "https://img.example.com/waybill.jpg" in message.body
    assert abs(message.created_at - sent_at) < timedelta(seconds=1)  # placed where the buyer wrote it
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS


def test_a_chat_line_is_never_placed_before_its_case_or_in_the_future(taobao, case):
    early = deliver(taobao, chat(sent_at=(case.created_at - timedelta(days=2)).isoformat())).json()
    late = deliver(taobao, chat(message_id="wx-2", sent_at=(timezone.now() + timedelta(days=2)).isoformat())).json()

    assert Message.objects.get(pk=early["message"]).created_at == case.created_at
    assert Message.objects.get(pk=late["message"]).created_at <= timezone.now()


def test_the_same_chat_line_reported_twice_is_one_message(taobao, case):
    first = deliver(taobao, chat()).json()
    again = deliver(taobao, chat(text="edited on a retry"))

    assert again.status_code == 200 and again.json() == {**first, "created": False}
    assert case.messages.filter(external_id="wx-1001").count() == 1


def test_a_chat_line_found_by_the_order_when_it_has_one_open_case(taobao, case):
    body = {k: v for k, v in chat(order_id=TAOBAO_EVENT["order_id"], message_id="wx-2").items() if k != "aftersale_id"}
    response = deliver(taobao, body)
    assert response.status_code == 201, response.content
    assert response.json()["ticket"] == case.pk


def test_a_chat_line_by_order_with_two_open_cases_is_refused_not_guessed(taobao, case):
    deliver(taobao, {**TAOBAO_EVENT, "aftersale_id": "TB-RF-20261111-0002"})
    body = {k: v for k, v in chat(order_id=TAOBAO_EVENT["order_id"]).items() if k != "aftersale_id"}

    response = deliver(taobao, body)

    assert response.status_code == 409 and "2 open cases" in response.json()["detail"]
    assert not Message.objects.filter(external_id="wx-1001").exists()


def test_a_chat_line_for_an_unknown_case_is_a_404_naming_the_field_and_opens_no_ticket(taobao, case):
    before = (Ticket.objects.count(), Message.objects.count())

    response = deliver(taobao, chat(aftersale_id="TB-NOT-OURS"))

    assert response.status_code == 404, response.content
    assert "aftersale_id" in response.json()["errors"]
    assert (Ticket.objects.count(), Message.objects.count()) == before


def test_a_chat_line_for_a_closed_case_is_refused_with_409(taobao, case):
    Ticket.objects.filter(pk=case.pk).update(status=Status.CLOSED)

    response = deliver(taobao, chat())

    assert response.status_code == 409 and "closed" in response.json()["detail"]
    assert not case.messages.filter(external_id="wx-1001").exists()


def test_a_chat_line_needs_the_case_named_and_its_own_platform(taobao, case, jd):
    unnamed = {k: v for k, v in chat().items() if k != "aftersale_id"}
    assert deliver(taobao, unnamed).status_code == 400
    other = deliver(jd, chat())  # the JD source reporting a Taobao chat
    assert other.status_code == 400 and "platform" in other.json()["errors"]


def test_an_unknown_kind_is_a_400(taobao):
    response = deliver(taobao, {"kind": "poke"})
    assert response.status_code == 400 and "kind" in response.json()["errors"]


# Delivery reports ----------------------------------------------------------------------------------

@pytest.fixture
def posted(case) -> Delivery:
    message = Message.objects.create(ticket=case, direction="outbound", channel=case.channel, body="已为您退款")
    return Delivery.objects.create(message=message, channel=Delivery.Channel.PLATFORM_CHAT, recipient="tb_小王2026",
                                   state=Delivery.State.SENT, attempts=1)


def report(delivery: Delivery, **change) -> dict:
    return {"kind": "delivery", "idempotency_key": str(delivery.key), "state": "delivered", **change}


def test_a_delivered_report_marks_the_delivery_delivered_once(taobao, posted):
    answers = [deliver(taobao, report(posted, message_id="tb-msg-9")) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["changed"] for a in answers] == [True, False]
    posted.refresh_from_db()
    assert (posted.state, posted.external_id) == ("delivered", "tb-msg-9") and posted.delivered_at is not None


def test_a_failed_report_kills_the_delivery_with_the_reason_and_an_undelivered_event(taobao, posted):
    answers = [deliver(taobao, report(posted, state="failed", reason="买家已关闭会话")) for _ in range(2)]

    assert [a.json()["changed"] for a in answers] == [True, False]
    posted.refresh_from_db()
    assert (posted.state, posted.last_error) == ("dead", "买家已关闭会话")
    events = posted.message.ticket.events.filter(action="message_undelivered")
    assert events.count() == 1 and "买家已关闭会话" in str(events.get().note)


def test_a_delivered_reply_cannot_be_reported_failed_afterwards(taobao, posted):
    deliver(taobao, report(posted))
    response = deliver(taobao, report(posted, state="failed", reason="late"))
    assert response.status_code == 409
    posted.refresh_from_db()
    assert posted.state == "delivered"


def test_an_unknown_key_or_another_platforms_delivery_is_a_404_and_changes_nothing(taobao, jd, posted):
    unknown = deliver(taobao, report(posted, idempotency_key="6f1c2d3e-4b5a-4c6d-8e7f-000000000000"))
    foreign = deliver(jd, report(posted))  # signed by the JD source: a Taobao reply is none of its business

    assert unknown.status_code == foreign.status_code == 404
    assert "idempotency_key" in foreign.json()["errors"]
    posted.refresh_from_db()
    assert posted.state == "sent"


def test_a_report_on_a_reply_never_posted_is_refused(taobao, posted):
    Delivery.objects.filter(pk=posted.pk).update(state=Delivery.State.NO_CHANNEL)
    assert deliver(taobao, report(posted)).status_code == 409


def test_an_sms_delivery_cannot_be_reported_through_the_platform_webhook(taobao, posted):
    Delivery.objects.filter(pk=posted.pk).update(channel=Delivery.Channel.SMS)
    assert deliver(taobao, report(posted)).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_chat_line_from_6_threads_at_once_is_one_message():
    from tests.threads import run_together

    source = IntakeSource.objects.create(name="taobao-race", platform="taobao", secret="race")
    case = Ticket.objects.get(pk=delivered(source, TAOBAO_EVENT)["ticket"])

    answers = run_together(*[lambda: deliver(source, chat()) for _ in range(6)])

    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert {a.json()["message"] for a in answers} == {case.messages.get(external_id="wx-1001").pk}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_report_from_6_threads_at_once_writes_one_event():
    from tests.threads import run_together

    source = IntakeSource.objects.create(name="taobao-race", platform="taobao", secret="race")
    case = Ticket.objects.get(pk=delivered(source, TAOBAO_EVENT)["ticket"])
    message = Message.objects.create(ticket=case, direction="outbound", channel=case.channel, body="已为您退款")
    delivery = Delivery.objects.create(message=message, channel=Delivery.Channel.PLATFORM_CHAT, state="sent")

    answers = run_together(*[lambda: deliver(source, report(delivery, state="failed", reason="x")) for _ in range(6)])

    assert sorted(a.json()["changed"] for a in answers) == [False] * 5 + [True]
    assert case.events.filter(action="message_undelivered").count() == 1
