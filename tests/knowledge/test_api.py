"""/api/v1/articles/: search and filters, writing, publishing, drafts from a case, and refusals
(401 anonymous, 403 not allowed, 404 not visible, 400 with field messages)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.knowledge.conftest import NAME, ORDER_NUMBER, PHONE, make_article
from tickets.knowledge.models import KnowledgeArticle
from tickets.models import Status

pytestmark = pytest.mark.django_db

LIST = "/api/v1/articles/"


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def library(agent):
    return {
        "faq": make_article(agent, title="如何申请退款", body="在订单页申请退款。", is_faq=True, category="other",
                            ticket_type="return_refund", tags=["退款"]),
        "internal": make_article(agent, title="价保争议案例", body="价保退差。", category="price"),
        "english": make_article(agent, title="Refund time", body="Refunds take 1-3 days.", language="en",
                                is_faq=True),
        "draft": make_article(agent, title="退款草稿", body="退款", publish=False),
    }


# Reading ----------------------------------------------------------------------------------------------


def test_anonymous_callers_are_asked_to_authenticate(library):
    assert _api().get(LIST).status_code == 401
    assert _api().get(f"{LIST}{library['faq'].pk}/").status_code == 401
    assert _api().post(LIST, {"title": "x", "body": "y", "language": "en"}, format="json").status_code == 401


def test_the_list_searches_and_filters(agent, library):
    api = _api(agent)

    assert sorted(_titles(api.get(LIST))) == sorted(a.title for a in library.values())
    assert sorted(_titles(api.get(LIST, {"q": "退款"}))) == ["如何申请退款", "退款草稿"]
    assert _titles(api.get(LIST, {"category": "price"})) == ["价保争议案例"]
    assert _titles(api.get(LIST, {"language": "en"})) == ["Refund time"]
    assert sorted(_titles(api.get(LIST, {"faq": "true"}))) == ["Refund time", "如何申请退款"]
    assert _titles(api.get(LIST, {"status": "draft"})) == ["退款草稿"]


def test_a_bad_filter_answers_400_with_the_field(agent, library):
    response = _api(agent).get(LIST, {"category": "nonsense"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"category"}


def test_the_article_shows_its_fields(agent, library):
    data = _api(agent).get(f"{LIST}{library['faq'].pk}/").json()

    assert data["title"] == "如何申请退款" and data["status"] == "published" and data["is_faq"] is True
    assert data["type"] == "return_refund" and data["tags"] == ["退款"] and data["author"] == agent.username
    assert "search_text" not in data


def test_department_staff_read_published_articles_only(warehouse_staff, library):
    api = _api(warehouse_staff)

    assert "退款草稿" not in _titles(api.get(LIST)) and "价保争议案例" in _titles(api.get(LIST))
    assert api.get(f"{LIST}{library['internal'].pk}/").status_code == 200
    assert api.get(f"{LIST}{library['draft'].pk}/").status_code == 404


def test_admins_read_everything(admin_user, library):
    assert "退款草稿" in _titles(_api(admin_user).get(LIST))


def test_someone_without_a_desk_role_sees_nothing(library):
    api = _api(UserFactory())

    assert _titles(api.get(LIST)) == []
    assert api.get(f"{LIST}{library['faq'].pk}/").status_code == 404


# Writing ----------------------------------------------------------------------------------------------


def test_an_agent_creates_a_draft(agent):
    response = _api(agent).post(LIST, {
        "title": "包裹破损", "body": "签收后48小时内拍照联系客服。", "language": "zh-hans", "category": "logistics",
        "tags": ["破损"], "is_faq": True,
    }, format="json")

    assert response.status_code == 201, response.content
    article = KnowledgeArticle.objects.get(pk=response.json()["id"])
    assert article.status == KnowledgeArticle.Status.DRAFT and article.is_faq and article.author == agent
    assert "破损" in article.search_text.split()


def test_create_answers_400_with_field_messages(agent):
    response = _api(agent).post(LIST, {"body": "正文", "language": "fr", "type": "nonsense"}, format="json")

    assert response.status_code == 400
    assert {"title", "language", "type"} <= set(response.json()["errors"])
    assert not KnowledgeArticle.objects.exists()


@pytest.mark.parametrize("role", ["department_staff", "admin"])
def test_only_agents_and_supervisors_write(role, library):
    user = UserFactory(role=role)
    api = _api(user)
    article = library["internal"]

    assert api.post(LIST, {"title": "x", "body": "y", "language": "en"}, format="json").status_code == 403
    assert api.patch(f"{LIST}{article.pk}/", {"title": "改"}, format="json").status_code == 403
    assert api.post(f"{LIST}{article.pk}/unpublish/").status_code == 403
    article.refresh_from_db()
    assert article.title == "价保争议案例" and article.status == KnowledgeArticle.Status.PUBLISHED
    assert not KnowledgeArticle.objects.filter(title="x").exists()


def test_department_staff_cannot_reach_a_draft_at_all(warehouse_staff, library):
    assert _api(warehouse_staff).post(f"{LIST}{library['draft'].pk}/publish/").status_code == 404


def test_patch_changes_only_the_fields_sent(supervisor, library):
    article = library["faq"]

    response = _api(supervisor).patch(f"{LIST}{article.pk}/", {"body": "在订单页申请价保。"}, format="json")

    assert response.status_code == 200, response.content
    article.refresh_from_db()
    assert article.title == "如何申请退款" and article.is_faq
    assert list(article.tags.values_list("name", flat=True)) == ["退款"]
    assert "价保" in article.search_text.split()


def test_patch_refuses_a_blank_title(agent, library):
    response = _api(agent).patch(f"{LIST}{library['faq'].pk}/", {"title": ""}, format="json")

    assert response.status_code == 400 and "title" in response.json()["errors"]


def test_put_and_delete_are_not_offered(agent, library):
    url = f"{LIST}{library['faq'].pk}/"

    assert _api(agent).put(url, {"title": "x", "body": "y", "language": "en"}, format="json").status_code == 405
    assert _api(agent).delete(url).status_code == 405
    assert KnowledgeArticle.objects.filter(pk=library["faq"].pk).exists()


def test_publish_and_unpublish(senior, library):
    api = _api(senior)
    draft = library["draft"]

    published = api.post(f"{LIST}{draft.pk}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert published.json()["published_at"]
    unpublished = api.post(f"{LIST}{draft.pk}/unpublish/")
    assert unpublished.status_code == 200 and unpublished.json()["status"] == "draft"


# Draft from a case ------------------------------------------------------------------------------------


def test_an_agent_drafts_from_a_closed_case(agent, finished_case):
    ticket = finished_case()

    response = _api(agent).post(f"{LIST}from-ticket/", {"ticket": ticket.pk, "language": "en"}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["source_ticket"] == ticket.pk and data["status"] == "draft" and data["language"] == "en"
    assert NAME not in data["body"] and PHONE not in data["body"] and ORDER_NUMBER not in data["body"]


def test_drafting_from_an_open_case_answers_400_on_the_ticket_field(agent, finished_case):
    ticket = finished_case(status=Status.RESOLVED)

    response = _api(agent).post(f"{LIST}from-ticket/", {"ticket": ticket.pk, "language": "zh-hans"}, format="json")

    assert response.status_code == 400
    assert "closed or archived" in response.json()["errors"]["ticket"][0]
    assert not KnowledgeArticle.objects.exists()


def test_drafting_names_an_unknown_ticket_or_a_missing_language_by_field(agent):
    response = _api(agent).post(f"{LIST}from-ticket/", {"ticket": 987654}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"language"}
    response = _api(agent).post(f"{LIST}from-ticket/", {"ticket": 987654, "language": "en"}, format="json")
    assert response.status_code == 404 and set(response.json()["errors"]) == {"ticket"}


def test_department_staff_may_not_draft_from_a_case(warehouse_staff, finished_case):
    ticket = finished_case()

    response = _api(warehouse_staff).post(f"{LIST}from-ticket/", {"ticket": ticket.pk, "language": "en"},
                                          format="json")

    assert response.status_code == 403
    assert not KnowledgeArticle.objects.exists()
