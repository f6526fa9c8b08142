"""The short customer link (/c/<pk>-<issued>-<mac>/): same access, expiry and revocation as the long one."""

import math
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.portal.test_customer_link import agent, link, ticket  # noqa: F401 (fixtures)
from tickets.portal import links
from tickets.portal.links import LinkExpired, LinkInvalid, ticket_for_link

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def token_of(path: str) -> str:
    return path.strip("/").split("/")[-1]


def test_the_link_handed_out_is_short_and_opens_its_ticket(ticket, agent):  # noqa: F811
    path = link(ticket, agent)
    token = token_of(path)
    assert ":" not in token and len(token) <= 24
    assert len(path) <= 30  # e.g. /c/1-1Tq9Xb-AbCdEfGhIjKl/ instead of ~170 characters
    assert ticket_for_link(token) == ticket
    response = Client().get(path)
    assert response.status_code == 200 and ticket.number in response.content.decode()


def test_the_short_link_reaches_the_customer_actions_too(ticket, agent):  # noqa: F811
    token = token_of(link(ticket, agent))
    response = Client().post(reverse("portal:evidence", args=[token]), {})
    assert response.status_code == 302  # the same views: nothing sent, a message back on the page


def test_the_short_link_expires_with_the_long_ones_clock(ticket, agent, settings):  # noqa: F811
    token = token_of(link(ticket, agent))
    with time_machine.travel(timezone.now() + timedelta(days=settings.CUSTOMER_LINK_DAYS, minutes=-1)):
        assert ticket_for_link(token) == ticket
    with time_machine.travel(timezone.now() + timedelta(days=settings.CUSTOMER_LINK_DAYS, minutes=1)):
        with pytest.raises(LinkExpired):
            ticket_for_link(token)
        response = Client().get(f"/c/{token}/")
    assert response.status_code == 410


def test_renewing_revokes_short_and_long_links_given_out_before(ticket, agent):  # noqa: F811
    old_short = link(ticket, agent)
    ticket.refresh_from_db()
    old_long = signing.dumps({"t": ticket.pk, "k": ticket.customer_link_key}, salt=links.SALT)
    new = link(ticket, agent, renew=True)
    client = Client()
    assert client.get(old_short).status_code == 404
    assert client.get(f"/c/{old_long}/").status_code == 404
    assert client.get(new).status_code == 200


def test_long_links_given_out_before_keep_working(ticket, agent):  # noqa: F811
    link(ticket, agent)
    ticket.refresh_from_db()
    old_long = signing.dumps({"t": ticket.pk, "k": ticket.customer_link_key}, salt=links.SALT)
    assert len(old_long) > 60
    assert Client().get(f"/c/{old_long}/").status_code == 200


@pytest.mark.parametrize("code", ["zzzzzz", "1-1-AAAAAAAAAAAA", "-", "--", "1--AAAAAAAAAAAA", "!-1-AAAAAAAAAAAA",
                                  "999999-1Tq9Xb-AAAAAAAAAAAA", "1-1Tq9Xb-short"])
def test_an_unknown_code_shows_the_portals_invalid_page(code, ticket, agent):  # noqa: F811
    link(ticket, agent)
    with pytest.raises(LinkInvalid):
        ticket_for_link(code)
    response = Client().get(f"/c/{code}/")
    assert response.status_code == 404
    assert "portal/invalid.html" in [t.name for t in response.templates]


def test_the_right_ticket_and_time_with_a_wrong_mac_is_refused_even_when_old(ticket, agent, settings):  # noqa: F811
    token = token_of(link(ticket, agent))
    pk, issued, mac = token.split("-", 2)
    forged = f"{pk}-{issued}-{'A' * len(mac) if mac != 'A' * len(mac) else 'B' * len(mac)}"
    with pytest.raises(LinkInvalid) as raised:
        ticket_for_link(forged)
    assert not isinstance(raised.value, LinkExpired)
    with time_machine.travel(timezone.now() + timedelta(days=settings.CUSTOMER_LINK_DAYS + 1)):
        with pytest.raises(LinkInvalid) as raised:
            ticket_for_link(forged)
        assert not isinstance(raised.value, LinkExpired)  # a forged link learns nothing about the clock


def test_another_ticket_id_in_a_genuine_link_is_refused(ticket, agent):  # noqa: F811
    token = token_of(link(ticket, agent))
    _pk, issued, mac = token.split("-", 2)
    with pytest.raises(LinkInvalid):
        ticket_for_link(f"{signing.b62_encode(ticket.pk + 1)}-{issued}-{mac}")
    with pytest.raises(LinkInvalid):
        ticket_for_link(f"{_pk}-{signing.b62_encode(signing.b62_decode(issued) + 86400)}-{mac}")  # younger


def test_guessing_a_code_is_not_feasible(ticket, agent):  # noqa: F811
    """72 bits of MAC per (ticket, second): at a million guesses a second, ~150,000 years per ticket."""
    token = token_of(link(ticket, agent))
    mac = token.split("-", 2)[2]
    bits = len(mac) * math.log2(64)
    assert bits >= 60 and links.SHORT_MAC_CHARS * 6 == 72
    # Different tickets and different moments give unrelated MACs.
    assert mac != links.short_mac(ticket.pk, int(timezone.now().timestamp()) + 1, ticket.customer_link_key)
