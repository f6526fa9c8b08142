"""SMS for the customer link: the adapter against a real HTTP gateway on loopback, the per-number limit, what
link_text_send writes (message, delivery, event, queued send) and the masked number in every log line."""

import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.factories import CustomerFactory, TicketFactory
from tickets.models import Delivery, Message
from tickets.outbound import PermanentFailure, TemporaryFailure, service, sms

pytestmark = pytest.mark.django_db

PHONE = "+86 138-1234-5678"
MASKED = "138****5678"
URL = "https://desk.example.com/c/1b-1A2b3C-abcdefghijkl/"


class Gateway(BaseHTTPRequestHandler):
    """Answers as the test tells it: (status, JSON body) or "hang" (longer than the client waits)."""

    answer: tuple | str = (200, {"code": "OK", "biz_id": "BIZ-1"})
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"headers": dict(self.headers), "json": json.loads(body)})
        if type(self).answer == "hang":
            time.sleep(2.5)
            return
        status, payload = type(self).answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    Gateway.answer, Gateway.received = (200, {"code": "OK", "biz_id": "BIZ-1"}), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    with override_settings(SMS_GATEWAY_URL=url, SMS_GATEWAY_TOKEN="tok-secret", SMS_SIGN_NAME="小店售后",
                           SMS_LINK_TEMPLATE="SMS_000001", OUTBOUND_TIMEOUT_SECONDS=1,
                           SMS_PER_NUMBER_HOUR=3, SMS_PER_NUMBER_DAY=10):
        yield Gateway
    server.shutdown()
    server.server_close()


@pytest.fixture
def ticket(db):
    return TicketFactory(customer=CustomerFactory(phone=PHONE), channel="phone")


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """The send is queued after commit; here it is recorded, not run (delivery_send is the outbound service's)."""
    queued = []
    monkeypatch.setattr(service, "enqueue_after_commit", lambda task, *args: queued.append((task.name, args)))
    return queued


def test_the_link_text_is_a_message_a_queued_delivery_and_an_event_in_one_go(gateway, ticket, agent, no_broker,
                                                                             caplog):
    caplog.set_level(logging.INFO)

    delivery = sms.link_text_send(ticket=ticket, actor=agent, url=URL)

    message = delivery.message
    assert (message.direction, message.channel, message.author) == ("outbound", "phone", agent)
    assert message.body == f"【小店售后】您的售后工单 {ticket.number} 可在此查看和补充：{URL}"
    assert (delivery.channel, delivery.state, delivery.recipient) == ("sms", "queued", "13812345678")
    event = ticket.events.get(action="customer_link_texted")
    assert MASKED in str(event.note) and "13812345678" not in json.dumps(event.note)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # a link is not an answer
    assert no_broker == [("tickets.tasks.delivery_send_task", (delivery.pk,))]
    assert delivery.next_attempt_at is not None  # the retry sweep finds it if the broker lost the task
    assert MASKED in caplog.text and "5678" in caplog.text and "13812345678" not in caplog.text


def test_send_posts_the_template_with_the_token_and_returns_the_providers_id(gateway, ticket, agent, caplog):
    caplog.set_level(logging.INFO)
    delivery = sms.link_text_send(ticket=ticket, actor=agent, url=URL)

    assert sms.send(delivery) == "BIZ-1"

    (request,) = gateway.received
    assert request["headers"]["Authorization"] == "Bearer tok-secret"
    assert request["json"] == {
        "phone": "13812345678", "sign_name": "小店售后", "template_code": "SMS_000001",
        "template_params": {"ticket_number": ticket.number, "link": URL}, "out_id": str(delivery.key),
    }
    assert "tok-secret" not in caplog.text and "13812345678" not in caplog.text and MASKED in caplog.text


def test_a_5xx_or_a_timeout_is_temporary(gateway, ticket, agent):
    delivery = sms.link_text_send(ticket=ticket, actor=agent, url=URL)
    gateway.answer = (503, {"message": "busy"})
    with pytest.raises(TemporaryFailure, match="503"):
        sms.send(delivery)
    gateway.answer = "hang"
    started = time.monotonic()
    with pytest.raises(TemporaryFailure):
        sms.send(delivery)
    assert time.monotonic() - started < 2.4  # gave up at OUTBOUND_TIMEOUT_SECONDS


def test_a_4xx_or_a_provider_error_code_is_permanent_with_the_providers_words_masked(gateway, ticket, agent, caplog):
    delivery = sms.link_text_send(ticket=ticket, actor=agent, url=URL)
    gateway.answer = (400, {"message": "invalid mobile 13812345678"})
    with pytest.raises(PermanentFailure, match=r"HTTP 400: invalid mobile 138\*\*\*\*5678"):
        sms.send(delivery)
    gateway.answer = (200, {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发号码天级流控"})
    with pytest.raises(PermanentFailure, match="isv.BUSINESS_LIMIT_CONTROL: 触发号码天级流控"):
        sms.send(delivery)
    assert "13812345678" not in caplog.text


def test_the_fourth_text_to_a_number_within_an_hour_is_refused_and_writes_nothing(gateway, ticket, agent):
    for _ in range(3):
        sms.link_text_send(ticket=ticket, actor=agent, url=URL)
    before = (Message.objects.count(), Delivery.objects.count(), ticket.events.count())

    with pytest.raises(sms.ValidationError, match="3 texts in the last hour"):
        sms.link_text_send(ticket=ticket, actor=agent, url=URL)

    assert (Message.objects.count(), Delivery.objects.count(), ticket.events.count()) == before
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=2))  # an hour later: allowed again
    assert sms.link_text_send(ticket=ticket, actor=agent, url=URL).state == "queued"


def test_the_daily_limit_counts_the_number_across_customers(gateway, ticket, agent):
    other = TicketFactory(customer=CustomerFactory(phone="13812345678"))  # the same number, written plainly
    with override_settings(SMS_PER_NUMBER_HOUR=100, SMS_PER_NUMBER_DAY=2):
        sms.link_text_send(ticket=ticket, actor=agent, url=URL)
        sms.link_text_send(ticket=other, actor=agent, url=URL)
        with pytest.raises(sms.ValidationError, match="24 hours"):
            sms.link_text_send(ticket=ticket, actor=agent, url=URL)


def test_no_text_without_a_phone_or_without_the_settings(ticket, agent):
    with override_settings(SMS_GATEWAY_URL="", SMS_SIGN_NAME="x", SMS_LINK_TEMPLATE="T"):
        assert "SMS_GATEWAY_URL" in sms.sms_refusal(ticket)
        with pytest.raises(sms.ValidationError, match="not configured"):
            sms.link_text_send(ticket=ticket, actor=agent, url=URL)
    with override_settings(SMS_GATEWAY_URL="http://127.0.0.1:9/", SMS_SIGN_NAME="x", SMS_LINK_TEMPLATE="T"):
        assert sms.sms_refusal(ticket) == ""
        ticket.customer.phone = ""
        ticket.customer.save()
        ticket.refresh_from_db()
        assert "no phone" in sms.sms_refusal(ticket)
    assert not Delivery.objects.exists()


# The ticket page: text the link --------------------------------------------------------------------

def sms_url(ticket) -> str:
    return f"/tickets/{ticket.pk}/customer-link/sms/"


def test_the_agent_texts_the_link_from_the_ticket_page(gateway, ticket, agent, client):
    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="customer-link-sms"' in page and MASKED in page and "13812345678" not in page

    response = client.post(sms_url(ticket), follow=True)

    delivery = Delivery.objects.get()
    assert delivery.message.ticket == ticket and delivery.recipient == "13812345678"
    ticket.refresh_from_db()
    assert ticket.customer_link_key  # issued on the way
    assert "http://testserver/c/" in delivery.message.body
    assert MASKED in response.content.decode()


def test_the_page_says_why_not_when_sms_cannot_be_sent(ticket, agent, client):
    client.force_login(agent)
    with override_settings(SMS_GATEWAY_URL=""):
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="customer-link-sms-hint"' in page and 'id="customer-link-sms"' not in page


def test_a_refused_text_is_a_message_and_leaves_no_new_link(gateway, ticket, agent, client):
    client.force_login(agent)
    with override_settings(SMS_PER_NUMBER_HOUR=0):
        response = client.post(sms_url(ticket), follow=True)
    assert "texts in the last hour" in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.customer_link_key and not Delivery.objects.exists()
    assert not ticket.events.filter(action__startswith="customer_link").exists()


def test_warehouse_staff_and_other_desks_tickets_are_refused(gateway, ticket, warehouse_staff, client):
    client.force_login(warehouse_staff)
    assert client.post(sms_url(ticket)).status_code in (403, 404)
    assert not Delivery.objects.exists()


def test_the_post_needs_the_csrf_token(gateway, ticket, agent):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post(sms_url(ticket)).status_code == 403
    assert not Delivery.objects.exists()


# An incident's proactive contact -------------------------------------------------------------------

def proactive_incident(supervisor, customer):
    from tests.factories import ProductFactory
    from tests.playbook.test_incidents import bought, confirmed_incident

    jacket = ProductFactory(sku="SMS-1", name="羽绒服")
    incident, _ = confirmed_incident(jacket, supervisor)
    bought(jacket, hours_ago=2, customer=customer)
    return incident


def test_a_proactive_ticket_texts_the_customer_their_link(gateway, supervisor):
    from tickets.incidents.services import incident_open_proactive

    incident = proactive_incident(supervisor, CustomerFactory(phone="13812345678"))

    report = incident_open_proactive(incident=incident, actor=supervisor, site="https://desk.example.com/")

    (ticket_id,) = report.done
    delivery = Delivery.objects.get(message__ticket_id=ticket_id)
    assert delivery.channel == "sms" and "https://desk.example.com/c/" in delivery.message.body


def test_a_refused_text_is_noted_on_the_proactive_ticket_and_the_run_goes_on(gateway, supervisor):
    from tickets.incidents.services import incident_open_proactive

    incident = proactive_incident(supervisor, CustomerFactory(phone="13812345678"))
    with override_settings(SMS_PER_NUMBER_HOUR=0):
        report = incident_open_proactive(incident=incident, actor=supervisor, site="https://desk.example.com/")

    (ticket_id,) = report.done
    assert not Delivery.objects.exists()
    note = Message.objects.get(ticket_id=ticket_id, direction="note")
    assert "not texted" in note.body and "last hour" in note.body
    assert Message.objects.filter(ticket_id=ticket_id, direction="outbound").count() == 1  # the agreed reply


@override_settings(SMS_GATEWAY_URL="")
def test_no_sms_configured_means_the_proactive_run_is_as_before(supervisor):
    from tickets.incidents.services import incident_open_proactive

    incident = proactive_incident(supervisor, CustomerFactory(phone="13812345678"))
    report = incident_open_proactive(incident=incident, actor=supervisor, site="https://desk.example.com/")
    assert len(report.done) == 1 and not Delivery.objects.exists()
    assert not Message.objects.filter(direction="note", body__contains="texted").exists()
