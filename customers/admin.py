from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "platform",
        "platform_account",
        "phone",
        "tier",
        "is_difficult",
        "is_blacklisted",
        "created_at",
    ]
    list_filter = ["platform", "tier", "is_difficult", "is_blacklisted"]
    search_fields = ["name", "phone", "platform_account", "email"]
