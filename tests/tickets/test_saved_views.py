"""Saved views of the queue (tickets/expert): a tab, filters, sort and search saved under a name, personal or
(supervisors only) shared; shown on the queue with their counts; renamed and deleted by whoever manages them."""

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests.factories import TicketFactory, make_user
from tickets.expert.forms import SavedViewForm, normalise_view_query
from tickets.expert.models import SavedView
from tickets.expert.selectors import SAVED_VIEWS_SHOWN, saved_views_for_queue
from tickets.expert.services import saved_view_create
from tickets.models import Priority, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def test_the_query_is_normalised_in_a_fixed_order_without_empty_values_or_the_page():
    assert normalise_view_query("?status=new&queue=open&q=+&page=3&priority=P1&priority=P2") == \
        "priority=P1&priority=P2&queue=open&status=new"


@pytest.mark.parametrize("query", ["queue=mine&colour=red", "queue=nowhere", "status=teleported",
                                   "created_after=yesterday", "ordering=password"])
def test_unknown_parameters_and_values_are_a_form_error(query):
    form = SavedViewForm({"name": "x", "query": query})

    assert not form.is_valid()
    assert "query" in form.errors


def test_an_agent_saves_a_view_from_the_queue_and_sees_it_with_its_count(client):
    agent = make_user("agent")
    TicketFactory(status=Status.IN_PROGRESS, priority=Priority.P1, assignee=agent)
    TicketFactory(status=Status.IN_PROGRESS, priority=Priority.P3, assignee=agent)
    client.force_login(agent)

    response = client.post(reverse("tickets:saved_view_create"),
                           {"name": "我的加急", "query": "queue=mine&priority=P1&page=2", "next": "/?queue=mine"})

    assert response.status_code == 302
    view = SavedView.objects.get(owner=agent)
    assert (view.name, view.query, view.shared) == ("我的加急", "priority=P1&queue=mine", False)
    page = client.get("/?queue=mine").content.decode()
    assert f'data-view="{view.pk}"' in page
    assert "我的加急" in page and '<span class="count">1</span>' in page


def test_a_bad_query_saves_nothing_and_says_why(client):
    client.force_login(make_user("agent"))

    response = client.post(reverse("tickets:saved_view_create"), {"name": "坏的", "query": "queue=mine&evil=1"},
                           follow=True)

    assert not SavedView.objects.exists()
    assert any("evil" in str(m) for m in response.context["messages"])


def test_only_supervisors_share_views():
    with pytest.raises(PermissionDenied):
        saved_view_create(owner=make_user("agent"), name="大家的", query="queue=open", shared=True)
    shared = saved_view_create(owner=make_user("supervisor"), name="大家的", query="queue=open", shared=True)

    other = make_user("agent")
    assert [item["view"] for item in saved_views_for_queue(user=other, visible=Ticket.objects.all())] == [shared]


def test_an_agent_posting_shared_gets_a_refusal_and_no_view(client):
    client.force_login(make_user("agent"))

    client.post(reverse("tickets:saved_view_create"), {"name": "偷偷共享", "query": "queue=open", "shared": "on"})

    assert not SavedView.objects.exists()


def test_a_name_is_once_per_person():
    agent = make_user("agent")
    saved_view_create(owner=agent, name="加急", query="queue=mine")

    with pytest.raises(ValidationError):
        saved_view_create(owner=agent, name="加急", query="queue=open")
    assert SavedView.objects.count() == 1


def test_personal_views_are_private_and_counts_are_the_viewers_own():
    first, second = make_user("agent"), make_user("agent")
    TicketFactory(status=Status.IN_PROGRESS, assignee=first)
    saved_view_create(owner=first, name="我的", query="queue=mine")
    shared = saved_view_create(owner=make_user("supervisor"), name="我的(共享)", query="queue=mine", shared=True)

    everything = Ticket.objects.all()
    mine = {item["view"].name: item["count"] for item in saved_views_for_queue(user=first, visible=everything)}
    theirs = saved_views_for_queue(user=second, visible=everything)

    assert mine == {"我的": 1, "我的(共享)": 1}
    assert [(item["view"], item["count"]) for item in theirs] == [(shared, 0)]  # "mine" is the viewer's


def test_counts_are_cached_for_a_while_and_the_list_is_capped(django_assert_num_queries):
    agent = make_user("agent")
    for n in range(SAVED_VIEWS_SHOWN + 3):
        saved_view_create(owner=agent, name=f"视图{n:02d}", query=f"queue=open&q={n}")
    visible = Ticket.objects.all()

    assert len(saved_views_for_queue(user=agent, visible=visible)) == SAVED_VIEWS_SHOWN
    with django_assert_num_queries(1):  # the list; the counts come from the cache
        saved_views_for_queue(user=agent, visible=visible)


def test_owners_rename_and_delete_their_views_others_may_not(client):
    owner, other = make_user("agent"), make_user("agent")
    view = saved_view_create(owner=owner, name="旧名", query="queue=mine")

    client.force_login(other)
    assert client.post(reverse("tickets:saved_view_rename", args=[view.pk]), {"name": "抢来的"}).status_code == 404
    assert client.post(reverse("tickets:saved_view_delete", args=[view.pk])).status_code == 404

    client.force_login(owner)
    client.post(reverse("tickets:saved_view_rename", args=[view.pk]), {"name": "新名"})
    assert SavedView.objects.get(pk=view.pk).name == "新名"
    client.post(reverse("tickets:saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_agents_see_shared_views_and_only_supervisors_manage_them(client):
    view = saved_view_create(owner=make_user("supervisor"), name="全组加急", query="queue=open&priority=P1",
                             shared=True)

    client.force_login(make_user("agent"))
    assert client.post(reverse("tickets:saved_view_delete", args=[view.pk])).status_code == 403

    client.force_login(make_user("supervisor"))
    client.post(reverse("tickets:saved_view_rename", args=[view.pk]), {"name": "全组P1"})
    assert SavedView.objects.get(pk=view.pk).name == "全组P1"
    client.post(reverse("tickets:saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_department_staff_have_no_saved_views(client):
    client.force_login(make_user("department_staff", department="warehouse"))

    assert client.post(reverse("tickets:saved_view_create"), {"name": "x", "query": "queue=open"}).status_code == 403
    assert not SavedView.objects.exists()
