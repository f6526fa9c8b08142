"""The live desk's poll: a ticket's change stamp moves with everything its page shows and with nothing
else, the desk's stamp moves with any change, presence says who else is on a ticket and who is typing
(and forgets who left), the composer learns who answered the customer meanwhile; every poll is a constant
handful of queries, never a write, and sees only what its person may see."""

import pytest
from django.core.cache import cache

from tests.factories import make_user
from tests.playbook.test_playbook import order, people, working_ticket  # noqa: F401  (fixtures)
from tickets import services, subtasks
from tickets.live import PRESENCE_SECONDS, desk_stamp, presence_others, presence_touch, ticket_stamps
from tickets.models import Department, Subtask, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def stamp(ticket):
    return ticket_stamps(Ticket.objects.filter(pk=ticket.pk))[ticket.pk]


def test_the_ticket_stamp_moves_with_what_its_page_shows_and_only_that(order, people):  # noqa: F811
    agent = people["agent"]
    ticket = working_ticket(order, agent)
    other = working_ticket(order, agent)
    seen = [stamp(ticket)]

    def moved():
        seen.append(stamp(ticket))
        return seen[-1] != seen[-2]

    services.message_add(ticket=other, actor=agent, direction="note", body="别的工单")
    assert not moved()
    services.message_add(ticket=ticket, actor=agent, direction="note", body="内部备注")  # a message, no event
    assert moved()
    sub = subtasks.subtask_create(ticket=ticket, actor=agent, department=Department.objects.get(code="warehouse"),
                                  kind=Subtask.Kind.RESHIP, description="补寄")
    assert moved()
    subtasks.subtask_act(subtask=sub, actor=people["warehouse"], action="start")  # the department's move
    assert moved()
    assert stamp(ticket) == seen[-1]  # nothing happened: the same stamp


def test_the_desk_stamp_moves_with_any_event_or_customer_message(order, people):  # noqa: F811
    before = desk_stamp()
    ticket = working_ticket(order, people["agent"])
    after_intake = desk_stamp()
    services.message_add(ticket=ticket, actor=None, direction="inbound", body="还没发货吗？")
    assert len({before, after_intake, desk_stamp()}) == 3


def test_presence_lists_the_others_with_typing_and_forgets_who_left():
    ticket_id = 7
    agent, supervisor, warehouse = make_user("agent"), make_user("supervisor"), make_user("department_staff")
    agent.first_name, agent.last_name = "芳", "王"  # get_full_name: "芳 王"
    t0 = 1_000_000.0
    presence_touch(ticket_id=ticket_id, user=agent, typing=True, now=t0)
    presence_touch(ticket_id=ticket_id, user=supervisor, typing=False, now=t0 + 1)
    presence_touch(ticket_id=ticket_id, user=warehouse, typing=False, now=t0 - PRESENCE_SECONDS - 1)  # long gone

    seen_by_supervisor = presence_others(ticket_id=ticket_id, user=supervisor, now=t0 + 2)
    assert seen_by_supervisor == [{"name": "芳 王", "typing": True}]
    assert presence_others(ticket_id=ticket_id, user=agent, now=t0 + 2) == [
        {"name": supervisor.username, "typing": False}]
    assert presence_others(ticket_id=ticket_id, user=supervisor, now=t0 + 10) == [
        {"name": "芳 王", "typing": False}]  # stopped typing six seconds ago


def _poll(client, **data):
    return client.post("/live/", {key: value for key, value in data.items() if value is not None})


def test_two_people_on_one_ticket_see_each_other_and_the_change(client, order, people):  # noqa: F811
    agent, supervisor = people["agent"], people["supervisor"]
    ticket = working_ticket(order, agent)
    first = stamp(ticket)
    client.force_login(agent)
    assert _poll(client, ticket=ticket.pk, stamp=first, typing="on", seen_message=0).json()["presence"] == []

    client.force_login(supervisor)
    answer = _poll(client, ticket=ticket.pk, stamp=first, seen_message=0).json()
    assert answer["presence"] == [{"name": agent.username, "typing": True}]
    assert answer["stamp"] == first and "replied" not in answer

    services.message_add(ticket=ticket, actor=supervisor, direction="outbound", body="您好，已为您补寄")
    client.force_login(agent)
    answer = _poll(client, ticket=ticket.pk, stamp=first, seen_message=0).json()
    assert answer["stamp"] != first
    assert answer["replied"] == [supervisor.username]  # the agent's composer warns before sending


def test_a_poll_is_a_constant_handful_of_queries_and_writes_nothing(client, order, people,  # noqa: F811
                                                                    django_assert_num_queries):
    ticket = working_ticket(order, people["agent"])
    client.force_login(people["agent"])
    _poll(client, ticket=ticket.pk, stamp="", seen_message=0)  # the session and roles warm
    # session, user, roles, unread count, the ticket's stamp (with the access check), replies since the page
    with django_assert_num_queries(6) as queries:
        assert _poll(client, ticket=ticket.pk, stamp="x", seen_message=0).status_code == 200
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for q in queries.captured_queries)
    with django_assert_num_queries(5):  # a list page: session, user, roles, unread, the desk's stamp
        assert "stamp" in _poll(client, stamp="1-1").json()


def test_a_poll_sees_only_what_its_person_may_see(client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    client.force_login(people["warehouse"])  # no subtask of the warehouse on this ticket
    assert _poll(client, ticket=ticket.pk, stamp="").status_code == 404
    assert presence_others(ticket_id=ticket.pk, user=people["agent"]) == []  # and left no trace
    client.force_login(make_user("department_staff"))  # of no department yet: may see no ticket at all
    assert _poll(client, ticket=ticket.pk, stamp="").status_code == 404
    assert ticket_stamps(Ticket.objects.none()) == {}
    client.force_login(people["agent"])
    response = _poll(client, ticket="abc", stamp="")
    assert response.status_code == 400 and "ticket" in response.json()["errors"]
    client.logout()
    assert _poll(client, ticket=ticket.pk).status_code == 302  # to the login page


def test_a_page_shown_after_a_refused_save_fetches_its_own_address_again(client, order, people):  # noqa: F811
    agent = people["agent"]
    ticket = working_ticket(order, agent)
    client.force_login(agent)
    stale = ticket.version
    services.message_add(ticket=ticket, actor=people["supervisor"], direction="note", body="主管备注")
    Ticket.objects.filter(pk=ticket.pk).update(version=stale + 1)  # someone else saved meanwhile

    ticket.refresh_from_db()
    response = client.post(f"/tickets/{ticket.pk}/classify/", {
        "type": ticket.type, "category": ticket.category, "responsibility": ticket.responsibility,
        "symptom": "不加热", "version": stale})

    assert response.status_code == 409  # the page again, at the form's POST-only address
    assert f'data-live-page="/tickets/{ticket.pk}/"' in response.content.decode()
