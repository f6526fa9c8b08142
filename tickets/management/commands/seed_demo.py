"""Load realistic demo data: staff users, customers, products, orders and tickets in every state.

Idempotent: everything is keyed on its natural key (username, platform account, SKU, order
number, the ticket's external id), and a demo ticket that already exists is skipped whole, so
running the command twice (as `make run` does on every start) changes no row counts.

Tickets are built only through the services (intake, classification, the state machine,
messages, subtasks, assignment) so each one has the real timeline a person would have left.
The tables, the scripted cases and the builders are in tickets/management/demo/; this command runs them
in one transaction and reports.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from orders.models import Order, OrderItem, Product
from tickets.followup.models import SatisfactionSurvey
from tickets.knowledge.demo import demo_articles_load
from tickets.knowledge.models import KnowledgeArticle
from tickets.management.demo.build import DemoBuilder
from tickets.management.demo.data import DEMO_USERS, demo_password
from tickets.models import Message, Subtask, Ticket, TicketEvent
from tickets.reply_catalog import reply_catalog_load
from tickets.sla.holidays import calendar_import_official_days, official_years
from tickets.sla.models import BusinessCalendar
from tickets.sla.sweep import sla_sweep


class Command(DemoBuilder, BaseCommand):
    help = "Load demo data (customers, orders, tickets in every state) and demo users; prints passwords."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (creates users with known passwords and prints them).",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it creates users with well-known passwords and "
                "prints them. Pass --allow-production only on a test or demo installation."
            )
        with transaction.atomic():
            self.now = timezone.now()
            # The service-hours calendar stops over 春节 and 国庆 before any demo clock starts.
            for calendar in BusinessCalendar.objects.exclude(name="7×24"):
                calendar_import_official_days(calendar=calendar, years=official_years())
            reply_catalog_load()  # the 话术 a fresh install loads with load_reply_templates
            users = self._seed_users()
            customers = self._seed_customers()
            products = self._seed_products()
            orders = self._seed_orders(customers, products)
            created, skipped = self._seed_tickets(users, customers, orders)
            self.articles = demo_articles_load(author=users["supervisor"])
        if created:
            # Each demo ticket was built with its clock in the past: one sweep now, so the first pages show
            # today's SLA states (and their notices) instead of waiting for the beat's first sweep.
            sla_sweep()
        self._report(created, skipped)

    # Output -------------------------------------------------------------------------------

    def _report(self, created: int, skipped: int) -> None:
        User = get_user_model()
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo data ready: {created} demo tickets created, {skipped} existed."))
        write("")
        write("Demo users (log in at /accounts/login/):")
        write(f"  {'username':<12}{'role':<18}{'department':<14}password")
        for username, role, department, _, _ in DEMO_USERS:
            write(f"  {username:<12}{role:<18}{department or '-':<14}{demo_password(username)}")
        write("")
        counts = {
            "users": User.objects.count(),
            "customers": Customer.objects.count(),
            "products": Product.objects.count(),
            "orders": Order.objects.count(),
            "order items": OrderItem.objects.count(),
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "events": TicketEvent.objects.count(),
            "subtasks": Subtask.objects.count(),
            "surveys": SatisfactionSurvey.objects.count(),
            "knowledge articles": KnowledgeArticle.objects.count(),
        }
        write("Counts: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
        if not settings.DEBUG:
            write(self.style.WARNING("DEBUG is off: change or remove these demo accounts before real use."))
