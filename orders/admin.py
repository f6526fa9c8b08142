from django.contrib import admin

from .models import Order, OrderItem, Product


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
