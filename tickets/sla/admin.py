from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..notes import note
from .holidays import calendar_import_official_days, official_years
from .models import BusinessCalendar, CalendarDay, PromoPeriod, SLAPolicy, WorkingInterval
from .services import sla_refresh_open_tickets


class RecomputesOpenTickets:
    """Editing what SLA clocks are computed from recomputes every running clock, in the same
    transaction (the admin wraps the change view in one)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        count = sla_refresh_open_tickets(
            actor=request.user, reason=note("SLA configuration changed: %(what)s", what=str(form.instance))
        )
        self.message_user(request, _("%(count)d open tickets got new due times.") % {"count": count}, messages.INFO)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        sla_refresh_open_tickets(actor=request.user,
                                 reason=note("SLA configuration deleted: %(what)s", what=str(obj)))


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ["name", "time_zone", "updated_at"]
    inlines = [WorkingIntervalInline, CalendarDayInline]
    actions = ["import_official_holidays"]

    @admin.action(description=gettext_lazy("Import China's official holidays and make-up workdays"))
    def import_official_holidays(self, request, queryset):
        years = official_years()
        if not years:
            self.message_user(request, _("The installed holiday data has no year from this one on: upgrade the "
                                         "chinesecalendar package."), messages.WARNING)
            return
        for calendar in queryset:
            written = calendar_import_official_days(calendar=calendar, years=years)
            self.message_user(request, _("%(calendar)s: %(count)d official days for %(years)s.") % {
                "calendar": calendar, "count": written, "years": ", ".join(map(str, years))}, messages.SUCCESS)
        count = sla_refresh_open_tickets(actor=request.user, reason=note("Official holidays imported."))
        self.message_user(request, _("%(count)d open tickets got new due times.") % {"count": count}, messages.INFO)

    def save_related(self, request, form, formsets, change):
        form.instance.save()  # bump updated_at: cached schedules are keyed on it
        super().save_related(request, form, formsets, change)


@admin.register(SLAPolicy)
class SLAPolicyAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = [
        "name",
        "is_active",
        "big_promo_only",
        "priority",
        "ticket_type",
        "channel",
        "customer_tier",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "follow_up_minutes",
        "warning_thresholds",
    ]
    list_filter = ["is_active", "big_promo_only", "calendar"]
    search_fields = ["name"]


@admin.register(PromoPeriod)
class PromoPeriodAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ["name", "starts_at", "ends_at"]
