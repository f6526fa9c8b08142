"""The case library's pages through django.test.Client: who gets each page and who is refused, the
search box, writing and publishing, drafts from a case, the public FAQ in the visitor's language,
and the suggestions partial for the ticket page."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CustomerFactory, TicketFactory, UserFactory
from tests.knowledge.conftest import NAME, ORDER_NUMBER, PHONE, make_article
from tickets.knowledge.models import KnowledgeArticle
from tickets.knowledge.views import ticket_suggestions_context
from tickets.models import ReplyTemplate, Status

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _redirected_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == reverse("login")


@pytest.fixture
def library(agent):
    """A published FAQ article in each language, a published internal one and a draft."""
    return {
        "faq_zh": make_article(agent, title="如何申请退款", body="在订单页申请退款，48小时内处理。", is_faq=True,
                               category="other"),
        "faq_en": make_article(agent, title="How to get a refund", body="Ask for a refund on the order page.",
                               language="en", is_faq=True, category="other"),
        "internal": make_article(agent, title="内部案例：退款争议", body="顾客坚持退款，主管审批。"),
        "draft": make_article(agent, title="退款草稿", body="还没写完的退款说明", publish=False, is_faq=True),
    }


# Staff list and search ---------------------------------------------------------------------------------


def test_agents_see_every_article_and_department_staff_only_published_ones(agent, warehouse_staff, library):
    agent_page = _client(agent).get(reverse("tickets:kb")).content.decode()
    staff_page = _client(warehouse_staff).get(reverse("tickets:kb")).content.decode()

    assert all(article.title in agent_page for article in library.values())
    assert library["internal"].title in staff_page and library["faq_zh"].title in staff_page
    assert library["draft"].title not in staff_page


def test_the_list_is_for_the_desk_only(library):
    assert _redirected_to_login(_client().get(reverse("tickets:kb")))
    assert _client(UserFactory()).get(reverse("tickets:kb")).status_code == 403  # logged in, no desk role


def test_the_search_box_finds_a_word_inside_a_sentence(agent, library):
    make_article(agent, title="发货时间", body="双十一订单付款后48小时内发货。")

    page = _client(agent).get(reverse("tickets:kb"), {"q": "发货"}).content.decode()

    assert "发货时间" in page and library["faq_zh"].title not in page


def test_the_filters_narrow_the_list(agent, library):
    page = _client(agent).get(reverse("tickets:kb"), {"language": "en"}).content.decode()
    drafts = _client(agent).get(reverse("tickets:kb"), {"status": "draft"}).content.decode()

    assert library["faq_en"].title in page and library["faq_zh"].title not in page
    assert library["draft"].title in drafts and library["internal"].title not in drafts


def test_the_list_runs_the_same_queries_for_3_and_for_30_articles(agent):
    client = _client(agent)
    url = reverse("tickets:kb")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    for n in range(3):
        make_article(agent, title=f"文章{n}", body="正文", tags=[f"标签{n}", "共同"])
    client.get(url)  # warm the session and content types
    few = count()
    for n in range(3, 30):
        make_article(agent, title=f"文章{n}", body="正文", tags=[f"标签{n}", "共同"])
    many = count()

    assert few == many
    assert many <= 12, many


# Reading, writing, publishing -----------------------------------------------------------------------


def test_department_staff_read_a_published_article_but_not_a_draft(warehouse_staff, library):
    client = _client(warehouse_staff)

    assert client.get(reverse("tickets:kb_detail", args=[library["internal"].pk])).status_code == 200
    assert client.get(reverse("tickets:kb_detail", args=[library["draft"].pk])).status_code == 404


def test_an_agent_writes_a_draft(agent):
    response = _client(agent).post(reverse("tickets:kb_new"), {
        "title": "破损包裹处理", "body": "签收后48小时内拍照联系客服，申请补发。", "language": "zh-hans",
        "category": "logistics", "ticket_type": "", "tags": "破损，补发", "is_faq": "on",
    })

    article = KnowledgeArticle.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tickets:kb_detail", args=[article.pk])
    assert article.status == KnowledgeArticle.Status.DRAFT and article.is_faq and article.author == agent
    assert sorted(article.tags.values_list("name", flat=True)) == ["破损", "补发"]
    assert "补发" in article.search_text.split()


def test_a_draft_without_a_title_is_shown_again_with_the_error(agent):
    response = _client(agent).post(reverse("tickets:kb_new"), {"title": "", "body": "正文", "language": "zh-hans"})

    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert not KnowledgeArticle.objects.exists()


def test_department_staff_may_not_write(warehouse_staff, library):
    client = _client(warehouse_staff)
    published = library["internal"]

    assert client.get(reverse("tickets:kb_new")).status_code == 403
    assert client.post(reverse("tickets:kb_new"), {"title": "x", "body": "y", "language": "en"}).status_code == 403
    assert client.post(reverse("tickets:kb_edit", args=[published.pk]),
                       {"title": "改", "body": "改", "language": "zh-hans"}).status_code == 403
    assert client.post(reverse("tickets:kb_publish", args=[published.pk]), {"action": "unpublish"}).status_code == 403
    published.refresh_from_db()
    assert published.title == "内部案例：退款争议" and published.status == KnowledgeArticle.Status.PUBLISHED
    assert not KnowledgeArticle.objects.filter(title="x").exists()


def test_an_agent_edits_an_article_and_its_search_words_follow(agent, library):
    article = library["internal"]

    response = _client(agent).post(reverse("tickets:kb_edit", args=[article.pk]), {
        "title": "内部案例：价保争议", "body": "顾客要求价保退差。", "language": "zh-hans", "tags": "",
    })

    article.refresh_from_db()
    assert response.status_code == 302
    assert article.title == "内部案例：价保争议"
    assert "价保" in article.search_text.split() and "退款" not in article.search_text.split()


def test_the_publish_toggle(senior, library):
    client = _client(senior)
    draft = library["draft"]
    url = reverse("tickets:kb_publish", args=[draft.pk])

    client.post(url, {"action": "publish"})
    draft.refresh_from_db()
    assert draft.status == KnowledgeArticle.Status.PUBLISHED

    client.post(url, {"action": "unpublish"})
    draft.refresh_from_db()
    assert draft.status == KnowledgeArticle.Status.DRAFT
    assert client.get(url).status_code == 405  # POST only


# Draft from a finished case ----------------------------------------------------------------------------


def test_an_agent_drafts_an_article_from_a_closed_case(agent, finished_case):
    ticket = finished_case()

    response = _client(agent).post(reverse("tickets:kb_from_ticket", args=[ticket.pk]), {"language": "zh-hans"})

    article = KnowledgeArticle.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tickets:kb_edit", args=[article.pk])
    assert article.source_ticket == ticket
    assert NAME not in article.body and PHONE not in article.body and ORDER_NUMBER not in article.body
    edit_page = _client(agent).get(response["Location"]).content.decode()
    assert 'id="kb-review-note"' in edit_page


def test_a_case_still_open_is_refused_with_a_message(agent, finished_case):
    ticket = finished_case(status=Status.IN_PROGRESS)

    response = _client(agent).post(reverse("tickets:kb_from_ticket", args=[ticket.pk]), follow=False)

    assert response.status_code == 302 and response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages and "closed or archived" in messages[0]
    assert not KnowledgeArticle.objects.exists()


def test_drafting_from_a_case_is_refused_to_department_staff_and_strangers(warehouse_staff, finished_case):
    ticket = finished_case()
    url = reverse("tickets:kb_from_ticket", args=[ticket.pk])

    assert _client(warehouse_staff).post(url).status_code == 403
    assert _redirected_to_login(_client().post(url))
    assert not KnowledgeArticle.objects.exists()


# Public FAQ ----------------------------------------------------------------------------------------------


def test_the_faq_is_public_and_shows_only_published_faq_articles(library):
    response = _client().get(reverse("tickets:faq"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    page = response.content.decode()
    assert response.status_code == 200
    assert library["faq_zh"].title in page
    assert library["internal"].title not in page and library["draft"].title not in page
    assert 'id="faq-language"' in page


def test_the_faq_speaks_the_visitors_language(library):
    english = _client().get(reverse("tickets:faq"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = _client().get(reverse("tickets:faq"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    cookie = _client()
    cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    by_cookie = cookie.get(reverse("tickets:faq"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert library["faq_en"].title in english and library["faq_zh"].title not in english
    assert library["faq_zh"].title in chinese and library["faq_en"].title not in chinese
    assert library["faq_en"].title in by_cookie


def test_the_faq_search(agent, library):
    shipping = make_article(agent, title="双十一什么时候发货", body="付款后48小时内发货。", is_faq=True)

    page = _client().get(reverse("tickets:faq"), {"q": "发货"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert shipping.title in page and library["faq_zh"].title not in page


def test_a_faq_article_is_public_but_drafts_internal_articles_and_unknown_ids_are_not_found(library):
    client = _client()

    page = client.get(reverse("tickets:faq_article", args=[library["faq_zh"].pk]))
    assert page.status_code == 200 and library["faq_zh"].body in page.content.decode()
    assert client.get(reverse("tickets:faq_article", args=[library["draft"].pk])).status_code == 404
    assert client.get(reverse("tickets:faq_article", args=[library["internal"].pk])).status_code == 404
    assert client.get(reverse("tickets:faq_article", args=[999999])).status_code == 404


# The ticket page's suggestions partial --------------------------------------------------------------------


def test_the_suggestions_partial_links_articles_and_inserts_templates(agent, warehouse_staff):
    article = make_article(agent, title="拉链头脱落怎么办", body="拉链头掉了，支持退货退款。" * 10,
                           category="product_quality", ticket_type="return_refund")
    ReplyTemplate.objects.create(name="拉链问题回复", body="您好{customer_name}，拉链头脱落属于质量问题。",
                                 ticket_type="return_refund", category="product_quality")
    ticket = TicketFactory(customer=CustomerFactory(name="李雷"), description="拉链头掉了", type="return_refund",
                           category="product_quality")

    html = render_to_string("knowledge/partials/_suggested.html", ticket_suggestions_context(
        ticket=ticket, user=agent, language="zh-hans", editable=True))
    read_only = ticket_suggestions_context(ticket=ticket, user=warehouse_staff, language="zh-hans", editable=False)

    assert reverse("tickets:kb_detail", args=[article.pk]) in html
    assert 'class="link kb-insert" data-body="您好李雷，拉链头脱落属于质量问题。"' in html
    assert "reply-body" in html
    assert read_only["suggested_templates"] == [] and read_only["suggested_articles"] == [article]
    assert not read_only["can_draft_article"]  # an open ticket


def test_the_partial_offers_a_draft_only_on_a_finished_case_to_those_who_write(agent, warehouse_staff, finished_case):
    closed = finished_case()
    still_open = TicketFactory(customer=CustomerFactory(), description="拉链头掉了")

    def offered(ticket, user) -> bool:
        context = ticket_suggestions_context(ticket=ticket, user=user, language="zh-hans", editable=False)
        html = render_to_string("knowledge/partials/_suggested.html", {**context, "ticket": ticket})
        assert context["can_draft_article"] == ('id="kb-draft-form"' in html)
        return context["can_draft_article"]

    assert offered(closed, agent)
    assert not offered(closed, warehouse_staff)
    assert not offered(still_open, agent)
