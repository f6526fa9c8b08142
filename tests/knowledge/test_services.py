"""The case library's services: search_text kept on every write, publishing, and the anonymised
draft drawn from a finished case."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import make_user
from tests.knowledge.conftest import ACCOUNT, ADDRESS, EMAIL, NAME, ORDER_NUMBER, OTHER_MOBILE, PHONE, make_article
from tickets.knowledge import services
from tickets.knowledge.demo import DEMO_ARTICLES, demo_articles_load
from tickets.knowledge.models import KnowledgeArticle
from tickets.knowledge.selectors import faq_articles
from tickets.models import Status

pytestmark = pytest.mark.django_db

PII = (NAME, PHONE, "13700001111", OTHER_MOBILE, EMAIL, ADDRESS, ACCOUNT, ORDER_NUMBER)


def _words(article: KnowledgeArticle) -> set[str]:
    article.refresh_from_db()
    return set(article.search_text.split())


# search_text --------------------------------------------------------------------------------------


def test_create_cuts_title_text_and_tags_into_search_words(agent):
    article = make_article(agent, title="退款多久到账", body="仓库验货后，申请退款的钱原路退回。", tags=["Refund"],
                           publish=False)

    words = _words(article)
    assert {"退款", "到账", "仓库", "验货", "原路退回", "refund"} <= words
    assert "，" not in words and "。" not in words
    assert article.status == KnowledgeArticle.Status.DRAFT and article.published_at is None


def test_update_recuts_search_text_and_replaces_tags(agent):
    article = make_article(agent, title="破损", body="快递破损怎么办", tags=["快递"])

    services.article_update(article=article, actor=agent, body="发错货了怎么补寄", tags=["补寄"])

    words = _words(article)
    assert {"补寄", "发错"} <= words
    assert "快递" not in words  # the old text and the old tag are gone from the search words
    assert list(article.tags.values_list("name", flat=True)) == ["补寄"]


def test_update_leaves_tags_alone_when_none_are_given(agent):
    article = make_article(agent, tags=["价保"])

    services.article_update(article=article, actor=agent, title="新标题")

    article.refresh_from_db()
    assert article.title == "新标题"
    assert list(article.tags.values_list("name", flat=True)) == ["价保"]
    assert "价保" in _words(article)


def test_update_refuses_fields_that_are_not_editable(agent):
    article = make_article(agent)

    with pytest.raises(ValidationError) as refused:
        services.article_update(article=article, actor=agent, status="published", search_text="x")

    assert set(refused.value.message_dict) == {"status", "search_text"}


def test_create_refuses_an_unknown_language_and_a_blank_title(agent):
    with pytest.raises(ValidationError) as refused:
        services.article_create(author=agent, title="  ", body="正文", language="fr")

    assert {"title", "language"} <= set(refused.value.message_dict)
    assert not KnowledgeArticle.objects.exists()


# Publishing ---------------------------------------------------------------------------------------


def test_publish_and_unpublish_move_the_article_on_and_off_the_faq(agent):
    article = make_article(agent, is_faq=True, publish=False)
    assert not faq_articles().filter(pk=article.pk).exists()

    article = services.article_publish(article=article, actor=agent)
    assert article.status == KnowledgeArticle.Status.PUBLISHED and article.published_at is not None
    assert faq_articles(language="zh-hans").filter(pk=article.pk).exists()

    article = services.article_unpublish(article=article, actor=agent)
    assert article.status == KnowledgeArticle.Status.DRAFT
    assert not faq_articles().filter(pk=article.pk).exists()


def test_publishing_twice_keeps_the_first_publication_time(agent):
    article = make_article(agent)
    first = article.published_at

    again = services.article_publish(article=article, actor=agent)

    assert again.published_at == first


# Draft from a finished case -----------------------------------------------------------------------


def test_draft_from_a_closed_case_carries_its_lessons_and_none_of_the_customer(agent, finished_case, case_fields):
    ticket = finished_case()

    article = services.article_draft_from_ticket(ticket=ticket, actor=agent, language="zh-hans")

    text = f"{article.title}\n{article.body}\n{article.search_text}"
    for value in PII:
        assert value not in text, value
    assert "【原因】" in article.body and "【处理经过】" in article.body and "【有效做法】" in article.body
    assert "拉链批次质量问题" in article.body  # the lesson itself is kept
    assert "顾客" in article.body and "[订单号]" in article.body and "[手机号]" in article.body
    assert "[地址]" in article.body and "[邮箱]" in article.body and "[买家账号]" in article.body
    # type · category · product
    assert article.title.startswith("退货退款 · ") and article.title.endswith(" · 轻薄羽绒服")
    assert (article.category, article.ticket_type) == ("product_quality", "return_refund")
    assert list(article.tags.values_list("name", flat=True)) == ["拉链"]
    assert article.source_ticket == ticket and article.author == agent
    assert article.status == KnowledgeArticle.Status.DRAFT and not article.is_faq


def test_draft_in_english_uses_english_headings_and_stand_ins(agent, finished_case):
    ticket = finished_case(status=Status.ARCHIVED)

    article = services.article_draft_from_ticket(ticket=ticket, actor=agent, language="en")

    assert article.language == "en"
    assert article.title.startswith("Return and refund · Product quality")
    assert "Root cause:" in article.body and "What worked:" in article.body
    assert "the customer" in article.body and "[order number]" in article.body
    assert NAME not in article.body and PHONE not in article.body


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.RESOLVED])
def test_draft_is_refused_for_a_case_that_is_not_finished(agent, finished_case, status):
    ticket = finished_case(status=status)

    with pytest.raises(ValidationError) as refused:
        services.article_draft_from_ticket(ticket=ticket, actor=agent, language="zh-hans")

    assert "ticket" in refused.value.message_dict
    assert not KnowledgeArticle.objects.exists()


def test_draft_is_refused_for_a_closed_case_without_its_summary(agent, finished_case):
    ticket = finished_case(summary=False)

    with pytest.raises(ValidationError) as refused:
        services.article_draft_from_ticket(ticket=ticket, actor=agent, language="zh-hans")

    assert "summary" in refused.value.message_dict["ticket"][0]
    assert not KnowledgeArticle.objects.exists()


def test_anonymise_keeps_latin_words_that_merely_contain_the_name(agent, finished_case):
    ticket = finished_case()
    ticket.customer.name = "Li"

    text = services.anonymise("Li asked about the delivery of order 123456789012345.", ticket=ticket, language="en")

    assert text == "the customer asked about the delivery of order [order number]."


# Demo content -------------------------------------------------------------------------------------


def test_demo_articles_load_once_in_both_languages(db):
    author = make_user("supervisor", username="kb-demo")

    created = demo_articles_load(author=author)
    again = demo_articles_load(author=author)

    assert created == len(DEMO_ARTICLES) and again == 0
    assert KnowledgeArticle.objects.count() == len(DEMO_ARTICLES)
    published = KnowledgeArticle.objects.filter(status=KnowledgeArticle.Status.PUBLISHED)
    assert published.count() == len(DEMO_ARTICLES)
    assert faq_articles(language="zh-hans").count() >= 6 and faq_articles(language="en").count() >= 6
    assert published.filter(is_faq=False).count() >= 2
    assert all(article.search_text for article in published)
