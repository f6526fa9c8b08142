"""The reply-template catalogue (话术): every type and category covered in both languages, only known
placeholders, filled from the ticket, and loaded by a command a fresh install runs."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from orders.models import Order, Refund, Shipment
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, TicketFactory, make_user
from tickets.models import Category, ReplyTemplate, TicketType
from tickets.playbook.models import Solution
from tickets.replies import PLACEHOLDERS, placeholders_in, render_reply, reply_placeholders, templates_for
from tickets.reply_catalog import CATALOG, reply_catalog_load

pytestmark = pytest.mark.django_db
LANGUAGES = ("zh-hans", "en")


@pytest.fixture
def catalog():
    reply_catalog_load()


@pytest.fixture
def agent(db):
    user = make_user("agent", username="words_agent")
    user.first_name, user.last_name = "小", "李"
    user.save()
    return user


@pytest.fixture
def exchange_ticket(db):
    customer = CustomerFactory(name="王小明")
    order = OrderFactory(customer=customer, external_number="TB202411110001", tracking_number="SF1234567890",
                         carrier="顺丰", logistics_status=Order.LogisticsStatus.AWAITING_PICKUP)
    item = OrderItemFactory(order=order, product=ProductFactory(name="羽绒服 L"))
    ticket = TicketFactory(customer=customer, order=order, type=TicketType.EXCHANGE,
                           category=Category.WRONG_OR_MISSING_ITEM, number="T-2024-000123")
    ticket.affected_items.add(item)
    Solution.objects.create(ticket=ticket, kind=Solution.Kind.EXCHANGE, return_required=True,
                            customer_sends_back="L码羽绒服", expected_days=5, status=Solution.Status.CONFIRMED)
    Solution.objects.create(ticket=ticket, kind=Solution.Kind.REFUND_ONLY, amount=Decimal("50"),
                            status=Solution.Status.WITHDRAWN)
    Refund.objects.create(order=order, ticket=ticket, amount=Decimal("20.00"), reason="运费", status="paid")
    Refund.objects.create(order=order, ticket=ticket, amount=Decimal("99.00"), reason="失败", status="failed")
    return ticket


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_ticket_type_has_an_active_template_in_each_language(catalog, language):
    covered = set(ReplyTemplate.objects.filter(is_active=True, language=language).values_list("ticket_type", flat=True))
    assert set(TicketType.values) <= covered


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_category_has_an_active_template_in_each_language(catalog, language):
    covered = set(ReplyTemplate.objects.filter(is_active=True, language=language).values_list("category", flat=True))
    assert set(Category.values) <= covered


def test_each_catalogue_entry_comes_in_both_languages_with_the_same_placeholders():
    names = [name for zh, en, *_ in CATALOG for name in (zh, en)]
    assert len(names) == len(set(names))
    for zh_name, _en, ticket_type, category, zh, en in CATALOG:
        assert ticket_type in ("", *TicketType.values) and category in ("", *Category.values), zh_name
        # "亲" is how a Chinese shop greets; the English greets by name. Every fact is in both.
        assert placeholders_in(zh) - {"customer_name"} == placeholders_in(en) - {"customer_name"}, zh_name


def test_every_template_uses_only_known_placeholders(catalog):
    for template in ReplyTemplate.objects.all():  # the catalogue and the defaults of migration 0002
        assert placeholders_in(template.body) <= set(PLACEHOLDERS), template.name


def test_the_reship_wording_tells_a_missing_item_from_a_wrong_one(catalog):
    reships = dict(ReplyTemplate.objects.filter(ticket_type="reship", language="zh-hans").values_list("name", "body"))
    assert "漏发" in reships["漏发补寄"] and "补寄" in reships["漏发补寄"] and "错发" not in reships["漏发补寄"]
    assert "发错" in reships["错发补发"] and "寄回" in reships["错发补发"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_rendering_fills_every_placeholder(catalog, exchange_ticket, agent, language):
    with translation.override(language):
        values = reply_placeholders(exchange_ticket, agent)
    assert all(values[name] for name in PLACEHOLDERS), values
    for template in ReplyTemplate.objects.filter(language=language):
        assert "{" not in render_reply(template.body, values), template.name


def test_the_size_exchange_template_reads_filled_in_for_the_ticket(catalog, exchange_ticket, agent):
    with translation.override("zh-hans"):
        names = [t.name for t in templates_for(exchange_ticket, "zh-hans")]
        body = ReplyTemplate.objects.get(name="换码").body
        text = render_reply(body, reply_placeholders(exchange_ticket, agent))
    assert names.index("换码") < names.index("方案确认（书面）")  # the type's own first, general ones after
    assert text.startswith("亲，已为您办理换码") and "{" not in text
    assert "羽绒服 L" in text and "T-2024-000123" in text and "小 李" in text
    assert "换货" in text and "L码羽绒服需寄回" in text and "预计5天左右完成" in text
    assert "¥50" not in text  # the withdrawn solution is not what was agreed


def test_refund_amount_counts_paid_refunds_and_never_failed_ones(exchange_ticket, agent):
    assert reply_placeholders(exchange_ticket, agent)["refund_amount"] == "20.00"


@pytest.mark.parametrize(("status", "tracking", "words"), [
    (Order.LogisticsStatus.NOT_SHIPPED, "", "还未发货"),
    (Order.LogisticsStatus.NOT_SHIPPED, "SF1", "仓库已发货"),  # a number, no courier scan yet
    (Order.LogisticsStatus.AWAITING_PICKUP, "SF1", "仓库已发货"),
    (Order.LogisticsStatus.COLLECTED, "SF1", "已经发货"),  # the courier has it
    (Order.LogisticsStatus.IN_TRANSIT, "SF1", "已经发货"),
    (Order.LogisticsStatus.STALLED, "SF1", "物流信息暂时没有更新"),
    (Order.LogisticsStatus.DELIVERED, "SF1", "已经签收"),
])
def test_shipping_state_says_warehouse_shipped_until_the_courier_scans(exchange_ticket, agent, status, tracking,
                                                                      words):
    Order.objects.filter(pk=exchange_ticket.order_id).update(logistics_status=status, tracking_number=tracking)
    exchange_ticket.refresh_from_db()
    exchange_ticket.order.refresh_from_db()
    with translation.override("zh-hans"):
        state = reply_placeholders(exchange_ticket, agent)["shipping_state"]
    assert words in state
    if words == "仓库已发货":
        assert "已经发货" not in state


def test_a_replacement_parcel_is_the_one_the_reply_tracks(exchange_ticket, agent):
    Shipment.objects.create(order=exchange_ticket.order, ticket=exchange_ticket, reason=Shipment.Reason.EXCHANGE,
                            carrier="中通", tracking_number="ZT777")
    values = reply_placeholders(exchange_ticket, agent)
    assert (values["courier"], values["tracking_number"]) == ("中通", "ZT777")


def test_placeholders_cost_the_same_queries_whatever_the_ticket_holds(exchange_ticket, agent):
    bare = TicketFactory()
    with CaptureQueriesContext(connection) as few:
        reply_placeholders(bare, agent)
    for _ in range(3):
        Solution.objects.create(ticket=exchange_ticket, kind=Solution.Kind.EXCHANGE)
        Refund.objects.create(order=exchange_ticket.order, ticket=exchange_ticket, amount=Decimal("1"), reason="x")
    exchange_ticket = type(exchange_ticket).objects.select_related("customer", "order").get(pk=exchange_ticket.pk)
    with CaptureQueriesContext(connection) as many:
        reply_placeholders(exchange_ticket, agent)
    assert len(many) <= len(few) + 2 and len(many) <= 6  # items (+ products), parcel, solution, refunds


def test_loading_twice_creates_nothing_and_keeps_the_shops_edits(agent):
    created = reply_catalog_load()
    assert created == 2 * len(CATALOG)
    ReplyTemplate.objects.filter(name="换码").update(body="店里自己改过的{customer_name}", is_active=False)
    assert reply_catalog_load() == 0
    assert ReplyTemplate.objects.get(name="换码").body == "店里自己改过的{customer_name}"


def test_a_fresh_install_loads_the_catalogue_with_a_command(capsys):
    ReplyTemplate.objects.all().delete()
    call_command("load_reply_templates")
    assert ReplyTemplate.objects.count() == 2 * len(CATALOG)
    assert f"created: {2 * len(CATALOG)}" in capsys.readouterr().out
