"""Limits on everything a person or a machine can send (aftersales/limits.py): each gets a clear error —
a form error, a 400 with field messages, a JSON error on the API — and changes nothing."""

import json
import time

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales.limits import TEXT_MAX_CHARS
from tests.factories import CustomerFactory
from tickets import services
from tickets.intake import sign
from tickets.knowledge import selectors as knowledge_selectors
from tickets.models import IntakeSource, Message, Ticket

pytestmark = pytest.mark.django_db

TOO_LONG = "漏" * (TEXT_MAX_CHARS + 1)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def intake_form(**extra):
    return {"no_order": "on", "channel": "phone", "customer_name": "刘先生", "customer_phone": "13900001111",
            "customer_platform": "other", "description": "空调不制冷", **extra}


def test_a_description_over_the_limit_is_a_form_error_and_nothing_is_written(agent_client):
    response = agent_client.post(reverse("tickets:new"), intake_form(description=TOO_LONG))

    assert response.status_code == 200
    assert "10000" in response.content.decode() or "10,000" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_description_over_the_limit_is_a_400_with_the_field_on_the_api(agent):
    api = APIClient()
    api.force_authenticate(agent)
    customer = CustomerFactory()

    response = api.post("/api/v1/tickets/", {"channel": "chat", "customer": customer.pk, "description": TOO_LONG},
                        format="json")

    assert response.status_code == 400 and "description" in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_services_hold_the_limit_whatever_calls_them(agent):
    ticket = services.ticket_create(actor=agent, channel="chat", description="空调不制冷", customer=CustomerFactory())
    with pytest.raises(Exception, match="At most 10000"):
        services.message_add(ticket=ticket, actor=agent, direction="outbound", body=TOO_LONG)
    with pytest.raises(Exception, match="At most 10000"):
        services.ticket_classify(ticket=ticket, actor=agent, symptom=TOO_LONG)
    assert Message.objects.count() == 0


def test_a_nul_in_the_order_lookup_is_a_400_not_a_server_error(agent_client):
    response = agent_client.get(reverse("tickets:lookup"), {"order_number": "\x00"})
    assert response.status_code == 400 and "order_number" in response.content.decode()


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f"])
def test_a_control_character_in_a_form_field_is_refused_and_nothing_is_written(agent_client, char):
    response = agent_client.post(reverse("tickets:new"), intake_form(description=f"空调{char}不制冷"))

    assert response.status_code == 400 and "description" in response.content.decode()
    assert not Ticket.objects.exists()


def test_tabs_and_new_lines_are_text(agent_client):
    response = agent_client.post(reverse("tickets:new"), intake_form(description="空调\t不制冷\r\n第二行"))
    assert response.status_code == 302 and Ticket.objects.count() == 1


def test_an_escaped_nul_in_a_json_body_is_a_json_400(agent):
    api = APIClient()
    api.force_authenticate(agent)
    body = json.dumps({"channel": "chat", "customer": CustomerFactory().pk, "description": "a\u0000b"})

    response = api.post("/api/v1/tickets/", body, content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "control_character"
    assert not Ticket.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_000)
def test_a_body_over_the_upload_limit_is_a_json_413_on_the_api_and_on_the_webhook(agent):
    source = IntakeSource.objects.create(name="tb", platform="taobao", secret="s")
    body = json.dumps({"platform": "taobao", "description": "x" * 5_000}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Intake-Source": "tb", "X-Intake-Timestamp": timestamp,
               "X-Intake-Signature": sign(secret=source.secret, timestamp=timestamp, body=body)}

    webhook = APIClient().post("/api/v1/intake/", body, content_type="application/json", headers=headers)
    api = APIClient()
    api.force_authenticate(agent)
    create = api.post("/api/v1/tickets/", body, content_type="application/json")

    for response in (webhook, create):
        assert response.status_code == 413 and response["Content-Type"] == "application/json"
        assert response.json()["code"] == "too_large"
    assert not Ticket.objects.exists()


def test_the_ticket_pages_keyword_matcher_reads_a_bounded_text(agent, monkeypatch):
    ticket = services.ticket_create(actor=agent, channel="chat", description="空调不制冷。" * 1_600,
                                    customer=CustomerFactory())
    seen = []
    monkeypatch.setattr(knowledge_selectors, "keywords_of", lambda text: seen.append(len(text)) or [])

    knowledge_selectors._ticket_keywords(ticket)

    assert seen == [knowledge_selectors.KEYWORD_TEXT_CHARS]
