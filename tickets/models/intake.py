"""Where tickets come from (signed intake sources, their events) and the reply templates agents send."""
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Platform
from tickets.models.choices import Category, TicketType
from tickets.models.ticket import Ticket


class IntakeSource(models.Model):
    """A system allowed to post platform after-sales events to /api/v1/intake/, with its shared secret."""

    name = models.SlugField(_("name"), max_length=50, unique=True)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    secret = models.CharField(_("shared secret"), max_length=128)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("intake source")
        verbose_name_plural = _("intake sources")

    def __str__(self):
        return self.name


class IntakeEvent(models.Model):
    """One platform after-sales record as received (raw payload kept); unique per platform and id.

    The webhook stores it and answers with its receipt at once; a worker turns pending events into tickets
    in batches (tickets/intake.py). Later events for the same id that arrive before the ticket exists wait
    in `updates` and are applied right after it is made."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")  # stored, no ticket yet: a worker (or the beat sweep) will make it
        DONE = "done", _("done")  # the ticket exists (`ticket`)
        FAILED = "failed", _("failed")  # refused when the ticket was made (`errors`); no ticket will come

    source = models.ForeignKey(IntakeSource, on_delete=models.PROTECT, related_name="events", verbose_name=_("source"))
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    external_id = models.CharField(_("external after-sales id"), max_length=100)
    payload = models.JSONField(_("payload"))
    # What the webhook validated, in JSON form (amounts as text, times ISO 8601): the worker makes the ticket
    # from it without validating again.
    data = models.JSONField(_("validated event"), default=dict)
    receipt = models.UUIDField(_("receipt"), default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    updates = models.JSONField(_("updates waiting for the ticket"), default=list, blank=True)
    errors = models.JSONField(_("errors"), null=True, blank=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="intake_events", verbose_name=_("ticket"),
                               null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("intake event")
        verbose_name_plural = _("intake events")
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="intake_event_once_per_platform_id"),
            models.CheckConstraint(condition=~models.Q(state="done") | models.Q(ticket__isnull=False),
                                   name="intake_event_done_has_ticket"),
        ]
        indexes = [
            # The workers' claim and the safety sweep read only the pending events (a handful among millions).
            models.Index(fields=["id"], condition=models.Q(state="pending"), name="intake_event_pending_idx"),
        ]

    def __str__(self):
        return f"{self.platform}:{self.external_id}"


class ReplyTemplate(models.Model):
    """A canned reply; placeholders are filled from the ticket (tickets/replies.py)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    body = models.TextField(
        _("text"),
        help_text=_("Placeholders: {customer_name} {order_number} {ticket_number} {agent_name} {product}"),
    )
    ticket_type = models.CharField(_("type"), max_length=20, choices=TicketType.choices, blank=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name"]

    def __str__(self):
        return self.name
