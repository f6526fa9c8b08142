from django.contrib import admin


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records that change only through services (timeline, money, lifecycle): the admin shows them.

    Deleting is refused too: they are evidence."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
