"""Optimistic concurrency over the API: ETag on reads, If-Match (or `version`) on writes, 412 on stale copies.

A write based on an old version is refused with 412, code "stale_version", the current version and
the current state, and changes nothing: not the status, not the fields, not the timeline.
"""

import pytest
from rest_framework.test import APIClient

from tests.tickets.test_workflow import hand_to_warehouse, move, new_ticket
from tickets.models import Status, Subtask, Ticket, TicketEvent

API = "/api/v1"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def detail_url(ticket) -> str:
    return f"{API}/tickets/{ticket.pk}/"


def etag(version: int) -> str:
    return f'"{version}"'


def snapshot(ticket: Ticket) -> tuple:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (ticket.status, ticket.version, ticket.symptom, ticket.product_model, ticket.type,
            TicketEvent.objects.filter(ticket=ticket).count())


@pytest.fixture
def ticket(agent) -> Ticket:
    return move(new_ticket(agent), agent, "triage", "start")  # in progress, version > 1


@pytest.fixture
def api(agent) -> APIClient:
    return client_for(agent)


def make_stale(ticket: Ticket, api: APIClient) -> int:
    """Someone else edits the ticket after we read it; return the version we read."""
    read = api.get(detail_url(ticket)).json()["version"]
    response = api.patch(detail_url(ticket), {"symptom": "指示灯闪烁"}, format="json")
    assert response.status_code == 200, response.content
    return read


def assert_stale(response, ticket: Ticket) -> dict:
    assert response.status_code == 412, response.content
    body = response.json()
    current = Ticket.objects.get(pk=ticket.pk)
    assert body["code"] == "stale_version"
    assert body["detail"]
    assert body["current_version"] == current.version
    assert (body["current"]["id"], body["current"]["version"], body["current"]["status"]) == (
        current.pk, current.version, current.status
    )
    assert "ETag" not in response  # the body is the refusal, not a representation of the ticket
    return body


# Reads -------------------------------------------------------------------------------------------

def test_detail_sends_the_version_as_a_strong_etag(api, ticket):
    response = api.get(detail_url(ticket))

    assert response.status_code == 200
    version = Ticket.objects.get(pk=ticket.pk).version
    assert response.json()["version"] == version > 1
    assert response["ETag"] == etag(version)


def test_subtask_detail_sends_its_version_as_etag(agent, ticket):
    subtask = hand_to_warehouse(ticket, agent)

    response = client_for(agent).get(f"{API}/subtasks/{subtask.pk}/")

    assert response["ETag"] == etag(subtask.version) == etag(response.json()["version"])


# Writes with the current version -----------------------------------------------------------------

def test_patch_with_the_current_if_match_succeeds_and_bumps_the_version(api, ticket):
    read = api.get(detail_url(ticket))

    response = api.patch(detail_url(ticket), {"symptom": "不加热"}, format="json", HTTP_IF_MATCH=read["ETag"])

    assert response.status_code == 200, response.content
    assert response.json()["symptom"] == "不加热"
    assert response.json()["version"] > read.json()["version"]
    assert response["ETag"] == etag(response.json()["version"]) == etag(Ticket.objects.get(pk=ticket.pk).version)


def test_transition_with_the_current_version_field_succeeds(api, ticket):
    version = api.get(detail_url(ticket)).json()["version"]

    response = api.post(f"{detail_url(ticket)}transitions/", {"action": "wait_customer", "version": version},
                        format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.WAITING_CUSTOMER
    assert response.json()["version"] > version


@pytest.mark.parametrize("header", ["W/{quoted}", "{bare}", "*"])
def test_if_match_accepts_weak_bare_and_star_forms(api, ticket, header):
    version = Ticket.objects.get(pk=ticket.pk).version
    value = header.format(quoted=etag(version), bare=version)

    response = api.patch(detail_url(ticket), {"symptom": "x"}, format="json", HTTP_IF_MATCH=value)

    assert response.status_code == 200, response.content


def test_if_match_that_is_not_a_number_is_a_field_error(api, ticket):
    before = snapshot(ticket)

    response = api.patch(detail_url(ticket), {"symptom": "x"}, format="json", HTTP_IF_MATCH='"abc"')

    assert response.status_code == 400
    assert "version" in response.json()["errors"]
    assert snapshot(ticket) == before


# Writes with an old version ----------------------------------------------------------------------

def test_patch_with_an_old_if_match_is_refused_and_changes_nothing(api, ticket):
    old = make_stale(ticket, api)
    before = snapshot(ticket)

    response = api.patch(detail_url(ticket), {"symptom": "覆盖", "product_model": "X1", "type": "exchange"},
                         format="json", HTTP_IF_MATCH=etag(old))

    body = assert_stale(response, ticket)
    assert body["current"]["symptom"] == "指示灯闪烁"
    assert snapshot(ticket) == before


def test_patch_with_an_old_version_field_is_refused_and_changes_nothing(api, ticket):
    old = make_stale(ticket, api)
    before = snapshot(ticket)

    response = api.patch(detail_url(ticket), {"symptom": "覆盖", "version": old}, format="json")

    assert_stale(response, ticket)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("how", ["header", "field"])
def test_transition_with_an_old_version_is_refused_and_changes_nothing(api, ticket, how):
    old = make_stale(ticket, api)
    before = snapshot(ticket)
    payload, headers = {"action": "resolve"}, {}
    if how == "header":
        headers["HTTP_IF_MATCH"] = etag(old)
    else:
        payload["version"] = old

    response = api.post(f"{detail_url(ticket)}transitions/", payload, format="json", **headers)

    body = assert_stale(response, ticket)
    assert body["current"]["status"] == Status.IN_PROGRESS
    assert snapshot(ticket) == before


def test_classify_with_an_old_version_is_refused(api, ticket):
    old = make_stale(ticket, api)
    before = snapshot(ticket)

    response = api.post(f"{detail_url(ticket)}classify/", {"type": "exchange"}, format="json",
                        HTTP_IF_MATCH=etag(old))

    assert_stale(response, ticket)
    assert snapshot(ticket) == before


# Subtasks ----------------------------------------------------------------------------------------

def test_subtask_transition_with_an_old_version_is_refused_and_changes_nothing(agent, warehouse_staff, ticket):
    subtask = hand_to_warehouse(ticket, agent)
    client = client_for(warehouse_staff)
    old = client.get(f"{API}/subtasks/{subtask.pk}/").json()["version"]
    started = client.post(f"{API}/subtasks/{subtask.pk}/transitions/", {"action": "start", "version": old},
                          format="json")
    assert started.status_code == 200, started.content
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    current = Subtask.objects.get(pk=subtask.pk)

    response = client.post(f"{API}/subtasks/{subtask.pk}/transitions/", {"action": "complete", "result": "完好"},
                           format="json", HTTP_IF_MATCH=etag(old))

    assert response.status_code == 412, response.content
    body = response.json()
    assert (body["code"], body["current_version"]) == ("stale_version", current.version)
    assert (body["current"]["id"], body["current"]["status"]) == (subtask.pk, Subtask.Status.IN_PROGRESS)
    after = Subtask.objects.get(pk=subtask.pk)
    assert (after.status, after.version, after.result) == (Subtask.Status.IN_PROGRESS, current.version, "")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_DEPARTMENT
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_subtask_transition_with_the_current_version_succeeds(agent, warehouse_staff, ticket):
    subtask = hand_to_warehouse(ticket, agent)
    client = client_for(warehouse_staff)
    read = client.get(f"{API}/subtasks/{subtask.pk}/")

    response = client.post(f"{API}/subtasks/{subtask.pk}/transitions/", {"action": "start"}, format="json",
                           HTTP_IF_MATCH=read["ETag"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Subtask.Status.IN_PROGRESS
    assert response.json()["version"] > read.json()["version"]


# Two people, one version -------------------------------------------------------------------------

def test_two_clients_with_the_same_version_the_first_wins_the_second_gets_412(agent, supervisor, ticket):
    alice, bob = client_for(agent), client_for(supervisor)
    seen_by_alice = alice.get(detail_url(ticket))["ETag"]
    seen_by_bob = bob.get(detail_url(ticket))["ETag"]
    assert seen_by_alice == seen_by_bob

    first = alice.patch(detail_url(ticket), {"symptom": "Alice 写的"}, format="json", HTTP_IF_MATCH=seen_by_alice)
    after_first = snapshot(ticket)
    second = bob.patch(detail_url(ticket), {"symptom": "Bob 写的"}, format="json", HTTP_IF_MATCH=seen_by_bob)

    assert first.status_code == 200
    body = assert_stale(second, ticket)
    assert body["current"]["symptom"] == "Alice 写的"
    assert snapshot(ticket) == after_first
    assert TicketEvent.objects.filter(ticket=ticket, action="classified").count() == 1


def test_two_clients_moving_the_same_version_the_second_gets_412(agent, supervisor, ticket):
    alice, bob = client_for(agent), client_for(supervisor)
    version = alice.get(detail_url(ticket)).json()["version"]
    assert bob.get(detail_url(ticket)).json()["version"] == version

    first = alice.post(f"{detail_url(ticket)}transitions/", {"action": "wait_customer", "version": version},
                       format="json")
    second = bob.post(f"{detail_url(ticket)}transitions/", {"action": "resolve", "version": version},
                      format="json")

    assert first.status_code == 200
    assert assert_stale(second, ticket)["current"]["status"] == Status.WAITING_CUSTOMER
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING_CUSTOMER
