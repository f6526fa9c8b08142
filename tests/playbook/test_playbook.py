"""The after-sales playbook at service level: solutions, evidence, approvals, refunds, returns."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from orders.models import Refund, ReturnShipment, Shipment
from orders.money import refundable_amount
from orders.services import refund_mark_paid, refund_request
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tickets import services
from tickets.models import ApprovalRequest, Notification, Solution, Subtask, TicketEvent
from tickets.playbook import services as playbook
from tickets.subtasks import subtask_complete, subtask_reject
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("500.00"))
    OrderItemFactory(order=order, unit_price=Decimal("300.00"), paid_amount=Decimal("300.00"))
    OrderItemFactory(order=order, unit_price=Decimal("200.00"), paid_amount=Decimal("200.00"))
    return order


@pytest.fixture
def people(db):
    return {
        "agent": make_user("agent", username="pb_agent"),  # refund limit 200 by default
        "supervisor": make_user("supervisor", username="pb_super"),
        "supervisor2": make_user("supervisor", username="pb_super2"),
        "finance": make_user("department_staff", username="pb_fin", department="finance"),
        "warehouse": make_user("department_staff", username="pb_wh", department="warehouse"),
    }


def working_ticket(order, agent, *, category="wrong_or_missing_item", responsibility="merchant", items=None):
    ticket = services.ticket_create(
        actor=agent,
        channel="phone",
        description="收到的衣服尺码不对",
        order=order,
        affected_items=items if items is not None else list(order.items.all()[:1]),
        type="return_refund",
        category=category,
    )
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility=responsibility)
    ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
    return ticket_transition(ticket=ticket, action="start", actor=agent)


# Money rules ---------------------------------------------------------------------------------------


def test_a_refund_never_exceeds_what_was_paid_for_the_items_minus_earlier_refunds(order, people):
    item = order.items.first()  # paid 300
    refund_request(
        order=order, amount=Decimal("250"), reason="部分退款", actor=people["agent"], items=[item]
    )
    assert refundable_amount(order, [item]) == Decimal("50")
    with pytest.raises(ValidationError, match="50"):
        refund_request(order=order, amount=Decimal("50.01"), reason="再退", actor=people["agent"], items=[item])
    assert Refund.objects.filter(order=order).count() == 1


def test_the_whole_order_caps_refunds_across_items(order, people):
    refund_request(order=order, amount=Decimal("450"), reason="大额", actor=people["agent"])
    with pytest.raises(ValidationError):
        refund_request(order=order, amount=Decimal("60"), reason="超额", actor=people["agent"])


def test_failed_refunds_no_longer_count_against_the_cap(order, people):
    refund = refund_request(order=order, amount=Decimal("500"), reason="全额", actor=people["agent"])
    playbook.orders.refund_mark_failed(refund=refund, reason="支付失败")
    assert refundable_amount(order) == Decimal("500")


def test_finance_cannot_pay_an_unapproved_refund(order, people):
    refund = refund_request(order=order, amount=Decimal("250"), reason="待审批", actor=people["agent"])  # limit 200
    with pytest.raises(ValidationError):
        refund_mark_paid(refund=refund)
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.REQUESTED


# Solutions and evidence --------------------------------------------------------------------------


def test_a_refund_within_the_agents_limit_goes_straight_to_finance_and_is_paid_when_finance_is_done(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["agent"], kind="refund_only", amount=Decimal("150"), return_required=False
    )

    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意退款150元")

    refund = Refund.objects.get(ticket=ticket)
    assert refund.status == Refund.Status.APPROVED
    subtask = Subtask.objects.get(ticket=ticket, refund=refund)
    assert subtask.department.code == "finance"
    subtask_complete(subtask=subtask, actor=people["finance"], result="已原路退回")
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PAID
    solution.refresh_from_db()
    assert (solution.status, solution.confirmed_channel, solution.confirmed_text) == (
        "confirmed",
        "phone",
        "同意退款150元",
    )
    assert TicketEvent.objects.filter(ticket=ticket, action="solution_confirmed").count() == 1


def test_above_the_limit_a_supervisor_must_approve_and_nobody_approves_their_own_request(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["agent"], kind="refund_only", amount=Decimal("280"), return_required=False
    )
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="chat", text="同意退款280元")
    approval = ApprovalRequest.objects.get(ticket=ticket, kind="refund")
    refund = approval.refund
    assert refund.status == Refund.Status.REQUESTED
    assert not Subtask.objects.filter(refund=refund).exists()  # nothing is paid before approval
    assert Notification.objects.filter(kind="approval_requested", ticket=ticket).count() == 2  # both supervisors

    with pytest.raises(PermissionDenied):
        playbook.approval_decide(approval=approval, actor=people["agent"], approve=True)

    playbook.approval_decide(approval=approval, actor=people["supervisor"], approve=True, reason="老客户")
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.APPROVED
    assert Subtask.objects.filter(refund=refund, department__code="finance").exists()
    assert Notification.objects.filter(kind="approval_decided", recipient=people["agent"]).exists()


def test_a_supervisor_cannot_approve_a_request_they_made(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["supervisor"], kind="refund_only", amount=Decimal("450"), return_required=False
    )
    refund = refund_request(order=order, amount=Decimal("10"), reason="x", actor=people["supervisor"])
    approval = ApprovalRequest.objects.create(
        ticket=ticket,
        kind="refund",
        solution=solution,
        refund=refund,
        amount=refund.amount,
        requested_by=people["supervisor"],
    )
    with pytest.raises(PermissionDenied):
        playbook.approval_decide(approval=approval, actor=people["supervisor"], approve=True)
    playbook.approval_decide(approval=approval, actor=people["supervisor2"], approve=False, reason="金额不对")
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.FAILED


def test_when_the_customer_is_at_fault_the_agreement_must_be_in_writing(order, people):
    ticket = working_ticket(order, people["agent"], responsibility="customer")
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="explanation")
    assert "writing" in playbook.call_prompt(ticket)
    with pytest.raises(ValidationError, match="writing"):
        playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="电话里同意了")
    assert Solution.objects.get(pk=solution.pk).status == "proposed"
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="chat", text="好的我理解了")


def test_a_quality_defect_needs_the_item_back_unless_a_supervisor_waives_it(order, people):
    ticket = working_ticket(order, people["agent"], category="product_quality")
    with pytest.raises(ValidationError, match="item back"):
        playbook.solution_propose(
            ticket=ticket, actor=people["agent"], kind="refund_only", amount=Decimal("100"), return_required=False
        )
    assert not Solution.objects.filter(ticket=ticket).exists()

    solution = playbook.solution_propose(
        ticket=ticket,
        actor=people["agent"],
        kind="refund_only",
        amount=Decimal("100"),
        return_required=False,
        waiver_reason="寄回运费高于货值",
    )
    with pytest.raises(ValidationError, match="waiver"):
        playbook.solution_confirm(solution=solution, actor=people["agent"], channel="chat", text="同意")
    approval = ApprovalRequest.objects.get(solution=solution, kind="return_waiver")
    playbook.approval_decide(approval=approval, actor=people["supervisor"], approve=True, reason="货值低")
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="chat", text="同意")
    assert not ReturnShipment.objects.filter(ticket=ticket).exists()


def test_return_and_refund_sends_the_parcel_to_warehouse_inspection(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket,
        actor=people["agent"],
        kind="return_refund",
        amount=Decimal("100"),
        customer_sends_back="衣服一件",
    )
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意退货退款")
    parcel = ReturnShipment.objects.get(ticket=ticket)
    inspect = Subtask.objects.get(return_shipment=parcel)
    assert (inspect.department.code, inspect.kind) == ("warehouse", "inspect_return")
    ticket.refresh_from_db()
    assert ticket.status == "waiting_department"


def test_an_exchange_ships_the_replacement_once_the_warehouse_has_the_item_back(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="exchange")
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="换M码")
    inspect = Subtask.objects.get(ticket=ticket, kind="inspect_return")
    assert not Shipment.objects.filter(ticket=ticket).exists()  # nothing goes out before the item is back

    playbook.warehouse_inspect_return(subtask=inspect, actor=people["warehouse"], inspection="as_described",
                                      disposition="restock")
    shipment = Shipment.objects.get(ticket=ticket)
    assert shipment.reason == "exchange"
    assert Subtask.objects.filter(shipment=shipment, kind="reship").count() == 1


def test_finance_rejecting_the_payment_fails_the_refund(order, people):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["agent"], kind="refund_only", amount=Decimal("50"), return_required=False
    )
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意")
    subtask = Subtask.objects.get(ticket=ticket, refund__isnull=False)
    subtask_reject(subtask=subtask, actor=people["finance"], reason="账户异常")
    assert Refund.objects.get(pk=subtask.refund_id).status == Refund.Status.FAILED


def test_the_warehouse_inspects_the_return_in_the_browser_and_a_damaged_item_goes_back_to_the_agent(
    order, people, client
):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["agent"], kind="return_refund", amount=Decimal("100")
    )
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意退货退款")
    inspect = Subtask.objects.get(ticket=ticket, return_shipment__isnull=False)

    client.force_login(people["finance"])  # another department: cannot see it
    assert client.get(f"/subtasks/{inspect.pk}/").status_code == 404
    client.force_login(people["warehouse"])
    assert "inspection" in client.get(f"/subtasks/{inspect.pk}/").content.decode()
    client.post(
        f"/subtasks/{inspect.pk}/goods/",
        {"inspection": "damaged_by_customer", "disposition": "write_off", "note": "外壳有摔痕"},
    )

    inspect.refresh_from_db()
    assert inspect.status == "rejected" and "外壳有摔痕" in inspect.result
    assert ReturnShipment.objects.get(pk=inspect.return_shipment_id).inspection == "damaged_by_customer"
    assert Notification.objects.filter(kind="subtask_rejected", recipient=ticket.assignee).exists()


def test_the_warehouse_ships_the_replacement_with_its_tracking_number(order, people, client):
    ticket = working_ticket(order, people["agent"])  # a missing item: reshipped at once, nothing to send back
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="reship")
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="补发一件")
    reship = Subtask.objects.get(ticket=ticket, shipment__isnull=False)

    client.force_login(people["warehouse"])
    client.post(f"/subtasks/{reship.pk}/goods/", {"carrier": "顺丰速运", "tracking_number": "SF1234567890"})

    reship.refresh_from_db()
    assert reship.status == "done"
    assert Shipment.objects.get(pk=reship.shipment_id).tracking_number == "SF1234567890"


def test_a_return_and_refund_is_paid_only_after_the_warehouse_finds_the_item_as_described(order, people, client):
    ticket = working_ticket(order, people["agent"])
    solution = playbook.solution_propose(
        ticket=ticket, actor=people["agent"], kind="return_refund", amount=Decimal("100")
    )
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="同意退货退款")
    refund = Refund.objects.get(ticket=ticket)
    assert refund.status == Refund.Status.APPROVED
    assert not Subtask.objects.filter(refund=refund).exists()  # nothing to pay while the item is on its way

    inspect = Subtask.objects.get(ticket=ticket, return_shipment__isnull=False)
    playbook.warehouse_inspect_return(
        subtask=inspect, actor=people["warehouse"], inspection="as_described", disposition="restock"
    )

    payment = Subtask.objects.get(refund=refund)
    assert payment.department.code == "finance"
    subtask_complete(subtask=payment, actor=people["finance"], result="已退款")
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PAID
