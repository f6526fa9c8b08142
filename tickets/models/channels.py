"""How conversations reach the customer and come back: shop mailboxes (IMAP in, SMTP out), the mails received,
the platform chat integrations, and one delivery record per outbound message and channel.

Every outbound message goes through tickets/outbound (one service, channel adapters behind it); the mail that
comes in goes through tickets/mail. Neither is a feature: message_add (the core) plans the deliveries.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import Platform
from tickets.models.ticket import Message, Ticket


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (loopback or test servers only)")


class Mailbox(models.Model):
    """One of the shop's e-mail addresses: polled over IMAP for customers' mail, and sending the desk's replies
    over SMTP from the same address. A provider that posts parsed mail uses the inbound-mail webhook, signed
    with `webhook_secret`, instead of IMAP."""

    name = models.SlugField(_("name"), max_length=50, unique=True)
    address = models.EmailField(_("shop address"), help_text=_("Replies go out from this address."))
    display_name = models.CharField(_("sender name"), max_length=100, blank=True, help_text=_("e.g. the shop's name"))
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default for replies"), default=False,
        help_text=_("Replies on a ticket that did not come in by mail to one of the shop's boxes go out from here."),
    )
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True, help_text=_("Blank: not polled."))
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL)
    imap_user = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password = models.CharField(
        _("IMAP password or app token"), max_length=255, blank=True,
        help_text=_("Use an app token (授权码) where the provider offers one."),
    )
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True, help_text=_("Blank: replies not sent."))
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=465)
    smtp_security = models.CharField(_("SMTP security"), max_length=10, choices=Security.choices, default=Security.SSL)
    smtp_user = models.CharField(_("SMTP user"), max_length=255, blank=True)
    smtp_password = models.CharField(_("SMTP password or app token"), max_length=255, blank=True)
    webhook_secret = models.CharField(
        _("inbound webhook secret"), max_length=128, blank=True,
        help_text=_("Blank: the inbound-mail webhook refuses mail for this box."),
    )
    # Where polling stands: the folder's UIDVALIDITY and the highest UID taken in.
    uid_validity = models.BigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_uid = models.BigIntegerField(_("last UID taken in"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="mailbox_one_default")
        ]

    def __str__(self):
        return f"{self.name} <{self.address}>"


class InboundMail(models.Model):
    """One mail as received, kept whole (the raw MIME), whatever became of it. Unique by its Message-ID (or a
    hash of the raw mail when it has none): the same mail fetched twice is taken in once."""

    class State(models.TextChoices):
        TICKET_CREATED = "ticket_created", _("Opened a ticket")
        APPENDED = "appended", _("Added to its ticket")
        AUTO_REPLY = "auto_reply", _("Auto-reply, ignored")
        BOUNCE = "bounce", _("Bounce")
        REJECTED = "rejected", _("Refused")

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="mails", verbose_name=_("mailbox")
    )
    mail_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    raw = models.FileField(_("original mail"), upload_to="mail/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    state = models.CharField(_("state"), max_length=20, choices=State.choices)
    reason = models.TextField(_("reason"), blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mails", verbose_name=_("ticket")
    )
    message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mail",
        verbose_name=_("message"),
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("received mail")
        verbose_name_plural = _("received mails")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.sender}: {self.subject[:40]}"


class OutboxEndpoint(models.Model):
    """The shop's own integration (the middleware that talks to a platform's open API): replies on that
    platform's cases are posted to it, signed with `secret` as the intake webhook is."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    url = models.URLField(_("delivery URL"))
    secret = models.CharField(_("shared secret"), max_length=128)
    is_active = models.BooleanField(_("active"), default=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout in seconds"), default=10)

    class Meta:
        verbose_name = _("platform chat outbox")
        verbose_name_plural = _("platform chat outboxes")
        constraints = [
            models.UniqueConstraint(
                fields=["platform"], condition=Q(is_active=True), name="outbox_one_active_per_platform"
            )
        ]

    def __str__(self):
        return f"{self.get_platform_display()} → {self.url}"


class Delivery(models.Model):
    """One outbound message on one channel: its state from queued to sent (or delivered, as the platform
    reports), failed with the reason, or dead after the last retry. `key` is the idempotency key the receiver
    sees on every attempt (and the e-mail's Message-ID), so a retried send is recognised, never doubled."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PLATFORM_CHAT = "platform_chat", _("Platform chat")
        SMS = "sms", _("SMS")

    class State(models.TextChoices):
        NO_CHANNEL = "no_channel", _("No channel configured")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("message"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.QUEUED)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    external_id = models.CharField(_("receiver's id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="delivery_once_per_message_channel")
        ]
        indexes = [
            # The retry sweep: what is due again.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_due_idx"),
            # The SMS rate limit per number.
            models.Index(fields=["channel", "recipient", "created_at"], name="delivery_recipient_idx"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.recipient}: {self.get_state_display()}"
