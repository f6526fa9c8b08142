"""Issue 15's repros, each now giving the right answer: price differences on what was actually paid,
approval limits on everything that pays, the quality-defect return rule for every solution kind, and
the batch's ticket, report and page for finance."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from orders import money
from orders.models import Refund, Shipment
from orders.services import refund_request
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.playbook.test_pricediff import csv_bytes
from tickets import services
from tickets.models import ApprovalRequest, Notification, Subtask, Ticket, TicketEvent
from tickets.playbook import services as playbook
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch, PriceDiffRow
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db

Row = PriceDiffRow.Status


def paid_line(number, sku, *, list_price, paid, quantity=1):
    order = OrderFactory(external_number=number, customer=CustomerFactory(),
                         placed_at=timezone.now() - timedelta(days=2), paid_amount=Decimal(paid))
    return OrderItemFactory(order=order, product=ProductFactory(sku=sku), quantity=quantity,
                            unit_price=Decimal(list_price), paid_amount=Decimal(paid))


@pytest.fixture
def people(db):
    return {
        "uploader": make_user("supervisor", username="mr_up"),  # refund limit 200 (the factory's default)
        "supervisor2": make_user("supervisor", username="mr_sup2"),
        "finance": make_user("department_staff", username="mr_fin", department="finance"),
        "warehouse": make_user("department_staff", username="mr_wh", department="warehouse"),
        "agent": make_user("agent", username="mr_agent"),
    }


def run_now(batch, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return pricediff.pricediff_execute(batch=batch, actor=actor)


# 1. The money rule ---------------------------------------------------------------------------------


def test_a_price_difference_refunds_what_was_paid_minus_the_new_price_not_the_list_price(
    people, django_capture_on_commit_callbacks
):
    item = paid_line("TB-269", "SKU-299", list_price="299.00", paid="269.00")  # ¥30 shop coupon

    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="drop.csv",
                                           content=csv_bytes([("TB-269", "SKU-299", "199", "")]))
    run_now(batch, people["uploader"], django_capture_on_commit_callbacks)

    refund = Refund.objects.get(order=item.order)
    assert (refund.amount, refund.kind) == (Decimal("70.00"), Refund.Kind.PRICE_DIFFERENCE)  # not ¥100


def test_a_new_price_not_below_what_was_paid_is_refused_with_that_reason(people):
    paid_line("TB-279", "SKU-279", list_price="299.00", paid="269.00")

    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="up.csv",
                                           content=csv_bytes([("TB-279", "SKU-279", "279", "")]))

    row = batch.rows.get()
    assert row.status == Row.INVALID and "not below the price paid (¥269.00 a unit)" in row.error
    assert not Refund.objects.exists()


def test_a_discounted_multi_unit_line_owes_paid_minus_new_price_times_quantity():
    owed = money.price_difference(paid_amount=Decimal("100.00"), quantity=3, new_price=Decimal("30.00"),
                                  protected_before=Decimal("0"), left=Decimal("100.00"))
    assert owed.amount == Decimal("10.00")  # paid ¥33.33… a unit; no rounding of the unit price
    owed = money.price_difference(paid_amount=Decimal("100.00"), quantity=3, new_price=Decimal("20.00"),
                                  protected_before=Decimal("10.00"), left=Decimal("25.00"))
    assert owed.amount == Decimal("25.00")  # ¥30 more is owed, but only ¥25 is left on the line


def test_a_line_already_refunded_in_full_gets_its_own_reason_and_nothing(people):
    item = paid_line("TB-FULL", "SKU-FULL", list_price="99.00", paid="99.00")
    refund_request(order=item.order, amount=Decimal("99.00"), reason="退货退款", actor=people["finance"],
                   items=[item])

    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="full.csv",
                                           content=csv_bytes([("TB-FULL", "SKU-FULL", "50", "")]))

    row = batch.rows.get()
    assert (row.status, row.error) == (Row.INVALID, "Nothing is left to refund on this order line.")


# 2. Approval limits ---------------------------------------------------------------------------------


def test_a_supervisor_is_limited_unless_the_profile_says_unlimited(people):
    supervisor = people["uploader"]
    assert money.refund_limit_of(supervisor) == Decimal("200")
    item = paid_line("TB-SUP", "SKU-SUP", list_price="900.00", paid="900.00")

    refund = refund_request(order=item.order, amount=Decimal("500"), reason="质量", actor=supervisor, items=[item])
    assert (refund.status, refund.approved_by) == (Refund.Status.REQUESTED, None)

    supervisor.staff_profile.refunds_unlimited = True
    supervisor.staff_profile.save()
    supervisor.refresh_from_db()
    refund = refund_request(order=item.order, amount=Decimal("400"), reason="质量", actor=supervisor, items=[item])
    assert (refund.status, refund.approved_by) == (Refund.Status.APPROVED, supervisor)


def test_a_fifty_unit_company_order_waits_for_a_second_person_and_the_uploader_cannot_approve_it(
    people, django_capture_on_commit_callbacks
):
    item = paid_line("JD-CORP", "SKU-PEN", list_price="60.00", paid="1500.00", quantity=50)  # ¥30 a unit
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="corp.csv",
                                           content=csv_bytes([("JD-CORP", "SKU-PEN", "0", "清仓")]))
    row = batch.rows.get()
    assert (row.status, row.amount, row.over_limit) == (Row.VALID, Decimal("1500.00"), True)
    assert "above the uploader's single-refund limit of ¥200" in pricediff.pricediff_approval_reasons(batch)[0]

    batch = run_now(batch, people["uploader"], django_capture_on_commit_callbacks)
    assert batch.status == PriceDiffBatch.Status.AWAITING_APPROVAL
    assert not Refund.objects.exists()
    ticket = Ticket.objects.get(external_source="pricediff", external_id=str(batch.pk))
    notified = set(Notification.objects.filter(ticket=ticket, kind="approval_requested")
                   .values_list("recipient__username", flat=True))
    assert notified == {"mr_sup2", "mr_fin"}  # every approver but the uploader

    with pytest.raises(PermissionDenied):
        pricediff.pricediff_decide(batch=batch, actor=people["uploader"], approve=True)
    with pytest.raises(PermissionDenied):
        pricediff.pricediff_decide(batch=batch, actor=people["agent"], approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_decide(batch=batch, actor=people["finance"], approve=True, reason="对公订单，已核对")

    batch.refresh_from_db()
    refund = Refund.objects.get(order=item.order)
    assert batch.status == PriceDiffBatch.Status.DONE and batch.decided_by == people["finance"]
    assert (refund.amount, refund.status, refund.requested_by, refund.approved_by) == (
        Decimal("1500.00"), Refund.Status.APPROVED, people["uploader"], people["finance"])
    assert TicketEvent.objects.filter(ticket=ticket, action="batch_approved").count() == 1


@override_settings(PRICEDIFF_APPROVAL_TOTAL="100")
def test_a_batch_above_the_shop_total_waits_and_a_rejected_batch_never_pays(people, django_capture_on_commit_callbacks):
    for n in range(3):
        paid_line(f"TB-T{n}", f"SKU-T{n}", list_price="99.00", paid="99.00")
    content = csv_bytes([(f"TB-T{n}", f"SKU-T{n}", "49", "") for n in range(3)])  # 3 × ¥50, each within ¥200
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="total.csv", content=content)
    assert (batch.valid_amount, batch.over_limit_rows, batch.approval_needed) == (Decimal("150.00"), 0, True)

    batch = run_now(batch, people["uploader"], django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        pricediff.pricediff_decide(batch=batch, actor=people["supervisor2"], approve=False, reason="  ")
    pricediff.pricediff_decide(batch=batch, actor=people["supervisor2"], approve=False, reason="价格未生效")

    batch.refresh_from_db()
    assert batch.status == PriceDiffBatch.Status.REJECTED
    with pytest.raises(ValidationError):
        run_now(batch, people["uploader"], django_capture_on_commit_callbacks)
    assert pricediff.pricediff_run(batch_id=batch.pk) is True
    assert not Refund.objects.exists()


def test_a_small_batch_within_every_limit_runs_at_once(people, django_capture_on_commit_callbacks):
    paid_line("TB-S", "SKU-S", list_price="99.00", paid="99.00")
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="small.csv",
                                           content=csv_bytes([("TB-S", "SKU-S", "89", "")]))
    batch = run_now(batch, people["uploader"], django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    assert batch.status == PriceDiffBatch.Status.DONE and batch.decided_by is None
    assert Refund.objects.get().approved_by == people["uploader"]


# 3. Quality defects: the item comes back unless a supervisor waives it -----------------------------

SENDS_GOODS_OR_MONEY = ["reship", "exchange", "return_refund", "repair", "refund_only", "compensation"]


def quality_ticket(agent, category="product_quality"):
    order = OrderFactory(customer=CustomerFactory(), paid_amount=Decimal("300.00"))
    OrderItemFactory(order=order, unit_price=Decimal("300.00"), paid_amount=Decimal("300.00"))
    ticket = services.ticket_create(actor=agent, channel="phone", description="瓶身有0.5毫米黑点", order=order,
                                    affected_items=list(order.items.all()), type="exchange", category=category)
    ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
    return ticket_transition(ticket=ticket, action="start", actor=agent)


@pytest.mark.parametrize("kind", SENDS_GOODS_OR_MONEY)
def test_on_a_quality_case_every_solution_that_sends_goods_or_money_needs_the_item_back(people, kind):
    ticket = quality_ticket(people["agent"])
    amount = Decimal("50") if kind in playbook.MONEY_KINDS else Decimal("0")

    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind=kind, amount=amount)
    assert solution.return_required  # by the rule, without anyone ticking a box
    with pytest.raises(ValidationError, match="needs the item back"):
        playbook.solution_propose(ticket=ticket, actor=people["agent"], kind=kind, amount=amount,
                                  return_required=False)

    waived = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind=kind, amount=amount,
                                       return_required=False, waiver_reason="顾客已拍视频，瑕疵明显")
    approval = ApprovalRequest.objects.get(solution=waived, kind="return_waiver")
    with pytest.raises(ValidationError, match="Waiting for the supervisor"):
        playbook.solution_confirm(solution=waived, actor=people["agent"], channel="chat", text="同意")
    with pytest.raises(PermissionDenied):
        playbook.approval_decide(approval=approval, actor=people["agent"], approve=True)


def test_confirming_a_quality_reship_asks_for_the_item_back_before_anything_ships(people):
    ticket = quality_ticket(people["agent"])
    solution = playbook.solution_propose(ticket=ticket, actor=people["agent"], kind="reship")
    playbook.solution_confirm(solution=solution, actor=people["agent"], channel="phone", text="寄回后补发")

    assert Subtask.objects.filter(ticket=ticket, kind="inspect_return").count() == 1
    assert not Shipment.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(("category", "kind", "expected"), [
    ("product_quality", "explanation", False),
    ("logistics", "compensation", False),
    ("logistics", "refund_only", False),
    ("wrong_or_missing_item", "reship", False),
    ("wrong_or_missing_item", "exchange", True),
    ("logistics", "return_refund", True),
    ("usage_question", "repair", True),
])
def test_the_item_comes_back_by_default_only_where_the_rule_says_so(category, kind, expected):
    assert playbook.return_required_by_rule(category=category, kind=kind) is expected


def test_the_solution_form_follows_the_rule_unless_the_agent_chooses(people):
    from tickets.forms import SolutionForm

    form = SolutionForm({"kind": "compensation", "amount": "20", "shop_cost": "0", "return_required": ""})
    assert form.is_valid() and form.cleaned_data["return_required"] is None
    form = SolutionForm({"kind": "reship", "amount": "0", "shop_cost": "0", "return_required": "no"})
    assert form.is_valid() and form.cleaned_data["return_required"] is False


# 5. The batch's ticket, report and page ------------------------------------------------------------


def test_finance_opens_the_batch_and_its_report_from_the_payment_subtask_and_others_cannot(
    client, people, django_capture_on_commit_callbacks
):
    paid_line("TB-F", "SKU-F", list_price="99.00", paid="99.00")
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="fin.csv",
                                           content=csv_bytes([("TB-F", "SKU-F", "79", "")]))
    run_now(batch, people["uploader"], django_capture_on_commit_callbacks)
    subtask = Subtask.objects.get(ticket__external_source="pricediff", kind=Subtask.Kind.REFUND_PAYMENT)

    client.force_login(people["finance"])
    page = client.get(reverse("tickets:subtask", args=[subtask.pk]))
    report_url = reverse("tickets:pricediff_report_csv", args=[batch.pk])
    assert page.status_code == 200 and report_url in page.content.decode()
    report = client.get(report_url)
    assert report.status_code == 200 and "20.00" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert client.get(reverse("tickets:pricediff_detail", args=[batch.pk])).status_code == 200
    assert client.post(reverse("tickets:pricediff_execute", args=[batch.pk])).status_code == 403  # reads only

    for who in ("warehouse", "agent"):
        client.force_login(people[who])
        assert client.get(report_url).status_code == 403, who
        assert client.get(reverse("tickets:pricediff_detail", args=[batch.pk])).status_code == 403, who


def test_the_progress_poll_reloads_the_page_when_the_job_is_over(client, people, django_capture_on_commit_callbacks):
    paid_line("TB-P", "SKU-P", list_price="99.00", paid="99.00")
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="p.csv",
                                           content=csv_bytes([("TB-P", "SKU-P", "79", "")]))
    client.force_login(people["uploader"])
    url = reverse("tickets:pricediff_progress", args=[batch.pk])
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status=PriceDiffBatch.Status.RUNNING)
    assert "HX-Refresh" not in client.get(url, headers={"HX-Request": "true"})
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status=PriceDiffBatch.Status.DONE)
    assert client.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"


def test_the_approver_decides_in_the_browser(client, people, django_capture_on_commit_callbacks):
    paid_line("TB-B", "SKU-B", list_price="999.00", paid="999.00")
    batch, _ = pricediff.pricediff_preview(actor=people["uploader"], file_name="b.csv",
                                           content=csv_bytes([("TB-B", "SKU-B", "599", "")]))
    client.force_login(people["uploader"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("tickets:pricediff_execute", args=[batch.pk]))
    page = client.get(reverse("tickets:pricediff_detail", args=[batch.pk])).content.decode()
    assert "pricediff-decide" not in page  # the uploader is not offered the decision

    client.force_login(people["supervisor2"])
    assert 'id="pricediff-decide"' in client.get(reverse("tickets:pricediff_detail", args=[batch.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tickets:pricediff_decide", args=[batch.pk]), {"decision": "approve"})
    assert response.status_code == 302
    assert Refund.objects.get().approved_by == people["supervisor2"]
