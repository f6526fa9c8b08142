"""Two people on one ticket in real browsers, in Chinese: the supervisor saves a classification while the
agent is typing; the agent's save is refused with the supervisor's change shown and the agent's text
kept; the agent saves again on purpose. Screenshots: artifacts/e2e/safe-edits/NN-name.png."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import Visit, _missing, expect, pytestmark  # noqa: F401
from tests.web.test_e2e_money import PASSWORD, _login
from tickets import services
from tickets.models import Ticket
from tickets.workflow import ticket_transition


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stale_save_in_the_browser_shows_the_other_change_and_keeps_the_typing(browser_db, live_server, browser):
    agent, supervisor = make_user("agent", username="se_agent_b"), make_user("supervisor", username="se_sup_b")
    speaks("zh-hans", agent, supervisor)
    for user in (agent, supervisor):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    ticket = services.ticket_create(actor=agent, channel="phone", description="洗衣机漏水，地板都湿了",
                                    customer=CustomerFactory(), type="repair", category="product_quality")
    ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    base, url = live_server.url, f"{live_server.url}/tickets/{ticket.pk}/"
    zh = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-hans"}}
    with translation.override("zh-hans"):
        save = gettext("Save classification")

    pages = {}
    for who, user in (("agent", agent), ("supervisor", supervisor)):
        page = browser.new_context(**zh).new_page()
        page.set_default_timeout(15_000)
        _login(page, base, user)
        page.goto(url)
        pages[who] = page
    visit = Visit(pages["agent"], "safe-edits")

    # Both have the page open; the supervisor saves first.
    for page in pages.values():  # a classified case keeps its classification folded until it is changed
        page.click("#classify-details > summary")
    pages["supervisor"].fill("#id_symptom", "进水阀损坏")
    pages["supervisor"].get_by_role("button", name=save).click()
    pages["supervisor"].wait_for_load_state()
    assert Ticket.objects.get(pk=ticket.pk).symptom == "进水阀损坏"

    # The agent, on the page loaded before, types and saves: refused, shown, kept.
    agent_page = pages["agent"]
    agent_page.fill("#id_symptom", "排水管裂开")
    agent_page.get_by_role("button", name=save).click()
    expect(agent_page.locator("#edit-conflict")).to_contain_text("进水阀损坏")
    expect(agent_page.locator("#edit-conflict")).to_contain_text("se_sup_b")
    expect(agent_page.locator("#id_symptom")).to_have_value("排水管裂开")
    visit.shot("agent-conflict")
    assert Ticket.objects.get(pk=ticket.pk).symptom == "进水阀损坏"

    # Saving again is a deliberate choice and goes through.
    agent_page.get_by_role("button", name=save).click()
    expect(agent_page.locator("#edit-conflict")).to_have_count(0)
    visit.shot("agent-saved")
    assert Ticket.objects.get(pk=ticket.pk).symptom == "排水管裂开"
