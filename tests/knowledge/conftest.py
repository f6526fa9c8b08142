"""The case library's test world: articles made through the services, and a finished case full of
the customer's personal data (to prove a draft drawn from it leaves none behind)."""

import pytest

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory
from tests.tickets.test_workflow import move
from tickets import services as ticket_services
from tickets.knowledge import services
from tickets.models import Status, Ticket

NAME = "王芳芳"
PHONE = "13912345678"
OTHER_MOBILE = "137-0000-1111"  # a second number the customer gave in the chat, written with dashes
EMAIL = "wangff@example.com"
ADDRESS = "上海市浦东新区张江路88弄6号"
ACCOUNT = "fangfang_tb88"
ORDER_NUMBER = "TB20241111000123"


def make_article(author, *, title="标题", body="正文", language="zh-hans", publish=True, **fields):
    article = services.article_create(author=author, title=title, body=body, language=language, **fields)
    if publish:
        article = services.article_publish(article=article, actor=author)
    return article


@pytest.fixture
def case_fields():
    """What the customer and the agent wrote, with personal data sprinkled through it."""
    return {
        "description": f"我是{NAME}，订单{ORDER_NUMBER}的羽绒服拉链坏了，申请退款。电话{PHONE}，"
                       f"也可以打{OTHER_MOBILE}，或者发邮件到 {EMAIL}，地址{ADDRESS}。",
        "symptom": "",
        "root_cause": f"拉链批次质量问题；{NAME}（{ACCOUNT}）收到的是问题批次。",
        "summary": f"给{NAME}退款并寄回换新；顺丰上门到{ADDRESS}取件，联系电话{PHONE}。",
        "what_worked": f"先电话致歉再在线确认方案留证，发邮件到{EMAIL}确认。",
    }


@pytest.fixture
def finished_case(agent, settings, case_fields):
    """Make a closed ticket with its summary: return-and-refund, product quality, tagged 拉链."""

    def build(*, status=Status.CLOSED, summary=True):
        settings.AUTO_ASSIGN_NEW_TICKETS = False
        customer = CustomerFactory(name=NAME, phone=PHONE, email=EMAIL, address=ADDRESS, platform_account=ACCOUNT)
        order = OrderFactory(customer=customer, external_number=ORDER_NUMBER, shipping_address=ADDRESS)
        item = OrderItemFactory(order=order, product=ProductFactory(name="轻薄羽绒服"))
        ticket = ticket_services.ticket_create(
            actor=agent, channel="chat", description=case_fields["description"], order=order,
            affected_items=[item], type="return_refund", category="product_quality", tags=["拉链"],
        )
        path = {
            Status.IN_PROGRESS: ["triage", "start"],
            Status.RESOLVED: ["triage", "start", "resolve"],
            Status.CLOSED: ["triage", "start", "resolve", "close"],
            Status.ARCHIVED: ["triage", "start", "resolve", "close"],
        }[status]
        ticket = move(ticket, agent, *path)
        if summary:
            # Given the summary as written (set directly: the summary service is not under test here).
            Ticket.objects.filter(pk=ticket.pk).update(
                root_cause=case_fields["root_cause"], summary=case_fields["summary"],
                what_worked=case_fields["what_worked"],
            )
            ticket.refresh_from_db()
        if status == Status.ARCHIVED:
            ticket = move(ticket, agent, "archive")
        ticket.refresh_from_db()
        assert ticket.status == status
        return ticket

    return build
