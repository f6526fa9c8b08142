"""What the ticket page suggests (similar articles, reply templates), the search filters and the
FAQ's grouping; query counts pinned."""

import pytest

from tests.factories import CustomerFactory, TicketFactory
from tests.knowledge.conftest import make_article
from tickets.knowledge.selectors import (
    articles_search,
    articles_similar_to,
    faq_by_category,
    reply_templates_similar_to,
)
from tickets.models import ReplyTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def zipper_ticket():
    return TicketFactory(
        customer=CustomerFactory(), description="羽绒服的拉链拉不上，拉链头掉了，想退货退款", symptom="拉链头脱落",
        type="return_refund", category="product_quality",
    )


def test_similar_articles_put_the_same_category_and_type_first_then_the_most_keywords(
    agent, zipper_ticket, django_assert_num_queries
):
    # Given: articles of the same kind, of the same category only, of another kind, and not to be shown.
    same_kind_few = make_article(agent, title="退货流程", body="质量问题可以退货退款。", category="product_quality",
                                 ticket_type="return_refund")
    same_kind_many = make_article(agent, title="拉链头脱落怎么办", body="拉链头掉了多半是拉链批次问题，退货退款。",
                                  category="product_quality", ticket_type="return_refund")
    same_category = make_article(agent, title="羽绒服拉链", body="拉链拉不上时先检查拉链头。",
                                 category="product_quality", ticket_type="repair")
    other_kind = make_article(agent, title="拉链头掉了", body="拉链问题请联系客服。", category="logistics")
    make_article(agent, title="拉链头掉了（草稿）", body="拉链头", category="product_quality",
                 ticket_type="return_refund", publish=False)
    make_article(agent, title="Zipper", body="拉链头掉了", category="product_quality", ticket_type="return_refund",
                 language="en")
    make_article(agent, title="发货时间", body="双十一订单48小时内发货。", category="logistics")

    with django_assert_num_queries(1):
        similar = articles_similar_to(ticket=zipper_ticket, language="zh-hans")

    assert similar == [same_kind_many, same_kind_few, same_category, other_kind]
    assert similar[0].excerpt.startswith("拉链头掉了")


def test_similar_articles_respect_the_limit(agent, zipper_ticket):
    for n in range(4):
        make_article(agent, title=f"拉链{n}", body="拉链头掉了", category="product_quality")

    assert len(articles_similar_to(ticket=zipper_ticket, language="zh-hans", limit=2)) == 2


def test_a_ticket_with_nothing_to_go_on_gets_no_suggestion_and_no_query(agent, django_assert_num_queries):
    make_article(agent, title="拉链", body="拉链")
    ticket = TicketFactory(customer=CustomerFactory(), description="，。", type="", category="")

    with django_assert_num_queries(0):
        assert articles_similar_to(ticket=ticket, language="zh-hans") == []


def test_reply_templates_of_the_language_and_kind_ranked_by_shared_keywords(zipper_ticket, django_assert_num_queries):
    ReplyTemplate.objects.all().delete()  # the migrations' default templates are not part of this case
    general = ReplyTemplate.objects.create(name="通用致歉", body="非常抱歉给您带来不便。")
    zipper = ReplyTemplate.objects.create(name="拉链问题", body="拉链头脱落属于质量问题，支持退货退款。",
                                          ticket_type="return_refund", category="product_quality")
    refund = ReplyTemplate.objects.create(name="退款说明", body="退款原路退回。", ticket_type="return_refund")
    ReplyTemplate.objects.create(name="维修说明", body="拉链头可以维修。", ticket_type="repair")  # another type
    ReplyTemplate.objects.create(name="Zipper", body="拉链头", language="en")  # another language
    ReplyTemplate.objects.create(name="停用的拉链模板", body="拉链头", is_active=False)

    with django_assert_num_queries(1):
        templates = reply_templates_similar_to(ticket=zipper_ticket, language="zh-hans")

    assert templates == [zipper, refund, general]


def test_search_filters_by_language_category_and_faq(agent):
    faq = make_article(agent, title="退款FAQ", body="退款", category="price", is_faq=True)
    make_article(agent, title="退款内部", body="退款", category="price")
    make_article(agent, title="Refund", body="退款", category="price", is_faq=True, language="en")
    make_article(agent, title="退款物流", body="退款", category="logistics", is_faq=True)

    found = articles_search(query="退款", language="zh-hans", category="price", faq_only=True)

    assert list(found) == [faq]


def test_faq_groups_follow_the_category_order_and_leave_internal_articles_out(agent):
    shipping = make_article(agent, title="发货时间", body="48小时内发货", category="logistics", is_faq=True)
    quality = make_article(agent, title="质量问题", body="寄回检测", category="product_quality", is_faq=True)
    general = make_article(agent, title="联系我们", body="在线客服", is_faq=True)
    make_article(agent, title="内部案例", body="内部", category="logistics")
    make_article(agent, title="Shipping", body="48 hours", category="logistics", is_faq=True, language="en")

    groups = faq_by_category(language="zh-hans")

    assert [(category, articles) for category, _label, articles in groups] == [
        ("product_quality", [quality]), ("logistics", [shipping]), ("", [general]),
    ]
