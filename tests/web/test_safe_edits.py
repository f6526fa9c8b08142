"""Two people editing the same ticket in the browser: the second save, made from a page that was stale,
is refused with the other person's change shown and the second person's typing kept — never a silent
overwrite. Saving again from the refreshed form is a deliberate choice and goes through."""

import re

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, make_user
from tickets import services
from tickets.models import Department, Responsibility, Subtask, Ticket
from tickets.subtasks import subtask_create
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client, db):
    from django.test import Client

    agent, supervisor = make_user("agent", username="se_agent"), make_user("supervisor", username="se_sup")
    ticket = services.ticket_create(actor=agent, channel="phone", description="洗衣机漏水", customer=CustomerFactory(),
                                    type="repair", category="product_quality")
    ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
    first, second = Client(), Client()
    first.force_login(supervisor)
    second.force_login(agent)
    return ticket, first, second


def version_on_page(html: str) -> int:
    return int(re.search(r'name="version" value="(\d+)"', html).group(1))


def classify(client, ticket, *, version, symptom):
    return client.post(reverse("tickets:classify", args=[ticket.pk]), {
        "type": "repair", "category": "product_quality", "responsibility": "merchant", "symptom": symptom,
        "product_model": "", "frequency": "", "tags": "", "version": version,
    })


def test_the_second_save_from_a_stale_page_is_refused_shows_the_change_and_keeps_the_typing(two):
    ticket, first, second = two
    url = reverse("tickets:detail", args=[ticket.pk])
    seen_by_first = version_on_page(first.get(url).content.decode())
    seen_by_second = version_on_page(second.get(url).content.decode())

    assert classify(first, ticket, version=seen_by_first, symptom="进水阀坏了").status_code == 302
    response = classify(second, ticket, version=seen_by_second, symptom="排水管裂开")

    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="edit-conflict"' in page and "se_sup" in page and "进水阀坏了" in page  # whose change, and what
    assert "排水管裂开" in page  # the second person's typing is kept in the form
    # The change worded as the page words it: a choice by its label, never its code.
    conflict = page[page.index('id="edit-conflict"'):page.index("</ul>", page.index('id="edit-conflict"'))]
    assert f"→ {Responsibility.MERCHANT.label}" in conflict and "→ merchant" not in conflict
    assert Ticket.objects.get(pk=ticket.pk).symptom == "进水阀坏了"  # nothing overwritten

    # Saving again from the refreshed form is deliberate: it names the current version.
    refreshed = version_on_page(page)
    assert refreshed == Ticket.objects.get(pk=ticket.pk).version
    assert classify(second, ticket, version=refreshed, symptom="排水管裂开").status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).symptom == "排水管裂开"


def test_a_status_button_on_a_stale_page_does_not_move_the_ticket(two):
    ticket, first, second = two
    stale = Ticket.objects.get(pk=ticket.pk).version
    assert classify(first, ticket, version=stale, symptom="进水阀坏了").status_code == 302

    response = second.post(reverse("tickets:transition", args=[ticket.pk]), {"action": "start", "version": stale})

    assert response.status_code == 409 and 'id="edit-conflict"' in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "triaged"


def test_a_department_answer_from_a_stale_subtask_page_is_refused_and_kept(two):
    ticket, first, second = two
    ticket = ticket_transition(ticket=ticket, action="start", actor=make_user("agent", username="se_agent2"))
    subtask = subtask_create(ticket=ticket, actor=None, department=Department.objects.get(code="warehouse"),
                             kind="inspect_return", description="检查退回的洗衣机")
    wh1, wh2 = (make_user("department_staff", username=f"se_wh{n}", department="warehouse") for n in (1, 2))
    first.force_login(wh1)
    second.force_login(wh2)
    url = reverse("tickets:subtask", args=[subtask.pk])
    seen = version_on_page(second.get(url).content.decode())
    first.post(reverse("tickets:subtask_act", args=[subtask.pk]),
               {"action": "start", "result": "", "version": version_on_page(first.get(url).content.decode())})

    response = second.post(reverse("tickets:subtask_act", args=[subtask.pk]),
                           {"action": "complete", "result": "外观完好，可二次销售", "version": seen})

    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="edit-conflict"' in page and "外观完好，可二次销售" in page
    assert Subtask.objects.get(pk=subtask.pk).status == "in_progress"
