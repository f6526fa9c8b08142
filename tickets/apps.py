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
