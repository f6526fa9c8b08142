"""Chinese search (tickets/knowledge/search.py): jieba cuts the words, PostgreSQL's 'simple' text
search (GIN index article_search_idx) or SQLite's substring match finds them."""

import pytest
from django.db import connection

from aftersales.words import on_postgresql, query_words, search_words
from tests.knowledge.conftest import make_article
from tickets.knowledge.selectors import articles_search


def test_search_words_cut_chinese_lower_case_latin_and_drop_punctuation():
    assert search_words("顾客申请退款，iPhone15 Refund！") == ["顾客", "申请", "退款", "iphone15", "refund"]


def test_domain_words_stay_whole():
    assert "双十一" in search_words("双十一订单什么时候发货？")
    assert {"价保", "退差"} <= set(search_words("价保退差"))


def test_query_words_are_distinct():
    assert query_words("退款 退款 申请退款") == ["退款", "申请"]


@pytest.mark.django_db
def test_a_two_character_word_is_found_inside_a_longer_sentence(agent):
    """On SQLite and on PostgreSQL alike (the suite runs on both)."""
    refund = make_article(agent, title="售后说明", body="顾客收到货后想申请退款，但是商家一直没处理，怎么办？")
    other = make_article(agent, title="发货时间", body="双十一订单付款后48小时内发货。")

    found = list(articles_search(query="退款"))

    assert found == [refund]
    assert other not in found


@pytest.mark.django_db
def test_every_word_of_the_query_must_appear(agent):
    both = make_article(agent, title="退款到账", body="退款原路退回，1-3个工作日到账。")
    make_article(agent, title="退款", body="申请退款请联系客服。")

    assert list(articles_search(query="退款 到账")) == [both]


@pytest.mark.django_db
def test_latin_words_match_whatever_their_case(agent):
    article = make_article(agent, title="Refund time", body="Refunds reach the original account.", language="en")

    assert list(articles_search(query="REFUND time")) == [article]


@pytest.mark.django_db
def test_tag_names_are_searchable(agent):
    article = make_article(agent, title="说明", body="正文", tags=["价保"])

    assert list(articles_search(query="价保")) == [article]


@pytest.mark.django_db
def test_drafts_are_found_only_when_asked_for(agent):
    draft = make_article(agent, title="退款草稿", body="退款", publish=False)

    assert list(articles_search(query="退款")) == []
    assert list(articles_search(query="退款", published_only=False)) == [draft]


@pytest.mark.django_db
def test_a_query_without_words_does_not_filter(agent):
    article = make_article(agent)

    assert list(articles_search(query="，。！")) == [article]


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_ranks_the_closer_match_first(agent):
    assert on_postgresql()
    passing = make_article(agent, title="发货说明", body="如需退款请联系客服。")
    focused = make_article(agent, title="退款说明", body="退款：申请退款后，退款原路退回。")

    assert list(articles_search(query="退款")) == [focused, passing]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_search_query_is_served_by_the_gin_index(agent):
    for n in range(3):
        make_article(agent, title=f"退款说明{n}", body="申请退款后原路退回。", publish=n != 0)
    # The staff list's own query: every status, every language (with filters on a table this small the
    # planner may prefer the status/language b-tree instead, which is its call to make).
    queryset = articles_search(query="申请退款", published_only=False)
    with connection.cursor() as cursor:
        # With sequential scans priced out, a plan that can use the index must name it.
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = queryset.explain()
        finally:
            cursor.execute("RESET enable_seqscan")

    assert "article_search_idx" in plan, plan
    assert len(queryset) == 3
