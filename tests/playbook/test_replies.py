import pytest

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tickets import services
from tickets.models import ReplyTemplate
from tickets.replies import render_reply, reply_placeholders, templates_for

pytestmark = pytest.mark.django_db


def test_placeholders_are_filled_from_the_ticket_and_unknown_ones_stay_as_typed():
    agent = make_user("agent", username="tpl_agent")
    order = OrderFactory(customer=CustomerFactory(name="王芳"), external_number="TB123")
    item = OrderItemFactory(order=order, product__name="羽绒服")
    ticket = services.ticket_create(
        actor=agent,
        channel="chat",
        description="尺码不对",
        order=order,
        affected_items=[item],
        type="exchange",
        category="wrong_or_missing_item",
    )
    text = render_reply(
        "{customer_name}您好，订单{order_number}的{product}；{unknown}；{customer_name.__class__}",
        reply_placeholders(ticket, agent),
    )
    assert text == "王芳您好，订单TB123的羽绒服；{unknown}；{customer_name.__class__}"


def test_templates_match_language_type_and_category_with_specific_ones_first():
    agent = make_user("agent", username="tpl_agent2")
    ticket = services.ticket_create(
        actor=agent,
        channel="chat",
        description="发错尺码",
        customer=CustomerFactory(),
        type="exchange",
        category="wrong_or_missing_item",
    )
    names = [t.name for t in templates_for(ticket, "zh-hans")]
    assert names[0] == "尺码错发换货"  # exchange + wrong item: the specific one first
    assert "请补充凭证" in names and "价保退差" not in names
    assert all(t.language == "en" for t in templates_for(ticket, "en"))
    assert (
        ReplyTemplate.objects.filter(language="en").count() == ReplyTemplate.objects.filter(language="zh-hans").count()
    )
