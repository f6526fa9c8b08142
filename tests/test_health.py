"""GET /healthz for load balancers and the browser login page."""

import pytest

from aftersales import health
from aftersales.celery import app as celery_app

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def test_healthz_reports_database_cache_and_broker_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["status"], body["database"], body["down"]) == ("ok", "ok", [])
    assert body["cache"].startswith("ok") and body["broker"].startswith("ok")
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_is_down(client, db, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "error: OSError"
    assert response.json()["down"] == ["database"]


def test_healthz_is_degraded_not_failing_when_the_broker_is_unreachable(client, db, monkeypatch):
    monkeypatch.setitem(celery_app.conf.changes, "broker_url", DEAD_REDIS)  # where .delay would publish

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["down"]) == ("degraded", ["broker"])
    assert body["broker"].startswith("unreachable")


def test_healthz_is_degraded_not_failing_when_the_cache_is_unreachable(client, db, settings):
    settings.CACHES = {"default": {"BACKEND": "aftersales.cache.FailOpenRedisCache", "LOCATION": DEAD_REDIS}}

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["down"]) == ("degraded", ["cache"])
    assert body["cache"] == "unreachable: ConnectionError"


def test_healthz_refuses_writes(client, db):
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_login_page_renders(client, db, language):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_desk_pages_send_anonymous_visitors_to_login(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
