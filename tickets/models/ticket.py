"""The case: the ticket, its messages and its timeline."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils.translation import gettext_lazy as _

from aftersales.choices import QuickChoiceLabels
from tickets.models.choices import (
    OPEN_EITHER,
    OPEN_STATUSES,
    Category,
    Channel,
    CloseOutcome,
    Priority,
    Responsibility,
    RiskLevel,
    SLAState,
    Status,
    TicketType,
)
from tickets.models.people import Tag
from tickets.notes import note_render


class Versioned(models.Model):
    """Optimistic concurrency: `version` is bumped by every save and sent as the ETag; a write that
    names an older version is refused (tickets/workflow.py `ensure_version`). Bookkeeping, not
    business logic; the SLA sweep's bulk_update leaves it alone (a reminder is not an edit)."""

    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)


class TicketQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def due_soonest(self):
        """Soonest due first (ticket_earliest_due), the paused and clockless last, ties newest first: the order
        of ticket_open_due_idx and ticket_open_warning_due_idx."""
        return self.annotate(sla_due_at=ticket_earliest_due()).order_by(
            F("sla_due_at").asc(nulls_last=True), "-created_at", "-id"
        )


def ticket_earliest_due():
    """The earliest of the running due times (Ticket.sla_next_due_at in SQL, but NULL while paused: waiting on
    the customer no clock runs down, so a sort by it puts the ticket with those without a policy). The
    resolution clock runs whenever another does, so each nullable due time falls back to it.
    (PostgreSQL's LEAST skips NULLs, SQLite's MIN returns NULL: the fallbacks make both agree.)"""
    resolution = F("resolution_due_at")
    return Case(
        When(sla_state=SLAState.PAUSED, then=Value(None)),
        default=Least(Coalesce("first_response_due_at", resolution), Coalesce("next_response_due_at", resolution),
                      resolution),
        output_field=models.DateTimeField(),
    )


def ticket_due_order():
    """TicketQuerySet.due_soonest() as an index's expressions (PostgreSQL's ascending index holds NULLs last)."""
    return ticket_earliest_due().asc(), F("created_at").desc(), F("id").desc()


class Ticket(QuickChoiceLabels, Versioned):
    # Human-friendly number (AS00001234) given right after the row exists; agents read it out.
    number = models.CharField(_("number"), max_length=20, unique=True, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("order"),
    )
    affected_items = models.ManyToManyField(
        "orders.OrderItem", blank=True, related_name="tickets", verbose_name=_("affected items")
    )
    # The case as the customer put it, and what they ask for (诉求).
    description = models.TextField(_("customer's words"))
    customer_request = models.TextField(_("what the customer asks for"), blank=True)
    requested_amount = models.DecimalField(
        _("requested amount"), max_digits=12, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    # Facts the agent records and confirms (seed 000, step 2).
    product_model = models.CharField(_("product model"), max_length=100, blank=True)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    symptom = models.TextField(_("symptom"), blank=True)
    frequency = models.CharField(_("frequency"), max_length=100, blank=True)
    # The customer's words cut by jieba, for the queue's word search (tickets/search.py; GIN index, 0018).
    search_text = models.TextField(_("search words"), blank=True, default="", editable=False)
    # Signals the risk rules read (tickets/suggestions.py).
    threatens_exposure = models.BooleanField(_("threatens public exposure"), default=False)
    platform_intervention = models.BooleanField(_("platform intervention"), default=False)

    type = models.CharField(_("type"), max_length=20, choices=TicketType.choices, blank=True)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.P3)
    priority_reasons = models.JSONField(_("priority reasons"), default=list, blank=True)
    priority_overridden = models.BooleanField(_("priority set by a person"), default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets", verbose_name=_("tags"))
    responsibility = models.CharField(
        _("responsibility"), max_length=20, choices=Responsibility.choices, default=Responsibility.UNDETERMINED
    )
    risk_level = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    risk_reasons = models.JSONField(_("risk reasons"), default=list, blank=True)
    risk_overridden = models.BooleanField(_("risk set by a person"), default=False)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)

    # SLA clocks (tickets/sla/clock.py keeps them; the sweep reads them through indexes).
    sla_policy = models.ForeignKey(
        "tickets.SLAPolicy", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets",
        verbose_name=_("SLA policy"),
    )
    sla_state = models.CharField(_("SLA state"), max_length=10, choices=SLAState.choices, default=SLAState.NONE)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_started_at = models.DateTimeField(_("customer waiting since"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_started_at = models.DateTimeField(_("resolution clock started"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    follow_up_due_at = models.DateTimeField(_("follow-up due"), null=True, blank=True)
    # While waiting_customer the clocks stand still; the paused business time is added back on resume.
    sla_paused_at = models.DateTimeField(_("SLA paused at"), null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(_("SLA paused (business seconds)"), default=0)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # The closing summary (seed 000, last step): archive needs all three; knowledge articles start from it.
    root_cause = models.TextField(_("root cause"), blank=True)
    summary = models.TextField(_("what was done"), blank=True)
    what_worked = models.TextField(_("what worked"), blank=True)
    # Counted here, not from events, so reports aggregate one table.
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    close_outcome = models.CharField(_("follow-up outcome"), max_length=10, choices=CloseOutcome.choices, blank=True)
    # The first follow-up of the current resolution (any result): the follow-up clock stops there.
    followed_up_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    # Set when a clock ran past its due time, kept after the clock stops (SLA compliance in reports).
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    # Part of every customer link's signature: replacing it revokes the links given out before.
    customer_link_key = models.CharField(_("customer link key"), max_length=32, blank=True)

    # The platform's own deadline for the shop (e.g. Taobao refund_remind_timeout, Douyin status_deadline):
    # past it the platform decides for the buyer. Preferred over any default (DOMAIN.md).
    platform_deadline_at = models.DateTimeField(_("platform deadline"), null=True, blank=True)
    # Where the case came from by machine (platform + its after-sales id): intake is idempotent on it.
    external_source = models.CharField(_("external source"), max_length=20, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~Q(external_id=""),
                name="ticket_unique_external_id",
            ),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in Status]), name="ticket_status_known"),
            models.CheckConstraint(
                condition=Q(requested_amount__isnull=True) | Q(requested_amount__gte=Decimal("0")),
                name="ticket_requested_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="ticket_status_created_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_created_idx"),
            models.Index(fields=["type", "category"], name="ticket_type_category_idx"),
            models.Index(fields=["priority", "-created_at"], name="ticket_priority_created_idx"),
            models.Index(fields=["sla_state", "-created_at"], name="ticket_sla_state_created_idx"),
            models.Index(fields=["-updated_at"], name="ticket_updated_idx"),  # queue sort "recently updated"
            models.Index(fields=["created_at"], name="ticket_created_idx"),  # reports: tickets of a period
            # Agent queue (tickets/views.py ticket_queue, the API list): partial indexes over open tickets
            # only. The tab counts read status/assignee/escalation of the open and resolved tickets
            # index-only; the newest-first page (and the API cursor) reads its 50 rows in index order;
            # the classified queue (type, category, SLA state) counts and lists without the history.
            models.Index(
                fields=["status", "assignee", "escalation_level"],
                condition=Q(status__in=(*OPEN_STATUSES, Status.RESOLVED)), name="ticket_queue_counts_idx",
            ),
            models.Index(fields=["-created_at", "-id"], condition=Q(status__in=OPEN_STATUSES),
                         name="ticket_open_created_idx"),
            models.Index(
                fields=["type", "category", "sla_state", "-created_at", "-id"], condition=Q(status__in=OPEN_STATUSES),
                name="ticket_open_class_idx",
            ),
            # Dashboard (tickets/dashboard.py): "resolved today" as a range read, and small partial indexes
            # over open tickets only, so the live figures and lists touch O(open) rows, never the history.
            # "Open" is spelled status = a OR status = b ... here (OPEN_EITHER): PostgreSQL proves the
            # queries' `status IN (...)` implies it, so these serve them as the IN-spelled ones above do.
            models.Index(fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="ticket_resolved_idx"),
            models.Index(
                fields=["status", "assignee", "sla_state", "risk_level"],
                condition=OPEN_EITHER,
                name="ticket_open_dash_idx",
            ),
            # The queue sorted "SLA due soonest" and the dashboard's at-risk list read in this order until the
            # page is full (the at-risk list from its own: in the open tickets' order the breached come first).
            models.Index(*ticket_due_order(), condition=Q(status__in=OPEN_STATUSES), name="ticket_open_due_idx"),
            models.Index(
                *ticket_due_order(), condition=OPEN_EITHER & Q(sla_state=SLAState.WARNING),
                name="ticket_open_warning_due_idx",
            ),
            models.Index(
                fields=["-escalation_level", "created_at"],
                condition=OPEN_EITHER & Q(sla_state=SLAState.BREACHED),
                name="ticket_open_breached_idx",
            ),
            models.Index(
                fields=["-escalation_level", "-created_at"],
                condition=OPEN_EITHER
                & (Q(escalation_level__gt=0) | Q(risk_level=RiskLevel.HIGH)),
                name="ticket_open_escalated_idx",
            ),
        ]

    def __str__(self):
        return self.number or f"#{self.pk}"

    # The earliest moment a warning or breach falls due; the sweep picks tickets where it has passed. Stored
    # in its own narrow row (tickets/sla/models.py SLACheck), not on the ticket: set by the SLA refresh, saved
    # by sla_checks_save, read from that row when this instance has not set it.
    @property
    def sla_next_check_at(self):
        if "_sla_next_check_at" not in self.__dict__:
            relation = self._meta.get_field("sla_check")
            if relation.is_cached(self):  # select_related("sla_check")
                check = relation.get_cached_value(self)
                self._sla_next_check_at = check.at if check else None
            elif self.pk is None:
                self._sla_next_check_at = None
            else:
                model = relation.related_model
                self._sla_next_check_at = model.objects.filter(ticket_id=self.pk).values_list("at", flat=True).first()
        return self._sla_next_check_at

    @sla_next_check_at.setter
    def sla_next_check_at(self, value):
        self._sla_next_check_at = value

    # What the sweep will find at the coming moments (tickets/sla/clock.py sla_plan), saved with the next check:
    # set by the SLA refresh. None: not computed here, and a check saved without one is recomputed when due.
    sla_plan = None

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("_sla_next_check_at", None)  # read again from its row, like the fields
        super().refresh_from_db(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def sla_next_due_at(self):
        """The nearest running due time (for the countdown in lists); no query."""
        dues = [d for d in (self.first_response_due_at, self.next_response_due_at, self.resolution_due_at) if d]
        return min(dues) if dues else None

    @property
    def is_read_only(self) -> bool:
        return self.status == Status.ARCHIVED

    @property
    def customer_may_write(self) -> bool:
        """The customer may add words and evidence until the case is closed; after that a new case is opened."""
        return self.status not in (Status.CLOSED, Status.ARCHIVED)

    @property
    def follow_up_open(self) -> bool:
        """Follow-up (survey, call) belongs to a resolution: resolved, or closed and not yet archived."""
        return self.status in (Status.RESOLVED, Status.CLOSED) and self.resolved_at is not None


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", _("From customer")
        OUTBOUND = "outbound", _("To customer")
        NOTE = "note", _("Internal note")  # never shown to the customer

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    body = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The e-mail this message is (received) or was sent as: the threading headers of the next mail find it.
    email_message_id = models.CharField(_("e-mail Message-ID"), max_length=255, blank=True)
    # The platform's own id of a chat message reported by the integration: the same report twice is one message.
    external_id = models.CharField(_("platform message id"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_created_idx"),
            models.Index(
                fields=["email_message_id"], name="message_email_id_idx", condition=~Q(email_message_id="")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "external_id"], condition=~Q(external_id=""), name="message_external_once"
            )
        ]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.body[:40]}"


class TicketEvent(models.Model):
    """The immutable timeline: who did what, when, from -> to, and why.

    Written by services in the same transaction as the change it records; never edited.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("actor")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from status"), max_length=20, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, blank=True)
    # {"field": [old, new], ...} for classification, assignment and money changes.
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(_("reason"), blank=True)  # what a person typed
    # What the desk wrote by itself: [[msgid, params], ...] (tickets/notes.py), read in each reader's language.
    note = models.JSONField(_("note"), default=list, blank=True, db_default=[])

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created_idx"),
            # Dashboard breach chart: a few percent of ~8 events per ticket; without it a seq scan of them all.
            models.Index(
                fields=["created_at"], condition=Q(action="sla_breached"), name="event_sla_breached_idx"
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.from_status}→{self.to_status}"

    def save(self, *args, **kwargs):
        # Guard, not logic: the timeline is evidence; an edited event is a forged one.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError(_("Timeline events cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Timeline events cannot be deleted."))

    @property
    def reason_text(self) -> str:
        """Why, in the reader's language: the desk's note, or what the person typed."""
        return note_render(self.note) if self.note else self.reason
