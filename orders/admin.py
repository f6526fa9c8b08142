from django.contrib import admin

from aftersales.admin import ViewOnlyAdmin

from .models import Order, OrderItem, Product, Refund, ReturnShipment, Shipment


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "model", "category"]
    list_filter = ["category"]
    search_fields = ["sku", "name", "model"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "external_number",
        "platform",
        "customer",
        "status",
        "paid_amount",
        "placed_at",
        "logistics_status",
        "carrier",
        "tracking_number",
    ]
    list_filter = ["platform", "status", "logistics_status", "warehouse"]
    search_fields = ["external_number", "tracking_number", "customer__name", "customer__phone"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "placed_at"
    inlines = [OrderItemInline]


@admin.register(Refund)
class RefundAdmin(ViewOnlyAdmin):
    list_display = ["order", "ticket", "amount", "method", "status", "created_at", "paid_at"]
    list_filter = ["status", "method"]
    search_fields = ["order__external_number", "ticket__number", "dedupe_key"]
    list_select_related = ["order", "ticket"]


@admin.register(ReturnShipment)
class ReturnShipmentAdmin(ViewOnlyAdmin):
    list_display = ["order", "ticket", "carrier", "tracking_number", "received_at", "inspection", "disposition"]
    list_filter = ["inspection", "disposition"]
    search_fields = ["order__external_number", "tracking_number"]
    list_select_related = ["order", "ticket"]


@admin.register(Shipment)
class ShipmentAdmin(ViewOnlyAdmin):
    list_display = ["order", "ticket", "reason", "carrier", "tracking_number", "shipped_at"]
    list_filter = ["reason"]
    search_fields = ["order__external_number", "tracking_number"]
    list_select_related = ["order", "ticket"]
