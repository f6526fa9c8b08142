"""The agent who takes a contact keeps its ticket; automatic assignment is for machine intake or by choice;
a high-risk case in a non-senior's hands says why and is handed over in one click (or kept, where the shop
allows), never silently taken away. And the page says what can be done next, and why not."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, OrderFactory, make_user
from tickets import assignment, services
from tickets.models import RiskLevel, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    return {
        "agent": make_user("agent", username="xiaoli"),
        "other": make_user("agent", username="xiaozhang"),  # fewer tickets: automatic assignment's pick
        "senior": make_user("senior_agent", username="laowang"),
    }


def _intake(client, **fields):
    order = OrderFactory()
    data = {"order_number": order.external_number, "channel": "phone", "description": "收到的羽绒服尺码发错了",
            "type": "exchange", "category": "wrong_or_missing_item", **fields}
    return client.post("/tickets/new/", data)


def test_the_agent_who_takes_the_call_keeps_the_ticket_and_can_work_it(client, desk):
    make_user("agent")  # another agent on duty with nothing to do: automatic assignment would pick them
    client.force_login(desk["agent"])

    response = _intake(client)

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.assignee == desk["agent"]
    assert ticket.events.filter(action="taken_at_intake", actor=desk["agent"]).exists()
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="composer"' in page  # not read-only: the reply box is there


def test_the_agent_may_let_the_desk_assign_it(client, desk, settings):
    settings.ASSIGNMENT_LOAD_SECONDS = 0
    services.ticket_create(actor=desk["agent"], channel="chat", description="x", customer=CustomerFactory(),
                           owner=desk["agent"])
    client.force_login(desk["agent"])

    _intake(client, assign_automatically="on")

    ticket = Ticket.objects.latest("pk")
    assert ticket.assignee in (desk["other"], desk["senior"])  # not the caller: they chose not to work it
    assert ticket.events.filter(action="assigned", actor=None).exists()


def test_machine_intake_is_assigned_automatically(desk):
    ticket = services.ticket_create(actor=None, channel="platform_dispute", description="平台介入",
                                    customer=CustomerFactory(), type="refund_only", category="other")

    assert ticket.assignee is not None and ticket.events.filter(action="assigned").exists()


@pytest.mark.parametrize(("choice", "keeps"), [({}, True), ({"assign_automatically": True}, False)])
def test_the_api_creator_keeps_the_ticket_unless_it_asks_for_automatic_assignment(desk, choice, keeps):
    api = APIClient()
    api.force_authenticate(desk["agent"])

    response = api.post("/api/v1/tickets/", {"channel": "chat", "description": "咨询发票",
                                             "customer": CustomerFactory().pk, **choice}, format="json")

    assert response.status_code == 201, response.content
    events = Ticket.objects.get(pk=response.json()["id"]).events
    assert events.filter(action="taken_at_intake", actor=desk["agent"]).exists() is keeps
    assert events.filter(action="assigned", actor=None).exists() is not keeps


def _high_risk_ticket(owner) -> Ticket:
    return services.ticket_create(actor=owner, channel="phone", description="再不退款我就发微博", owner=owner,
                                  customer=CustomerFactory(), type="complaint", category="other",
                                  threatens_exposure=True)


def test_a_high_risk_case_stays_with_its_agent_who_sees_why_and_hands_it_over_in_one_click(client, desk):
    ticket = _high_risk_ticket(desk["agent"])
    assert (ticket.assignee, ticket.risk_level) == (desk["agent"], RiskLevel.HIGH)
    client.force_login(desk["agent"])
    with translation.override("zh-hans"):
        client.cookies["django_language"] = "zh-hans"
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="senior-wanted"' in page and "资深客服" in page and 'id="keep-high-risk"' in page

    response = client.post(f"/tickets/{ticket.pk}/hand-to-senior/", {"version": ticket.version})

    ticket.refresh_from_db()
    assert response.status_code == 302 and ticket.assignee == desk["senior"]
    event = ticket.events.get(action="handed_to_senior")
    assert event.actor == desk["agent"] and event.changes == {"assignee": ["xiaoli", "laowang"]}
    with translation.override("en"):
        assert event.reason_text == "High risk: the shop's rule gives it to a senior agent."


def test_with_no_senior_on_duty_the_hand_over_is_refused_and_the_agent_keeps_it(client, desk):
    desk["senior"].staff_profile.on_duty = False
    desk["senior"].staff_profile.save()
    ticket = _high_risk_ticket(desk["agent"])
    client.force_login(desk["agent"])

    client.post(f"/tickets/{ticket.pk}/hand-to-senior/", {"version": ticket.version}, follow=True)

    ticket.refresh_from_db()
    assert ticket.assignee == desk["agent"] and not ticket.events.filter(action="handed_to_senior").exists()


def test_keeping_it_is_recorded_and_the_notice_goes_where_the_shop_allows(client, desk):
    ticket = _high_risk_ticket(desk["agent"])
    client.force_login(desk["agent"])

    client.post(f"/tickets/{ticket.pk}/keep/", {"version": ticket.version})

    assert ticket.events.filter(action="high_risk_kept", actor=desk["agent"]).exists()
    assert not assignment.senior_wanted(ticket)
    assert 'id="senior-wanted"' not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_where_the_shop_does_not_allow_keeping_only_the_hand_over_is_offered(client, desk, settings):
    settings.HIGH_RISK_AGENTS_MAY_KEEP = False
    ticket = _high_risk_ticket(desk["agent"])
    client.force_login(desk["agent"])

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    client.post(f"/tickets/{ticket.pk}/keep/", {"version": ticket.version})

    assert 'id="hand-to-senior"' in page and 'id="keep-high-risk"' not in page
    assert not ticket.events.filter(action="high_risk_kept").exists()


def test_a_senior_who_takes_a_high_risk_call_sees_no_notice(client, desk):
    ticket = _high_risk_ticket(desk["senior"])
    client.force_login(desk["senior"])

    assert 'id="senior-wanted"' not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_a_new_unclassified_ticket_says_what_comes_first_and_offers_no_form_that_would_be_refused(client, desk):
    ticket = services.ticket_create(actor=desk["agent"], channel="phone", description="开发票",
                                    customer=CustomerFactory(), owner=desk["agent"])
    client.force_login(desk["agent"])

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert "Triage: not yet — classify the ticket first (missing: type, category)" in page
    assert '<option value="" selected>—</option>' in page  # the category shows nothing chosen
    assert 'id="subtask-form"' not in page and 'id="subtask-not-yet"' in page


def test_the_customer_words_ask_the_agent_to_confirm_the_exposure_threat(client, desk):
    ticket = services.ticket_create(actor=desk["agent"], channel="phone", description="不给退我就去小红书曝光",
                                    customer=CustomerFactory(), owner=desk["agent"], type="refund_only",
                                    category="other")
    client.force_login(desk["agent"])
    assert ticket.risk_level == RiskLevel.MEDIUM
    assert 'id="confirm-exposure"' in client.get(f"/tickets/{ticket.pk}/").content.decode()

    client.post(f"/tickets/{ticket.pk}/confirm-exposure/", {"version": ticket.version})

    ticket.refresh_from_db()
    assert (ticket.threatens_exposure, ticket.risk_level) == (True, RiskLevel.HIGH)
    assert 'id="confirm-exposure"' not in client.get(f"/tickets/{ticket.pk}/").content.decode()
