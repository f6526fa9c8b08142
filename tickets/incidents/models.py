"""Batch incidents (批量问题): many tickets with one cause, answered and resolved together."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.states import StatusFlow
from tickets.models.choices import (
    Category,
)


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

    class Origin(models.TextChoices):
        """What brought the incident up (its `evidence` says with which numbers)."""

        # Many tickets on one product and category within INCIDENT_WINDOW_HOURS (detect.py).
        BURST = "burst", _("Burst of tickets")
        # A product's fault tickets rising week on week (detect.py, incident_detect_trends).
        TREND = "trend", _("Rising trend")
        # A supervisor chose the tickets on the queue.
        MANUAL = "manual", _("Opened by hand")

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
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.BURST)
    # Why detection suggested it, the numbers as they were: {"hours": 24, "count": 7} for a burst;
    # {"days": 14, "factor": 2.0, "min": 5, "periods": [{"from", "to", "count"}, ...]} for a trend.
    evidence = models.JSONField(_("why suggested"), default=dict, blank=True)
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
    tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="incidents", verbose_name=_("tickets"))
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
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
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
