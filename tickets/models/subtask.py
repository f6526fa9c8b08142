"""Work handed to a department, and the files attached to a ticket, message or subtask."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.choices import QuickChoiceLabels
from tickets.models.people import Department
from tickets.models.ticket import Message, Ticket, Versioned


class Subtask(QuickChoiceLabels, Versioned):
    """Work handed to a department (inspect a return, pay a refund...). While any subtask is
    open the ticket waits on departments and cannot be resolved (tickets/subtasks.py)."""

    class Kind(models.TextChoices):
        INSPECT_RETURN = "inspect_return", _("Inspect returned item")
        RESHIP = "reship", _("Reship")
        REFUND_PAYMENT = "refund_payment", _("Refund payment")
        CONTACT_COURIER = "contact_courier", _("Contact courier")
        COURIER_CLAIM = "courier_claim", _("Courier claim (lost or damaged parcel)")  # 快递理赔
        DIAGNOSE_FAULT = "diagnose_fault", _("Diagnose fault")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")  # handed over, nobody in the department has picked it up
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected")  # back to the agent with the department's reason
        CANCELLED = "cancelled", _("Cancelled")  # the agent no longer needs it

    ACTIVE_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="subtasks", verbose_name=_("ticket"))
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="subtasks", verbose_name=_("department")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("what is needed"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_subtasks",
        verbose_name=_("assignee"),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    result = models.TextField(_("result"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The money or parcel this subtask works on: finance pays the refund, the warehouse inspects the return.
    refund = models.ForeignKey("orders.Refund", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="subtasks", verbose_name=_("refund"))
    return_shipment = models.ForeignKey("orders.ReturnShipment", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="subtasks", verbose_name=_("return shipment"))
    shipment = models.ForeignKey("orders.Shipment", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="subtasks", verbose_name=_("replacement shipment"))
    # When the department is told the subtask is due soon (80% of its time used); set with due_at.
    due_soon_at = models.DateTimeField(_("due soon from"), null=True, blank=True)
    # Claimed by the sweep (conditional UPDATE) so the department hears of it once.
    due_soon_notified_at = models.DateTimeField(_("due-soon notice sent"), null=True, blank=True)
    overdue_notified_at = models.DateTimeField(_("overdue notice sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("subtask")
        verbose_name_plural = _("subtasks")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="subtask_dept_status_due_idx"),
            models.Index(fields=["ticket", "status"], name="subtask_ticket_status_idx"),
            models.Index(
                fields=["due_at"], condition=Q(status__in=["open", "in_progress"], overdue_notified_at__isnull=True),
                name="subtask_active_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.department})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


def attachment_path(instance, filename):
    return f"attachments/{instance.ticket_id}/{filename}"


class Attachment(models.Model):
    """Evidence: photos, videos, PDFs. Type and size are checked on upload (tickets/uploads.py)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket"))
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments", verbose_name=_("message")
    )
    subtask = models.ForeignKey(
        Subtask, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments", verbose_name=_("subtask")
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
