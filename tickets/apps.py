from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("After-sales tickets")

    def ready(self):
        # SQLite has no percentile aggregate: the reports add one to each new connection (tickets/reports).
        from django.db.backends.signals import connection_created

        from .reports.aggregates import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="tickets.reports.sqlite_functions")

        # "Clock stopped: 国庆节" is cached for up to a minute; an edited calendar or policy shows at once.
        from django.db.models.signals import post_delete, post_save

        from .sla.models import BusinessCalendar, CalendarDay, SLAPolicy, WorkingInterval
        from .sla.stops import clock_stops_forget

        for model in (BusinessCalendar, CalendarDay, WorkingInterval, SLAPolicy):
            for signal in (post_save, post_delete):
                signal.connect(clock_stops_forget, sender=model, dispatch_uid=f"clock_stops:{model.__name__}")
