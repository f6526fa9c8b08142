"""Load the reply-template catalogue (tickets/reply_catalog.py) into this desk: run once after `migrate` on
a fresh install (README, "Full stack with docker-compose"; `seed_demo`, and so `make run`, does it too).
Templates already there by name, edited or switched off, are left alone; running it again creates nothing."""

from django.core.management.base import BaseCommand

from tickets.reply_catalog import reply_catalog_load


class Command(BaseCommand):
    help = "Create the reply templates (话术) of the catalogue that this desk does not have yet."

    def handle(self, *args, **options):
        created = reply_catalog_load()
        self.stdout.write(f"Reply templates created: {created}")
