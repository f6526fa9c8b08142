"""The playbook's records: solutions offered to the customer, and approvals above a person's limit."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.states import StatusFlow
from tickets.models.choices import (
    Channel,
)


class Solution(models.Model):
    """A proposed way to settle the case; the customer's choice is confirmed as evidence (留证)."""

    class Kind(models.TextChoices):
        REFUND_ONLY = "refund_only", _("Refund only")
        RETURN_REFUND = "return_refund", _("Return and refund")
        EXCHANGE = "exchange", _("Exchange")
        RESHIP = "reship", _("Reship")
        REPAIR = "repair", _("Repair")
        COMPENSATION = "compensation", _("Compensation (coupon or cash)")
        EXPLANATION = "explanation", _("Explanation only")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed by the customer")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="solutions",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    return_required = models.BooleanField(_("item must come back"), default=False)
    customer_sends_back = models.CharField(_("what the customer sends back"), max_length=200, blank=True)
    expected_days = models.PositiveSmallIntegerField(_("expected days"), null=True, blank=True)
    shop_cost = models.DecimalField(_("cost to the shop"), max_digits=12, decimal_places=2, default=Decimal("0"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED)
    status_flow = StatusFlow({Status.CONFIRMED: [Status.PROPOSED], Status.WITHDRAWN: [Status.PROPOSED]})
    # A quality defect needs the item back unless a supervisor waived it (with the reason on the approval).
    return_waived = models.BooleanField(_("return waived"), default=False)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+", verbose_name=_("proposed by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The evidence of agreement: who confirmed, when, by which channel, the exact words.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_channel = models.CharField(_("confirmed by channel"), max_length=20, choices=Channel.choices, blank=True)
    confirmed_text = models.TextField(_("the exact text agreed"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(shop_cost__gte=0), name="solution_money_not_negative")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ¥{self.amount}"


class ApprovalRequest(models.Model):
    """Money above the agent's limit, or a waived return, waits for a supervisor."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund above the limit")
        RETURN_WAIVER = "return_waiver", _("Waive the return of a defective item")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="approvals",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, null=True, blank=True, related_name="approvals",
                                 verbose_name=_("solution"))
    refund = models.ForeignKey("orders.Refund", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="approvals", verbose_name=_("refund"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    reason = models.TextField(_("why it is asked"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     related_name="+", verbose_name=_("requested by"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    status_flow = StatusFlow({Status.APPROVED: [Status.PENDING], Status.REJECTED: [Status.PENDING]})
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decision_reason = models.TextField(_("decision reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="approval_status_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_status_display()})"
