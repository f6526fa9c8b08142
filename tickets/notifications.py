"""In-app notifications, each also sent by e-mail (after commit, retried by the sweep).

A notification has a dedupe key unique per recipient: the same warning for the same due time
is never stored, and so never sent, twice — whichever sweep or worker gets there first.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .notes import note_render


class Notification(models.Model):
    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACH = "sla_breach", _("SLA breached")
        SUBTASK_DUE_SOON = "subtask_due_soon", _("Subtask due soon")
        SUBTASK_OVERDUE = "subtask_overdue", _("Subtask overdue")
        SUBTASK_REJECTED = "subtask_rejected", _("Subtask rejected")
        FOLLOW_UP_DUE = "follow_up_due", _("Follow-up due")
        AUTO_CLOSED = "auto_closed", _("Closed automatically")
        APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
        APPROVAL_DECIDED = "approval_decided", _("Approval decided")
        NOT_SOLVED = "not_solved", _("Customer says it is not solved")
        LOW_SATISFACTION = "low_satisfaction", _("Low satisfaction score")
        INCIDENT_SUGGESTED = "incident_suggested", _("Incident suggested")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("ticket")
    )
    subtask = models.ForeignKey(
        "tickets.Subtask", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications",
        verbose_name=_("subtask"),
    )
    # What the notice is about, e.g. {"clock": "first_response", "due_at": "...", "percent": 80}.
    data = models.JSONField(_("details"), default=dict, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    email_claimed_at = models.DateTimeField(_("e-mail claimed at"), null=True, blank=True)
    email_sent_at = models.DateTimeField(_("e-mail sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_recipient"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(email_sent_at__isnull=True), name="notification_unsent_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient}"

    @property
    def text(self) -> str:
        """The notice's own sentence in the reader's language, where it has one (data["note"]: note parts)."""
        parts = (self.data or {}).get("note")
        return note_render(parts) if parts else ""


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notify_about_ticket(*, ticket, kind: str, data: dict, key: str, assignee: bool = True,
                        supervisors: bool = True) -> None:
    """Tell the ticket's assignee and/or every active supervisor, once per key and recipient."""
    from django.contrib.auth import get_user_model

    from .roles import Role

    recipients = {ticket.assignee_id} - {None} if assignee else set()
    if supervisors:
        recipients |= set(
            get_user_model().objects.filter(is_active=True, groups__name=Role.SUPERVISOR).values_list("pk", flat=True)
        )
    Notification.objects.bulk_create(
        [Notification(recipient_id=pk, kind=kind, ticket=ticket, data=data, dedupe_key=key) for pk in recipients],
        ignore_conflicts=True,
    )
