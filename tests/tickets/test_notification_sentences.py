"""Each notification says what happened in one sentence with its facts, in the reader's language, with the
customer masked for department staff and in e-mails; the list writes them without a query per row."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, TicketFactory, make_user
from tickets.followup.services import survey_submit
from tickets.models import Department, Notification, Subtask
from tickets.notes import note
from tickets.notification_text import NOTIFICATION_RELATED, notification_sentence
from tickets.playbook import services as playbook
from tickets.sla.mail import notifications_send_emails

pytestmark = pytest.mark.django_db
Kind = Notification.Kind
DUE = timezone.now().replace(microsecond=0) + timedelta(hours=3)
DUE_SHOWN = timezone.localtime(DUE).strftime("%m-%d %H:%M")


@pytest.fixture
def agent(db):
    return make_user("agent", username="words_n_agent")


@pytest.fixture
def ticket(agent):
    customer = CustomerFactory(name="张小明")
    order = OrderFactory(customer=customer, external_number="TB900000000123")
    OrderItemFactory(order=order, unit_price=Decimal("300"), paid_amount=Decimal("300"))
    return TicketFactory(number="T-2024-000123", customer=customer, order=order, assignee=agent)


@pytest.fixture
def subtask(ticket, agent):
    return Subtask.objects.create(ticket=ticket, department=Department.objects.get(code="warehouse"),
                                  kind=Subtask.Kind.INSPECT_RETURN, description="验收退货", due_at=DUE)


def notice(kind, ticket, recipient, subtask=None, **data):
    return Notification.objects.create(recipient=recipient, kind=kind, ticket=ticket, subtask=subtask, data=data,
                                       dedupe_key=f"{kind}:{Notification.objects.count()}")


def read(notification, language, masked=False):
    loaded = Notification.objects.select_related(*NOTIFICATION_RELATED).get(pk=notification.pk)
    with translation.override(language):
        return notification_sentence(loaded, masked=masked)


# Each kind: (kind, data, uses the subtask, the zh-Hans sentence, the English sentence)
CASES = [
    (Kind.SLA_WARNING, {"clock": "first_response", "percent": 80, "due_at": DUE.isoformat()}, False,
     f"工单 T-2024-000123 的首次响应时限已用 80%（{DUE_SHOWN} 到期），客户 张小明 — 淘宝订单 TB900000000123。",
     f"Ticket T-2024-000123 has used 80% of its first response time (due {DUE_SHOWN}), customer 张小明 — Taobao "
     "order TB900000000123."),
    (Kind.SLA_BREACH, {"clock": "first_response", "percent": 100, "due_at": DUE.isoformat(), "held_by": ["warehouse"],
                       "held_by_names": [["仓库", "Warehouse"]]}, False,
     "工单 T-2024-000123 已超时（首次响应），客户 张小明 — 淘宝订单 TB900000000123。 处理中的部门：仓库。",
     "Ticket T-2024-000123 is overdue (first response), customer 张小明 — Taobao order TB900000000123. "
     "Departments holding it: Warehouse."),
    (Kind.FOLLOW_UP_DUE, {"clock": "follow_up", "percent": 100, "due_at": DUE.isoformat()}, False,
     f"工单 T-2024-000123 该回访了（{DUE_SHOWN} 前），客户 张小明 — 淘宝订单 TB900000000123。",
     f"Time to follow up ticket T-2024-000123 (by {DUE_SHOWN}), customer 张小明 — Taobao order TB900000000123."),
    (Kind.AUTO_CLOSED, {}, False,
     "工单 T-2024-000123 因客户未回复已自动关闭，客户 张小明 — 淘宝订单 TB900000000123。",
     "Ticket T-2024-000123 closed automatically: the customer did not answer, customer 张小明 — Taobao order "
     "TB900000000123."),
    (Kind.SUBTASK_DUE_SOON, {"department": "warehouse", "due_at": DUE.isoformat()}, True,
     f"仓库的子任务「退货质检」（工单 T-2024-000123）将于 {DUE_SHOWN} 到期。",
     f"Warehouse's subtask “Inspect returned item” on ticket T-2024-000123 is due {DUE_SHOWN}."),
    (Kind.SUBTASK_OVERDUE, {"department": "warehouse", "due_at": DUE.isoformat()}, True,
     f"仓库的子任务「退货质检」（工单 T-2024-000123）已逾期，应于 {DUE_SHOWN} 完成。",
     f"Warehouse's subtask “Inspect returned item” on ticket T-2024-000123 is overdue (due {DUE_SHOWN})."),
    (Kind.SUBTASK_REJECTED, {"department": "warehouse", "reason": "包裹里没有商品"}, True,
     "仓库退回了子任务「退货质检」（工单 T-2024-000123）：包裹里没有商品",
     "Warehouse sent back the subtask “Inspect returned item” on ticket T-2024-000123: 包裹里没有商品"),
    (Kind.APPROVAL_REQUESTED, {"approval": 1, "approval_kind": "refund", "amount": "280.00"}, False,
     "工单 T-2024-000123 有一笔 ¥280.00 的退款等待你审批，客户 张小明 — 淘宝订单 TB900000000123。",
     "A refund of ¥280.00 on ticket T-2024-000123 waits for your approval, customer 张小明 — Taobao order "
     "TB900000000123."),
    (Kind.APPROVAL_DECIDED, {"approval": 1, "status": "rejected", "reason": "超出价保期"}, False,
     "你在工单 T-2024-000123 上的申请被驳回。 “超出价保期”",
     "Your request on ticket T-2024-000123 was rejected. “超出价保期”"),
    (Kind.NOT_SOLVED, {"survey": 1, "score": None, "words": "还是漏水"}, False,
     "客户说工单 T-2024-000123 的问题没有解决：“还是漏水”，客户 张小明 — 淘宝订单 TB900000000123。",
     "The customer says ticket T-2024-000123 is not solved: “还是漏水”, customer 张小明 — Taobao order "
     "TB900000000123."),
    (Kind.INCIDENT_SUGGESTED, {"incident": 1, "note": note(
        "Suspected batch problem: %(product)s, %(count)d %(category)s tickets within %(hours)d hours",
        product="YRF-8821 羽绒服", count=7, category=note("Product quality"), hours=24).parts}, False,
     "疑似批量问题：YRF-8821 羽绒服 24 小时内 7 张商品质量工单",
     "Suspected batch problem: YRF-8821 羽绒服, 7 Product quality tickets within 24 hours"),
    (Kind.LOW_SATISFACTION, {"survey": 1, "score": 2}, False,
     "客户给工单 T-2024-000123 打了 2 分（满分 5 分），客户 张小明 — 淘宝订单 TB900000000123。",
     "The customer rated ticket T-2024-000123 2 out of 5, customer 张小明 — Taobao order TB900000000123."),
]


def test_every_kind_has_a_case():
    assert {case[0] for case in CASES} == set(Kind.values)


@pytest.mark.parametrize(("kind", "data", "on_subtask", "zh", "en"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_reads_as_a_sentence_in_both_languages(kind, data, on_subtask, zh, en, ticket, subtask, agent):
    notification = notice(kind, ticket, agent, subtask if on_subtask else None, **data)
    assert read(notification, "zh-hans") == zh
    assert read(notification, "en") == en


def test_more_approval_sentences(ticket, agent):
    waiver = notice(Kind.APPROVAL_REQUESTED, ticket, agent, approval=2, approval_kind="return_waiver")
    batch = notice(Kind.APPROVAL_REQUESTED, ticket, agent, pricediff_batch=3, amount="1200.00")
    older = notice(Kind.APPROVAL_REQUESTED, ticket, agent, approval=4)  # written before the facts were stored
    approved = notice(Kind.APPROVAL_DECIDED, ticket, agent, approval=5, status="approved", reason="")
    assert read(waiver, "zh-hans").startswith("工单 T-2024-000123 申请免退回瑕疵商品，等待你审批")
    assert read(batch, "zh-hans") == "一批 ¥1200.00 的退差等待你审批。"
    assert read(older, "en").startswith("A request on ticket T-2024-000123 waits for your approval")
    assert read(approved, "zh-hans") == "你在工单 T-2024-000123 上的申请已获批准。"


def test_the_customer_is_masked_for_department_staff_and_in_e_mails(ticket, subtask, agent, client):
    staff = make_user("department_staff", department="warehouse")
    staff.email = "wh@example.com"
    staff.save()
    notice(Kind.SLA_BREACH, ticket, staff, clock="resolution", percent=100)
    client.force_login(staff)
    html = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "张**" in html and "张小明" not in html
    client.force_login(agent)
    notice(Kind.SLA_BREACH, ticket, agent, clock="resolution", percent=100)
    assert "张小明" in client.get("/notifications/").content.decode()
    mail.outbox.clear()
    notifications_send_emails(seconds=5, rate=0)
    body = next(m.body for m in mail.outbox if m.to == ["wh@example.com"])
    assert "T-2024-000123" in body and "张**" in body and "张小明" not in body


def test_facts_are_stored_when_the_notice_is_made(ticket, agent):
    supervisor = make_user("supervisor")
    ticket = TicketFactory(number="T-2024-000124", customer=ticket.customer, order=ticket.order, assignee=agent,
                           status="in_progress", type="refund_only", category="wrong_or_missing_item",
                           responsibility="merchant")
    ticket.affected_items.add(ticket.order.items.first())
    solution = playbook.solution_propose(ticket=ticket, actor=agent, kind="refund_only", amount=Decimal("280"),
                                         return_required=False)
    playbook.solution_confirm(solution=solution, actor=agent, channel="chat", text="同意退款280元")
    notification = Notification.objects.get(recipient=supervisor, kind=Kind.APPROVAL_REQUESTED)
    assert read(notification, "en").startswith("A refund of ¥280.00 on ticket T-2024-000124 waits")


def test_the_not_solved_notice_quotes_the_customer(ticket, agent):
    ticket.status = "resolved"
    ticket.resolved_at = timezone.now()
    ticket.save()
    survey_submit(ticket=ticket, solved=False, score=None, comment="还是漏水")
    notification = Notification.objects.get(recipient=agent, kind=Kind.NOT_SOLVED)
    assert "“还是漏水”" in read(notification, "zh-hans")


def test_the_list_writes_every_sentence_without_a_query_per_row(ticket, subtask, agent, client):
    client.force_login(agent)

    def add_one_of_each():
        for kind, data, on_subtask, *_ in CASES:
            notice(kind, ticket, agent, subtask if on_subtask else None, **data)

    add_one_of_each()
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as few:
        client.get("/notifications/")
    add_one_of_each()
    add_one_of_each()
    with CaptureQueriesContext(connection) as many:
        html = client.get("/notifications/").content.decode()
    assert len(many) == len(few) == 5  # session, user, roles (and group names), the rows (joined), unread count
    about_the_ticket = [case for case in CASES if case[0] != Kind.INCIDENT_SUGGESTED]  # an incident names none
    assert html.count("T-2024-000123") >= 3 * len(about_the_ticket)
