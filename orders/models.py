from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.states import StatusFlow
from customers.models import Platform

MONEY = {"max_digits": 12, "decimal_places": 2}


class Product(models.Model):
    sku = models.CharField(_("SKU code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    model = models.CharField(_("model"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]

    def __str__(self):
        return f"{self.sku} {self.name}"


class Order(models.Model):
    class Status(models.TextChoices):
        PAID = "paid", _("Paid, not shipped")  # 待发货
        SHIPPED = "shipped", _("Shipped")  # 已发货
        COMPLETED = "completed", _("Completed")  # 交易成功 (buyer confirmed receipt)
        CANCELLED = "cancelled", _("Cancelled")  # 交易关闭

    class LogisticsStatus(models.TextChoices):
        NOT_SHIPPED = "not_shipped", _("Not shipped")
        AWAITING_PICKUP = "awaiting_pickup", _("Awaiting pickup")  # 待揽收
        COLLECTED = "collected", _("Collected")  # 已揽收
        IN_TRANSIT = "in_transit", _("In transit")
        STALLED = "stalled", _("Stalled")  # 物流停滞: no tracking update past the platform's limit
        DELIVERED = "delivered", _("Delivered")
        RETURNED = "returned", _("Returned to sender")

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    # The platform's own order number (订单号), what the customer reads out on the phone.
    external_number = models.CharField(_("order number"), max_length=64)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PAID)
    paid_amount = models.DecimalField(
        _("paid amount"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    placed_at = models.DateTimeField(_("placed at"))
    ship_by = models.DateTimeField(_("promised ship-by time"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True, db_index=True)
    logistics_status = models.CharField(
        _("logistics status"), max_length=20, choices=LogisticsStatus.choices, default=LogisticsStatus.NOT_SHIPPED
    )
    # The last tracking update from the carrier: the stalled-parcel watch compares it with now.
    logistics_updated_at = models.DateTimeField(_("last tracking update"), null=True, blank=True)
    warehouse = models.CharField(_("warehouse"), max_length=50, blank=True)
    shipping_address = models.CharField(_("shipping address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_number"], name="order_unique_platform_number"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_paid_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["external_number"], name="order_external_number_idx"),
            models.Index(fields=["status", "ship_by"], name="order_status_ship_by_idx"),
            models.Index(fields=["logistics_status", "logistics_updated_at"], name="order_logistics_updated_idx"),
        ]

    def __str__(self):
        return f"{self.get_platform_display()} {self.external_number}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="order_items", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    # What the buyer actually paid for this line after discounts; refunds are capped by it.
    paid_amount = models.DecimalField(_("paid amount"), **MONEY, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_item_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_item_unit_price_not_negative"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_item_paid_not_negative"),
            models.CheckConstraint(
                condition=Q(paid_amount__lte=F("unit_price") * F("quantity")),
                name="order_item_paid_not_above_list_price",
            ),
        ]

    def __str__(self):
        return f"{self.product.name} × {self.quantity}"


class Refund(models.Model):
    """Money back to the buyer. Never more than was paid for its items minus earlier refunds
    (orders/services.py checks it under the order's row lock)."""

    class Method(models.TextChoices):
        ORIGINAL = "original", _("Original payment")
        STORE_CREDIT = "store_credit", _("Store credit")
        COUPON = "coupon", _("Coupon")

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")  # money back for goods or service (refund only, return and refund)
        PRICE_DIFFERENCE = "price_difference", _("Price difference")  # 退差/价保: owed once per line and drop
        COMPENSATION = "compensation", _("Compensation")  # goodwill on top of the goods, still capped by paid

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")  # waiting for approval (above the requester's limit)
        APPROVED = "approved", _("Approved")  # finance may pay it
        PAID = "paid", pgettext_lazy("refund status", "Paid")
        FAILED = "failed", _("Failed")  # payment failed or the request was rejected; counts for nothing

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    items = models.ManyToManyField(OrderItem, blank=True, related_name="refunds", verbose_name=_("items"))
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds",
        verbose_name=_("ticket"),
    )
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REFUND,
                            db_default=Kind.REFUND)
    reason = models.CharField(_("reason"), max_length=300)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.ORIGINAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED)
    status_flow = StatusFlow({
        Status.APPROVED: [Status.REQUESTED],
        Status.PAID: [Status.APPROVED],
        Status.FAILED: [Status.REQUESTED, Status.APPROVED],
    })
    # Bulk imports: one refund per (batch, order line); re-importing the same file creates nothing new.
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, null=True, blank=True, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("requested by")
    )
    # Who let it be paid: the requester within their own limit, or someone else above it (orders/money.py).
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("approved by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["order", "status"], name="refund_order_status_idx")]

    def __str__(self):
        return f"¥{self.amount} {self.get_status_display()}"


class ReturnShipment(models.Model):
    """The parcel the buyer sends back, inspected by the warehouse."""

    class Inspection(models.TextChoices):
        PENDING = "pending", _("Not inspected yet")
        AS_DESCRIBED = "as_described", _("As the customer described")
        DAMAGED_BY_CUSTOMER = "damaged_by_customer", _("Damaged by the customer")
        NOT_OUR_ITEM = "not_our_item", _("Not the shop's item")

    class Disposition(models.TextChoices):
        UNDECIDED = "undecided", _("Undecided")
        RESTOCK = "restock", _("Restock")
        WRITE_OFF = "write_off", _("Write off")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="returns",
                               verbose_name=_("ticket"))
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True, db_index=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    inspection = models.CharField(_("inspection result"), max_length=20, choices=Inspection.choices,
                                  default=Inspection.PENDING)
    disposition = models.CharField(_("restock or write-off"), max_length=20, choices=Disposition.choices,
                                   default=Disposition.UNDECIDED)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("return shipment")
        verbose_name_plural = _("return shipments")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"


class Shipment(models.Model):
    """A replacement parcel we send (exchange or reship)."""

    class Reason(models.TextChoices):
        EXCHANGE = "exchange", _("Exchange")
        RESHIP = "reship", _("Reship missing or wrong item")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="replacements", verbose_name=_("order"))
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="shipments",
                               verbose_name=_("ticket"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    items = models.ManyToManyField(OrderItem, blank=True, related_name="replacements", verbose_name=_("items"))
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("replacement shipment")
        verbose_name_plural = _("replacement shipments")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_reason_display()} {self.tracking_number}"
