"""Closing the loop through the API and the ticket page: summary, follow-ups, surveys, customer link."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.followup.test_followup import resolved_ticket
from tickets.followup.models import FollowUp
from tickets.models import Status
from tickets.subtasks import subtask_create
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def people(db):
    return {
        "agent": make_user("agent", username="fa_agent"),
        "other": make_user("agent", username="fa_other"),
        "warehouse": make_user("department_staff", username="fa_wh", department="warehouse"),
        "supervisor": make_user("supervisor", username="fa_super"),
    }


def url(ticket, tail: str) -> str:
    return f"/api/v1/tickets/{ticket.pk}/{tail}/"


def test_follow_up_through_the_api_closes_the_case(people):
    ticket = resolved_ticket(people["agent"])
    response = api_for(people["agent"]).post(url(ticket, "follow-ups"), {
        "channel": "phone", "result": "solved", "note": "电话确认", "score": 5,
    }, format="json")
    assert response.status_code == 201, response.json()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.close_outcome == "rated"
    listed = api_for(people["agent"]).get(url(ticket, "follow-ups")).json()
    assert [row["result"] for row in listed] == ["solved"]
    surveys = api_for(people["agent"]).get(url(ticket, "surveys")).json()
    assert [(row["score"], row["solved"]) for row in surveys] == [(5, True)]
    detail = api_for(people["agent"]).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["close_outcome"] == "rated" and detail["reopen_count"] == 0


def test_bad_follow_up_input_is_a_400_with_field_messages_and_changes_nothing(people):
    ticket = resolved_ticket(people["agent"])
    client = api_for(people["agent"])
    response = client.post(url(ticket, "follow-ups"), {"channel": "pigeon", "result": "solved", "score": 9},
                           format="json")
    assert response.status_code == 400
    assert {"channel", "score"} <= set(response.json()["errors"])
    response = client.post(url(ticket, "follow-ups"), {"channel": "phone", "result": "not_solved"}, format="json")
    assert response.status_code == 400 and "note" in response.json()["errors"]
    assert not FollowUp.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_someone_elses_ticket_or_a_department_cannot_record_follow_ups(people):
    # The warehouse sees the case through an earlier subtask (refusals are about who, checked before the state).
    ticket = resolved_ticket(people["agent"])
    ticket = ticket_transition(ticket=ticket, action="reopen", actor=people["agent"], reason="再处理")
    subtask_create(ticket=ticket, actor=people["agent"], department=people["warehouse"].staff_profile.department,
                   kind="inspect_return", description="验货")
    body = {"channel": "phone", "result": "solved"}
    assert api_for(people["other"]).post(url(ticket, "follow-ups"), body, format="json").status_code == 403
    assert api_for(people["warehouse"]).post(url(ticket, "follow-ups"), body, format="json").status_code == 403
    assert APIClient().post(url(ticket, "follow-ups"), body, format="json").status_code == 401
    assert not FollowUp.objects.exists()


def test_summary_through_the_api(people):
    ticket = resolved_ticket(people["agent"])
    client = api_for(people["agent"])
    body = {"root_cause": "胶水批次", "summary": "换新", "what_worked": "主动回访"}
    response = client.post(url(ticket, "summary"), body, format="json")
    assert response.status_code == 200 and response.json()["what_worked"] == "主动回访"
    # A part left out keeps what is written; all three blank is an empty summary.
    assert client.post(url(ticket, "summary"), {}, format="json").json() == body
    blank = {"root_cause": "", "summary": "", "what_worked": ""}
    assert client.post(url(ticket, "summary"), blank, format="json").status_code == 400


def test_summary_by_another_agent_or_a_department_without_access_is_refused_and_changes_nothing(people):
    ticket = resolved_ticket(people["agent"])
    body = {"root_cause": "胶水批次", "summary": "换新", "what_worked": "主动回访"}

    # Another agent sees the ticket but may not write it; the warehouse has no subtask, so it does not exist.
    assert api_for(people["other"]).post(url(ticket, "summary"), body, format="json").status_code == 403
    assert api_for(people["warehouse"]).post(url(ticket, "summary"), body, format="json").status_code == 404
    assert APIClient().post(url(ticket, "summary"), body, format="json").status_code == 401

    ticket.refresh_from_db()
    assert (ticket.root_cause, ticket.summary, ticket.what_worked) == ("", "", "")


@pytest.mark.parametrize("tail", ["follow-ups", "surveys"])
def test_an_outsider_cannot_list_follow_ups_or_surveys(people, tail):
    ticket = resolved_ticket(people["agent"])
    api_for(people["agent"]).post(url(ticket, "follow-ups"), {"channel": "phone", "result": "solved", "score": 5},
                                  format="json")
    assert len(api_for(people["agent"]).get(url(ticket, tail)).json()) == 1

    response = api_for(people["warehouse"]).get(url(ticket, tail))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"  # not even the ticket's existence is revealed
    assert APIClient().get(url(ticket, tail)).status_code == 401


def test_customer_link_through_the_api_and_renewal_revokes(people):
    ticket = resolved_ticket(people["agent"])
    client = api_for(people["agent"])
    first = client.post(url(ticket, "customer-link"), {}, format="json").json()
    assert first["url"].startswith("http://testserver/c/") and first["expires_at"]
    assert Client().get(first["url"]).status_code == 200
    second = client.post(url(ticket, "customer-link"), {"renew": True}, format="json").json()
    assert Client().get(first["url"]).status_code == 404
    assert Client().get(second["url"]).status_code == 200
    assert api_for(people["other"]).post(url(ticket, "customer-link"), {}, format="json").status_code == 403


# Ticket page ---------------------------------------------------------------------------------------------


def test_the_ticket_page_records_a_follow_up_and_gives_the_customer_link(people):
    ticket = resolved_ticket(people["agent"])
    client = Client()
    client.force_login(people["agent"])
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="follow-up-form"' in page and 'id="get-customer-link"' in page

    response = client.post(f"/tickets/{ticket.pk}/customer-link/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "/c/" in response.content.decode()

    client.post(f"/tickets/{ticket.pk}/follow-up/", {"channel": "phone", "result": "solved", "score": "4",
                                                     "note": "满意"})
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="close-outcome"' in page and "4★" in page


def test_a_department_member_who_sees_the_ticket_gets_no_customer_link(people):
    ticket = resolved_ticket(people["agent"])
    ticket = ticket_transition(ticket=ticket, action="reopen", actor=people["agent"], reason="再处理")
    subtask_create(ticket=ticket, actor=people["agent"], department=people["warehouse"].staff_profile.department,
                   kind="inspect_return", description="验货")
    client = Client()
    client.force_login(people["warehouse"])
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200  # sees it through the subtask

    assert client.post(f"/tickets/{ticket.pk}/customer-link/").status_code == 403

    ticket.refresh_from_db()
    assert ticket.customer_link_key == ""


@pytest.mark.parametrize(("who", "status"), [("other", 403), ("warehouse", 404)])
def test_an_outsider_cannot_record_a_follow_up_on_the_ticket_page(people, who, status):
    ticket = resolved_ticket(people["agent"])
    client = Client()
    client.force_login(people[who])

    response = client.post(f"/tickets/{ticket.pk}/follow-up/", {"channel": "phone", "result": "solved",
                                                                "score": "4", "note": "满意"})

    assert response.status_code == status
    assert not FollowUp.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.close_outcome == ""


def test_the_follow_up_queue_lists_resolved_tickets(people):
    ticket = resolved_ticket(people["agent"])
    client = Client()
    client.force_login(people["agent"])
    page = client.get("/?queue=follow_up").content.decode()
    assert ticket.number in page


@pytest.mark.parametrize("tail", ["follow-ups", "surveys"])
def test_listing_follow_ups_or_surveys_reads_the_list_not_the_whole_ticket(people, tail, django_assert_max_num_queries):
    ticket = resolved_ticket(people["agent"])
    client = api_for(people["agent"])
    client.post(url(ticket, "follow-ups"), {"channel": "phone", "result": "solved", "score": 5}, format="json")

    # the access check and the list: no prefetch of the timeline, subtasks, tags or attachments
    with django_assert_max_num_queries(4):
        assert len(client.get(url(ticket, tail)).json()) == 1
    assert client.get(f"/api/v1/tickets/not-a-number/{tail}/").status_code == 404
