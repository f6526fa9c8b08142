"""The after-sales playbook: solutions agreed with the customer, approvals, and the money and goods
that follow (refunds paid by finance, returns inspected by the warehouse, replacements shipped).

Rules from the seeds (003): when the shop is at fault the agent should call the customer; when
the customer is at fault the agreement must be confirmed in writing; a quality defect requires the
defective item back unless a supervisor waives it. Money above the agent's limit waits for a
supervisor's approval, and nothing is paid before it.
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as orders
from orders.models import Refund, Shipment

from ..events import event_record
from ..models import (
    ApprovalRequest,
    Category,
    Channel,
    Department,
    Notification,
    Responsibility,
    Solution,
    Subtask,
    Ticket,
)
from ..notifications import notify_about_ticket
from ..policies import is_supervisor
from ..subtasks import subtask_create
from ..workflow import ticket_lock_for_write

MONEY_KINDS = (Solution.Kind.REFUND_ONLY, Solution.Kind.RETURN_REFUND, Solution.Kind.COMPENSATION)
GOODS_KINDS = (Solution.Kind.EXCHANGE, Solution.Kind.RESHIP, Solution.Kind.REPAIR)
# Whatever the category, these take the item back by their nature.
RETURN_KINDS = (Solution.Kind.RETURN_REFUND, Solution.Kind.EXCHANGE, Solution.Kind.REPAIR)
# What the customer wrote themselves is evidence of consent; a phone call is not (DOMAIN: 留证).
WRITTEN_CHANNELS = (
    Channel.CHAT, Channel.EMAIL, Channel.SOCIAL, Channel.PLATFORM, Channel.PLATFORM_DISPUTE, Channel.CUSTOMER_LINK,
)


def return_required_by_rule(*, category: str, kind: str) -> bool:
    """Whether the item must come back. Seed 003's lesson (the customer who kept the bottle with a
    0.5 mm dot and posted it on Weibo): on a product-quality case, every solution that sends goods or
    money needs the defective item back unless a supervisor waives it. Otherwise only the kinds that
    take the item back by their nature (return and refund, exchange, repair) need it."""
    if category == Category.PRODUCT_QUALITY and kind in MONEY_KINDS + GOODS_KINDS:
        return True
    return kind in RETURN_KINDS


def call_prompt(ticket: Ticket) -> str | None:
    """What the agent should do before confirming (shown on the ticket page)."""
    if ticket.responsibility == Responsibility.MERCHANT:
        return _("The shop is at fault: call the customer to apologise and agree the solution.")
    if ticket.responsibility == Responsibility.CUSTOMER:
        return _("The customer is at fault: the agreement must be confirmed in writing (chat, e-mail, platform).")
    return None


def _event(ticket, actor, action, changes=None, reason=""):
    event_record(ticket=ticket, actor=actor, action=action, changes=changes or {}, reason=reason)


@transaction.atomic
def solution_propose(
    *,
    ticket: Ticket,
    actor,
    kind: str,
    amount: Decimal = Decimal("0"),
    return_required: bool | None = None,
    customer_sends_back: str = "",
    expected_days: int | None = None,
    shop_cost: Decimal = Decimal("0"),
    note: str = "",
    waiver_reason: str = "",
) -> Solution:
    ticket = ticket_lock_for_write(ticket, action="propose solution")
    if kind not in Solution.Kind.values:
        raise ValidationError({"kind": _("Unknown solution.")})
    if amount < 0 or shop_cost < 0:
        raise ValidationError({"amount": _("Amounts cannot be negative.")})
    if kind in MONEY_KINDS and amount <= 0:
        raise ValidationError({"amount": _("Say how much is refunded or compensated.")})
    by_rule = return_required_by_rule(category=ticket.category, kind=kind)
    if return_required is None:
        return_required = by_rule
    solution = Solution.objects.create(
        ticket=ticket,
        kind=kind,
        amount=amount,
        return_required=return_required,
        customer_sends_back=customer_sends_back,
        expected_days=expected_days,
        shop_cost=shop_cost,
        note=note,
        proposed_by=actor,
    )
    _event(
        ticket,
        actor,
        "solution_proposed",
        {"solution": [None, solution.pk], "kind": [None, kind], "amount": [None, str(amount)]},
    )
    if by_rule and not return_required:
        # A claim without the item back cannot be verified: only a supervisor may waive the return.
        if not waiver_reason.strip():
            raise ValidationError(
                {
                    "return_required": _(
                        "This solution needs the item back; give a reason to ask a supervisor for a waiver."
                    )
                }
            )
        approval = ApprovalRequest.objects.create(
            ticket=ticket,
            kind=ApprovalRequest.Kind.RETURN_WAIVER,
            solution=solution,
            reason=waiver_reason,
            requested_by=actor,
        )
        notify_about_ticket(
            ticket=ticket, kind=Notification.Kind.APPROVAL_REQUESTED,
            data={"approval": approval.pk, "approval_kind": approval.kind},
            key=f"approval:{approval.pk}", assignee=False,
        )
    return solution


@transaction.atomic
def solution_confirm(*, solution: Solution, actor, channel: str, text: str, by_customer: bool = False) -> Solution:
    """Record the customer's agreement (evidence) and start what it sets in motion, on `actor`'s authority.
    `by_customer`: the customer chose it themselves (their link): the timeline credits them, not the agent."""
    solution = (
        Solution.objects.select_for_update(of=("self",)).select_related("ticket", "ticket__order").get(pk=solution.pk)
    )
    ticket = ticket_lock_for_write(solution.ticket_id, action="confirm solution")
    if solution.status != Solution.Status.PROPOSED:
        raise ValidationError({"solution": _("Only a proposed solution can be confirmed.")})
    if not text.strip():
        raise ValidationError({"text": _("Record the exact words the customer agreed to.")})
    if ticket.responsibility == Responsibility.CUSTOMER and channel not in WRITTEN_CHANNELS:
        raise ValidationError({"channel": _("The customer is at fault: confirm in writing, not by phone.")})
    if solution.approvals.filter(
        kind=ApprovalRequest.Kind.RETURN_WAIVER, status=ApprovalRequest.Status.PENDING
    ).exists():
        raise ValidationError({"solution": _("Waiting for the supervisor's decision on the return waiver.")})
    if solution.approvals.filter(
        kind=ApprovalRequest.Kind.RETURN_WAIVER, status=ApprovalRequest.Status.REJECTED
    ).exists():
        raise ValidationError({"solution": _("The return waiver was rejected: propose a solution with the return.")})
    now = timezone.now()
    solution = Solution.objects.select_for_update().get(pk=solution.pk)
    Solution.status_flow.move(solution, Solution.Status.CONFIRMED, confirmed_at=now, confirmed_channel=channel,
                              confirmed_text=text, recorded_by=None if by_customer else actor)
    Solution.status_flow.move_all(ticket.solutions.exclude(pk=solution.pk), Solution.Status.WITHDRAWN)
    _event(ticket, None if by_customer else actor, "solution_confirmed",
           {"solution": [None, solution.pk], "channel": [None, channel]}, reason=text)
    _set_in_motion(solution, ticket, actor)
    return solution


def _department(code: str) -> Department:
    return Department.objects.get(code=code)


def _set_in_motion(solution: Solution, ticket: Ticket, actor) -> None:
    order = ticket.order
    if solution.kind in MONEY_KINDS:
        if order is None:
            raise ValidationError({"solution": _("A refund needs the order: link the order first.")})
        compensation = solution.kind == Solution.Kind.COMPENSATION
        refund = orders.refund_request(
            order=order,
            amount=solution.amount,
            reason=str(solution),
            actor=actor,
            ticket=ticket,
            items=ticket.affected_items.all(),
            kind=Refund.Kind.COMPENSATION if compensation else Refund.Kind.REFUND,
            method=Refund.Method.COUPON if compensation else Refund.Method.ORIGINAL,
        )
        _event(
            ticket,
            actor,
            "refund_requested",
            {"refund": [None, refund.pk], "amount": [None, str(refund.amount)], "status": [None, refund.status]},
        )
        if refund.status == Refund.Status.APPROVED:
            _release_payment(ticket, actor, refund, solution)
        else:
            approval = ApprovalRequest.objects.create(
                ticket=ticket,
                kind=ApprovalRequest.Kind.REFUND,
                solution=solution,
                refund=refund,
                amount=refund.amount,
                reason=_("Above the agent's limit."),
                requested_by=actor,
            )
            notify_about_ticket(
                ticket=ticket, kind=Notification.Kind.APPROVAL_REQUESTED,
                data={"approval": approval.pk, "approval_kind": approval.kind, "amount": str(approval.amount)},
                key=f"approval:{approval.pk}", assignee=False,
            )
    if _waits_for_the_return(solution) and order is not None:
        parcel = orders.return_shipment_create(order=order, ticket=ticket)
        subtask = subtask_create(
            ticket=ticket,
            actor=actor,
            department=_department("warehouse"),
            kind=Subtask.Kind.INSPECT_RETURN,
            description=_with_instructions(_("Receive and inspect the returned item; restock or write off."), solution),
        )
        Subtask.objects.filter(pk=subtask.pk).update(return_shipment=parcel)
    if solution.kind in (Solution.Kind.EXCHANGE, Solution.Kind.RESHIP) and not _waits_for_the_return(solution):
        _replacement_create(solution, ticket, actor)


def _waits_for_the_return(solution: Solution | None) -> bool:
    # Goods and money go out once the warehouse has the item back and finds it as described.
    return bool(solution and solution.return_required and not solution.return_waived)


def _release_payment(ticket, actor, refund, solution) -> None:
    if not _waits_for_the_return(solution):
        _finance_subtask(ticket, actor, refund, solution)


def _replacement_create(solution: Solution, ticket: Ticket, actor) -> None:
    if ticket.order is None:
        return
    reason = Shipment.Reason.EXCHANGE if solution.kind == Solution.Kind.EXCHANGE else Shipment.Reason.RESHIP
    parcel = orders.shipment_create(
        order=ticket.order, ticket=ticket, reason=reason, items=ticket.affected_items.all()
    )
    subtask = subtask_create(
        ticket=ticket,
        actor=actor,
        department=_department("warehouse"),
        kind=Subtask.Kind.RESHIP,
        description=_with_instructions(_("Ship the replacement and enter its tracking."), solution),
    )
    Subtask.objects.filter(pk=subtask.pk).update(shipment=parcel)


def _with_instructions(task: str, solution: Solution | None) -> str:
    """What the department is asked, with the agent's own instructions on the agreed solution ("38码，优先")."""
    if solution is None or not solution.note.strip():
        return task
    return f"{task}\n" + _("Agent's instructions: %(note)s") % {"note": solution.note.strip()}


def _finance_subtask(ticket, actor, refund, solution: Solution | None = None) -> None:
    subtask = subtask_create(
        ticket=ticket,
        actor=actor,
        department=_department("finance"),
        kind=Subtask.Kind.REFUND_PAYMENT,
        description=_with_instructions(_("Pay the approved refund of ¥%(amount)s.") % {"amount": refund.amount},
                                       solution),
    )
    Subtask.objects.filter(pk=subtask.pk).update(refund=refund)


@transaction.atomic
def approval_decide(*, approval: ApprovalRequest, actor, approve: bool, reason: str = "") -> ApprovalRequest:
    """A supervisor approves or rejects; never the person who asked."""
    approval = (
        ApprovalRequest.objects.select_for_update(of=("self",)).select_related("refund", "solution").get(pk=approval.pk)
    )
    if not is_supervisor(actor):
        raise PermissionDenied(_("Only supervisors decide approvals."))
    if approval.requested_by_id == actor.pk:
        raise PermissionDenied(_("Nobody approves their own request."))
    if approval.status != ApprovalRequest.Status.PENDING:
        raise ValidationError({"approval": _("This request is already decided.")})
    if not approve and not reason.strip():
        raise ValidationError({"reason": _("Say why it is rejected.")})
    ticket = Ticket.objects.select_for_update().get(pk=approval.ticket_id)
    ApprovalRequest.status_flow.move(
        approval, ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED,
        decided_by=actor, decision_reason=reason, decided_at=timezone.now(),
    )
    if approval.kind == ApprovalRequest.Kind.REFUND and approval.refund:
        if approve:
            refund = orders.refund_approve(refund=approval.refund, actor=actor)
            _release_payment(ticket, actor, refund, approval.solution)
        else:
            orders.refund_mark_failed(refund=approval.refund, reason=reason)
    if approval.kind == ApprovalRequest.Kind.RETURN_WAIVER and approve and approval.solution:
        Solution.objects.filter(pk=approval.solution_id).update(return_waived=True)
    _event(
        ticket,
        actor,
        "approval_decided",
        {"approval": [None, approval.pk], "status": [None, approval.status]},
        reason=reason,
    )
    if approval.requested_by_id:
        Notification.objects.get_or_create(
            recipient_id=approval.requested_by_id,
            dedupe_key=f"approval_decided:{approval.pk}",
            defaults={
                "kind": Notification.Kind.APPROVAL_DECIDED,
                "ticket": ticket,
                "data": {"approval": approval.pk, "status": approval.status, "reason": reason,
                         "approval_kind": approval.kind},
            },
        )
    return approval


@transaction.atomic
def warehouse_inspect_return(*, subtask: Subtask, actor, inspection: str, disposition: str, note: str = "") -> Subtask:
    """The warehouse records what came back. As described: done. Damaged by the customer or not the
    shop's item: the subtask goes back to the agent with the finding (they talk to the customer)."""
    from orders.models import ReturnShipment

    from ..subtasks import subtask_act

    if subtask.return_shipment_id is None:
        raise ValidationError({"subtask": _("This subtask has no returned parcel.")})
    parcel = orders.return_shipment_inspect(
        shipment=subtask.return_shipment, inspection=inspection, disposition=disposition, note=note
    )
    finding = f"{parcel.get_inspection_display()} · {parcel.get_disposition_display()}" + (f" · {note}" if note else "")
    as_described = inspection == ReturnShipment.Inspection.AS_DESCRIBED
    subtask = subtask_act(subtask=subtask, actor=actor, action="complete" if as_described else "reject", result=finding)
    if as_described:
        # The item is back as described: approved refunds waiting for it can be paid, and the agreed
        # replacement can be shipped (once: a replacement already made is not made again).
        for refund in Refund.objects.filter(
            ticket_id=subtask.ticket_id, status=Refund.Status.APPROVED, subtasks__isnull=True
        ):
            _finance_subtask(subtask.ticket, actor, refund)
        solution = subtask.ticket.solutions.filter(status=Solution.Status.CONFIRMED).order_by("-confirmed_at").first()
        if (
            solution is not None
            and solution.kind in (Solution.Kind.EXCHANGE, Solution.Kind.RESHIP)
            and not subtask.ticket.shipments.exists()
        ):
            _replacement_create(solution, subtask.ticket, actor)
    return subtask


@transaction.atomic
def warehouse_ship_replacement(*, subtask: Subtask, actor, carrier: str, tracking_number: str) -> Subtask:
    from ..subtasks import subtask_act

    if subtask.shipment_id is None:
        raise ValidationError({"subtask": _("This subtask has no replacement shipment.")})
    orders.shipment_ship(shipment=subtask.shipment, carrier=carrier, tracking_number=tracking_number)
    return subtask_act(
        subtask=subtask,
        actor=actor,
        action="complete",
        result=_("Shipped with %(carrier)s %(number)s.") % {"carrier": carrier, "number": tracking_number},
    )
