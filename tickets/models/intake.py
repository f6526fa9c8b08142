"""Where tickets come from (signed intake sources, their events) and the reply templates agents send."""


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
    """One platform after-sales record as received (raw payload kept); unique per platform and id."""

    source = models.ForeignKey(IntakeSource, on_delete=models.PROTECT, related_name="events", verbose_name=_("source"))
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    external_id = models.CharField(_("external after-sales id"), max_length=100)
    payload = models.JSONField(_("payload"))
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="intake_events", verbose_name=_("ticket"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("intake event")
        verbose_name_plural = _("intake events")
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="intake_event_once_per_platform_id")
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
