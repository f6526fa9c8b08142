import base64
import time

import pytest
from rest_framework.test import APIClient

from tickets.intake import sign
from tickets.models import InboundMail, Mailbox, Ticket

from .conftest import mail_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/inbound-mail/"


@pytest.fixture
def box():
    return Mailbox.objects.create(name="service", address="service@shop.test", webhook_secret="s3cret")


def _post(body: bytes, *, secret="s3cret", mailbox="service", timestamp=None, content_type="message/rfc822"):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return APIClient().generic(
        "POST", URL, body, content_type=content_type,
        HTTP_X_MAIL_MAILBOX=mailbox, HTTP_X_MAIL_TIMESTAMP=timestamp,
        HTTP_X_MAIL_SIGNATURE=sign(secret=secret, timestamp=timestamp, body=body),
    )


def test_a_signed_mail_opens_a_ticket_then_repeats_answer_200(box):
    raw = mail_bytes("gbk_body.eml")
    response = _post(raw)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response.json() == {"state": "ticket_created", "ticket": ticket.number, "reason": ""}
    assert InboundMail.objects.get().mailbox == box
    again = _post(raw)
    assert again.status_code == 200 and again.json()["ticket"] == ticket.number
    assert Ticket.objects.count() == 1


def test_an_auto_reply_is_answered_with_no_ticket(box):
    response = _post(mail_bytes("auto_reply.eml"))
    assert response.status_code == 201 and response.json()["state"] == "auto_reply"
    assert response.json()["ticket"] is None


@pytest.mark.parametrize("change", [
    {"secret": "wrong"}, {"mailbox": "nope"}, {"timestamp": 1}, {"timestamp": "soon"},
])
def test_a_bad_signature_is_refused_and_nothing_is_taken_in(box, change):
    response = _post(mail_bytes("gbk_body.eml"), **change)
    assert response.status_code in (401, 403)
    assert not InboundMail.objects.exists()


def test_a_box_without_a_secret_refuses_the_webhook(box):
    Mailbox.objects.filter(pk=box.pk).update(webhook_secret="")
    assert _post(mail_bytes("gbk_body.eml"), secret="").status_code in (401, 403)


@pytest.mark.parametrize("body", [b"", b"   ", b"just some words without headers\r\n"])
def test_a_body_that_is_not_a_mail_is_a_clear_400(box, body):
    response = _post(body)
    assert response.status_code == 400
    assert "mail" in response.json()["detail"].lower() or "empty" in response.json()["detail"].lower()
    assert not InboundMail.objects.exists()


def test_json_instead_of_raw_mime_is_refused_with_what_to_send(box):
    response = _post(b'{"raw": "x"}', content_type="application/json")
    assert response.status_code == 415
    assert "message/rfc822" in response.json()["detail"]


def test_the_webhook_is_in_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["post"]
    assert "message/rfc822" in operation["requestBody"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"X-Mail-Mailbox", "X-Mail-Signature"}


def test_a_mail_bigger_than_the_form_limit_but_within_the_mail_limit_is_taken_in(box, settings):
    photo = b"\xff\xd8\xff" + b"\x01" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    raw = (b"From: p@example.com\r\nSubject: photo\r\nMessage-ID: <photo@example.com>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbroken\r\n"
           b"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=a.jpg\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(photo) + b"--b--\r\n")
    response = _post(raw)
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().attachments.count() == 1


def test_a_mail_above_the_mail_limit_is_413(box, settings):
    settings.MAIL_MAX_BYTES = 100
    response = _post(mail_bytes("gbk_body.eml"))
    assert response.status_code == 413 and not InboundMail.objects.exists()
