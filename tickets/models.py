from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.choices import QuickChoiceLabels
from aftersales.states import StatusFlow
from customers.models import Platform


class Status(models.TextChoices):
    """The ticket lifecycle; transitions live only in tickets/workflow.py."""

    NEW = "new", _("New")  # 受理: taken in, not yet classified
    TRIAGED = "triaged", _("Triaged")  # 已分类: type and category known, nobody working it yet
    IN_PROGRESS = "in_progress", _("In progress")  # 处理中: an agent works it
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")  # 待客户回复: SLA clock paused
    WAITING_DEPARTMENT = "waiting_department", _("Waiting for department")  # 待部门处理: subtasks open
    RESOLVED = "resolved", _("Resolved")  # 已解决: waiting for the customer's confirmation / follow-up
    CLOSED = "closed", _("Closed")  # 已关闭: confirmed, rated or silent past the follow-up window
    ARCHIVED = "archived", _("Archived")  # 已归档: summary written; read-only from here on


OPEN_STATUSES = (
    Status.NEW,
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.WAITING_CUSTOMER,
    Status.WAITING_DEPARTMENT,
)
# The same set as an OR of equalities (partial index conditions, see Ticket.Meta.indexes).
OPEN_EITHER = Q(*[("status", s) for s in OPEN_STATUSES], _connector=Q.OR)


class Channel(models.TextChoices):
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social media")
    PLATFORM = "platform", _("Platform after-sales request")  # arrived by the intake webhook
    PLATFORM_DISPUTE = "platform_dispute", _("Platform dispute")
    CUSTOMER_LINK = "customer_link", _("Customer link")  # the customer acted on their signed link
    OTHER = "other", _("Other")


class TicketType(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")  # 咨询
    COMPLAINT = "complaint", _("Complaint")  # 投诉
    RETURN_REFUND = "return_refund", _("Return and refund")  # 退货退款
    REFUND_ONLY = "refund_only", _("Refund only")  # 仅退款
    EXCHANGE = "exchange", _("Exchange")  # 换货
    RESHIP = "reship", _("Reship missing or wrong item")  # 补寄
    REPAIR = "repair", _("Repair")  # 维修
    PRICE_DIFFERENCE = "price_difference", _("Price difference")  # 退差/价保
    TECH_SUPPORT = "tech_support", _("Technical support")  # 技术支持


class Category(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    LOGISTICS = "logistics", _("Logistics / delivery")
    WRONG_OR_MISSING_ITEM = "wrong_or_missing_item", _("Wrong or missing item")
    USAGE = "usage", _("Usage question")
    PRICE = "price", _("Price")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    P1 = "P1", _("P1 urgent")
    P2 = "P2", _("P2 high")
    P3 = "P3", _("P3 normal")
    P4 = "P4", _("P4 low")


class Responsibility(models.TextChoices):
    """责任方: who caused the problem; drives who pays and the shop's metrics."""

    UNDETERMINED = "undetermined", _("Undetermined")
    MERCHANT = "merchant", _("Merchant")
    CUSTOMER = "customer", _("Customer")
    THIRD_PARTY = "third_party", _("Third party (e.g. courier)")


class SLAState(models.TextChoices):
    NONE = "none", _("No SLA")  # no clock running (closed, or no policy matched)
    ON_TRACK = "on_track", _("On track")
    WARNING = "warning", _("Warning")  # a warning threshold has passed
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused")  # waiting on the customer


class CloseOutcome(models.TextChoices):
    """How the follow-up (回访) ended when the ticket closed."""

    CONFIRMED = "confirmed", _("Customer confirmed it is solved")
    RATED = "rated", _("Customer confirmed and rated")
    SILENT = "silent", _("No answer from the customer")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Department(models.Model):
    """A team that works subtasks handed over by agents (warehouse, finance...). Admins can add more."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    # The department's internal target for a subtask when the agent sets no due time.
    subtask_target_hours = models.PositiveIntegerField(_("subtask target (hours)"), default=24)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name=_("department")
    )
    on_duty = models.BooleanField(_("on duty"), default=True)
    # The largest refund or compensation this person may grant alone; above it someone else approves.
    refund_limit = models.DecimalField(_("refund limit"), max_digits=12, decimal_places=2, default=Decimal("200"))
    # No limit at all, for supervisors only and only when said here: being a supervisor is not enough.
    refunds_unlimited = models.BooleanField(_("no refund limit"), default=False, db_default=False)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


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
    # The earliest moment a warning or breach falls due; the sweep picks tickets where it has passed.
    sla_next_check_at = models.DateTimeField(_("next SLA check"), null=True, blank=True)
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
            models.Index(
                fields=["sla_next_check_at"], condition=Q(sla_next_check_at__isnull=False),
                name="ticket_sla_next_check_idx",
            ),
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
            models.Index(
                fields=["sla_next_check_at"],
                condition=OPEN_EITHER & Q(sla_state=SLAState.WARNING),
                name="ticket_open_warning_idx",
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

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_created_idx")]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.body[:40]}"


class Subtask(QuickChoiceLabels, Versioned):
    """Work handed to a department (inspect a return, pay a refund...). While any subtask is
    open the ticket waits on departments and cannot be resolved (tickets/subtasks.py)."""

    class Kind(models.TextChoices):
        INSPECT_RETURN = "inspect_return", _("Inspect returned item")
        RESHIP = "reship", _("Reship")
        REFUND_PAYMENT = "refund_payment", _("Refund payment")
        CONTACT_COURIER = "contact_courier", _("Contact courier")
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

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="solutions", verbose_name=_("ticket"))
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

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("ticket"))
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


class Incident(models.Model):
    """批量问题: many tickets with one cause (a defective batch, a SKU binding error, a stalled hub),
    handled once with one agreed reply (统一口径) and plan."""

    class Cause(models.TextChoices):
        PRODUCT_DEFECT = "product_defect", _("Same product, same problem")
        SKU_BINDING = "sku_binding", _("SKU binding error (wrong item sent)")
        CARRIER_STALLED = "carrier_stalled", _("Courier stalled")
        LATE_SHIPMENT = "late_shipment", _("Shipped past the promised time")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        # Detection grouped the tickets; nobody has looked yet. Nothing is sent.
        SUGGESTED = "suggested", _("Suggested by detection")
        # A supervisor agreed the reply and plan: replies and proactive tickets may go out.
        CONFIRMED = "confirmed", _("Confirmed")
        # Done (resolved_by, resolved_at): a record from now on, read-only.
        RESOLVED = "resolved", _("Resolved")
        # Not a real batch problem: read-only as well.
        DISMISSED = "dismissed", _("Dismissed")

    class OrderTime(models.TextChoices):
        """Which time of an order puts it inside the affected range."""

        PLACED = "placed", _("Time the order was placed")
        SHIPPED = "shipped", _("Time the order was shipped")

    CLOSED_STATUSES = (Status.RESOLVED, Status.DISMISSED)

    title = models.CharField(_("title"), max_length=200)
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUGGESTED)
    status_flow = StatusFlow({
        Status.CONFIRMED: [Status.SUGGESTED, Status.CONFIRMED],  # confirmed again: the reply or plan edited
        Status.DISMISSED: [Status.SUGGESTED, Status.CONFIRMED],
        Status.RESOLVED: [Status.CONFIRMED],
    })
    product = models.ForeignKey("orders.Product", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="incidents", verbose_name=_("product"))
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    # When the complaints came in (detection stretches window_end on every run while they keep coming).
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    # Which orders the incident reaches: the product's orders placed (or shipped) in this range.
    # Empty means the window above; confirming fills them in, so that later detection runs, which
    # stretch window_end, never widen who gets a proactive ticket after the supervisor looked.
    affected_from = models.DateTimeField(_("affected orders from"), null=True, blank=True)
    affected_to = models.DateTimeField(_("affected orders to"), null=True, blank=True)
    affected_order_time = models.CharField(
        _("affected orders matched by"), max_length=10, choices=OrderTime.choices, default=OrderTime.PLACED
    )
    # Orders in the range the supervisor ruled out (checked by hand, already handled elsewhere):
    # they never get a proactive ticket.
    excluded_orders = models.ManyToManyField("orders.Order", blank=True, related_name="excluded_from_incidents",
                                             verbose_name=_("excluded orders"))
    agreed_reply = models.TextField(_("agreed reply (统一口径)"), blank=True)
    plan = models.TextField(_("plan"), blank=True)
    tickets = models.ManyToManyField(Ticket, blank=True, related_name="incidents", verbose_name=_("tickets"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("confirmed by"))
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("resolved by"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Detection suggests one open incident per product and category, however often it runs.
            models.UniqueConstraint(
                fields=["product", "category"], condition=Q(status__in=["suggested", "confirmed"]),
                name="incident_one_open_per_product_category",
            ),
            models.CheckConstraint(
                condition=Q(affected_from__isnull=True) | Q(affected_to__isnull=True)
                | Q(affected_from__lte=models.F("affected_to")),
                name="incident_affected_range_ordered",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_closed(self) -> bool:
        """Resolved or dismissed: nothing about the incident changes any more."""
        return self.status in self.CLOSED_STATUSES

    @property
    def affected_range(self) -> tuple:
        """(from, to) of the affected orders: the stored range, or the incident's window where empty."""
        return (self.affected_from or self.window_start, self.affected_to or self.window_end)


class IncidentContact(models.Model):
    """One row per customer an incident has reached with its agreed reply, on which ticket and when.

    The row is inserted first, in the same transaction as the ticket and the message it stands for:
    a second click, a second supervisor or a retried task hits the unique constraint (or, on
    PostgreSQL, waits for the first transaction and then hits it) and sends nothing.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="contacts",
                                 verbose_name=_("incident"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    # Empty only inside the claiming transaction (the claim comes before the proactive ticket exists).
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="incident_contacts", verbose_name=_("ticket"))
    # True when the desk opened the ticket (the customer had not contacted us); False for a member's ticket.
    proactive = models.BooleanField(_("opened by us"), default=False)
    replied_at = models.DateTimeField(_("agreed reply sent at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("incident contact")
        verbose_name_plural = _("incident contacts")
        ordering = ["created_at", "id"]
        constraints = [
            # The agreed reply reaches a customer once per incident, whatever clicks twice or retries.
            models.UniqueConstraint(fields=["incident", "customer"], name="incident_contact_once_per_customer"),
        ]

    def __str__(self):
        return f"{self.incident_id}:{self.customer_id}"


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
    reason = models.TextField(_("reason"), blank=True)

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


from .followup.models import FollowUp, SatisfactionSurvey  # noqa: E402,F401
from .knowledge.models import KnowledgeArticle  # noqa: E402,F401
from .notifications import Notification  # noqa: E402,F401  (models of the app live in several modules)
from .sla.models import BusinessCalendar, CalendarDay, PromoPeriod, SLAPolicy, WorkingInterval  # noqa: E402,F401
