"""A bulk price-difference (退差/价保) upload and its rows. The tables keep the names they were made
with in orders/ (db_table), so moving the models here moved no data."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.states import StatusFlow
from orders.models import MONEY, OrderItem, Refund

TICKET_SOURCE = "pricediff"  # Ticket.external_source of a batch's payment ticket; external_id = batch id


class PriceDiffBatch(models.Model):
    """A bulk price-difference (退差/价保) upload: previewed row by row, then executed by a Celery job."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")  # rows checked, nothing paid; the uploader may run it
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")  # above a limit: a second person decides
        REJECTED = "rejected", _("Rejected")  # the approver said no; nothing is paid, ever
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")  # the job stopped on an error; running it again resumes

    file_name = models.CharField(_("file name"), max_length=255)
    # Uploading the same file again finds this batch (and refunds nothing twice).
    file_sha256 = models.CharField(_("file checksum"), max_length=64, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+", verbose_name=_("uploaded by"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    # A failed run is resumed (running again), never restarted; rejected and done are final.
    status_flow = StatusFlow({
        Status.AWAITING_APPROVAL: [Status.PREVIEWED, Status.FAILED],
        Status.RUNNING: [Status.PREVIEWED, Status.FAILED, Status.AWAITING_APPROVAL],
        Status.REJECTED: [Status.AWAITING_APPROVAL],
        Status.DONE: [Status.RUNNING],
        Status.FAILED: [Status.RUNNING],
    })
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    refunded_rows = models.PositiveIntegerField(_("refunded rows"), default=0)
    refunded_amount = models.DecimalField(_("refunded amount"), **MONEY, default=Decimal("0"))
    # What the valid rows would refund, and how many are above the uploader's single-refund limit:
    # either over its limit makes the batch wait for a second person's approval.
    valid_amount = models.DecimalField(_("amount to refund"), **MONEY, default=Decimal("0"), db_default=Decimal("0"))
    over_limit_rows = models.PositiveIntegerField(_("rows above the limit"), default=0, db_default=0)
    approval_needed = models.BooleanField(_("needs approval"), default=False, db_default=False)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("approved or rejected by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=300, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        db_table = "orders_pricediffbatch"
        verbose_name = _("price-difference batch")
        verbose_name_plural = _("price-difference batches")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.file_name


class PriceDiffRow(models.Model):
    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Invalid")
        REFUNDED = "refunded", _("Refunded")
        SKIPPED = "skipped", _("Skipped (already refunded for this drop)")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(PriceDiffBatch, on_delete=models.CASCADE, related_name="rows", verbose_name=_("batch"))
    row_number = models.PositiveIntegerField(_("row"))
    order_number = models.CharField(_("order number"), max_length=64)
    sku = models.CharField(_("SKU"), max_length=64)
    new_price = models.DecimalField(_("new price"), **MONEY, null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    order_item = models.ForeignKey(OrderItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("order item"))
    amount = models.DecimalField(_("difference"), **MONEY, null=True, blank=True)
    # Valid, but above the uploader's single-refund limit: paid only after the batch is approved.
    over_limit = models.BooleanField(_("above the limit"), default=False, db_default=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    error = models.CharField(_("error"), max_length=300, blank=True)
    refund = models.ForeignKey(Refund, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("refund"))

    class Meta:
        db_table = "orders_pricediffrow"
        verbose_name = _("price-difference row")
        verbose_name_plural = _("price-difference rows")
        ordering = ["batch_id", "row_number"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="pricediff_row_unique")]
        indexes = [models.Index(fields=["batch", "status", "row_number"], name="pricediff_batch_status_idx")]

    def __str__(self):
        return f"{self.batch_id}:{self.row_number}"
