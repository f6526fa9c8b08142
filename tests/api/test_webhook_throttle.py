"""The signed webhooks' rate limit (aftersales/throttling.py, SignedWebhookThrottle): THROTTLE_INTAKE per source and
client address in fixed windows, one cache increment a request; over it a 429 with Retry-After, the other
sources (and another address naming the same source) unaffected."""

import json
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from aftersales.throttling import SignedWebhookThrottle
from tests.api.test_intake import TAOBAO_EVENT, URL, look_up, signed_headers
from tickets.models import IntakeEvent, IntakeSource

pytestmark = pytest.mark.django_db

# 10 s into a minute: the window has 50 s left.
MID_WINDOW = datetime(2026, 12, 6, 10, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def three_a_minute(monkeypatch):
    monkeypatch.setattr(SignedWebhookThrottle, "THROTTLE_RATES",
                        {**SignedWebhookThrottle.THROTTLE_RATES, "intake": "3/minute"})


def source() -> IntakeSource:
    # A name of its own per test: the counts live in the shared cache (Redis on CI) for a minute.
    return IntakeSource.objects.create(name=f"shop-{uuid.uuid4().hex[:12]}", platform="taobao", secret="s3cret")


def post(source: IntakeSource, n: int, *, address: str = "10.0.0.1"):
    body = json.dumps({**TAOBAO_EVENT, "aftersale_id": f"TB-THR-{source.pk}-{n}"}).encode()
    return APIClient(REMOTE_ADDR=address).post(URL, data=body, content_type="application/json",
                                               headers=signed_headers(source, body))


def test_over_the_rate_a_source_gets_429_with_retry_after_until_the_next_window():
    shop = source()
    with time_machine.travel(MID_WINDOW, tick=False):
        answers = [post(shop, n) for n in range(4)]

        assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
        assert answers[3]["Retry-After"] == "50"
        assert IntakeEvent.objects.filter(source=shop).count() == 3  # the refused one was not stored
        # The receipt look-up counts against the same rate: refused too.
        receipt = answers[0].json()["receipt"]
        assert look_up(shop, receipt, client=APIClient(REMOTE_ADDR="10.0.0.1")).status_code == 429

    with time_machine.travel(MID_WINDOW.replace(minute=1), tick=False):
        assert post(shop, 4).status_code == 202


def test_another_source_and_another_address_are_not_held_back_by_a_throttled_source():
    shop, other_shop = source(), source()
    with time_machine.travel(MID_WINDOW, tick=False):
        assert [post(shop, n).status_code for n in range(4)] == [202, 202, 202, 429]

        assert post(other_shop, 0).status_code == 202
        # Someone else naming the throttled source (the header is not verified yet) uses a count of its own.
        assert post(shop, 5, address="10.0.0.2").status_code == 202


def test_with_the_cache_unreachable_requests_go_through(monkeypatch):
    shop = source()

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(SignedWebhookThrottle, "cache", type("Down", (), {"incr": unreachable, "add": unreachable}))
    with time_machine.travel(MID_WINDOW, tick=False):
        assert [post(shop, n).status_code for n in range(5)] == [202] * 5


def test_a_source_name_of_any_characters_is_counted_under_a_key_of_safe_characters(settings):
    """The header is the sender's words (spaces, control characters, any length); the key must suit every cache."""
    import warnings

    from django.core.cache import CacheKeyWarning

    shop = source()
    shop.name = "shop \t" + "名" * 40
    shop.save()
    with time_machine.travel(MID_WINDOW, tick=False), warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        assert [post(shop, n).status_code for n in range(4)] == [202, 202, 202, 429]
