"""Migrations after the squashed start: an index on a big table is built concurrently on PostgreSQL (no
write lock while a shop takes cases), in a non-atomic migration; and the models match the migrations."""

import importlib
import pkgutil

import pytest
from django.core.management import call_command
from django.db.migrations.operations import AddIndex

from aftersales.migration_operations import AddIndexConcurrently

APPS = ("customers", "orders", "tickets")
# The squashed start and the defaults that came with it: their tables were empty when they ran.
SQUASHED = {"0001_squashed_0002_queue_indexes", "0001_squashed_0005_pricediff_file_unique",
            "0002_squashed_0006_money_rule", "0001_squashed_0022_incident_scope", "0002_defaults", "0003_postgresql"}
BIG = {"customer", "order", "orderitem", "refund", "ticket", "ticketevent", "message", "subtask", "attachment",
       "notification", "intakeevent"}


def _later_migrations():
    for app in APPS:
        package = importlib.import_module(f"{app}.migrations")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name not in SQUASHED:
                yield f"{app}.{module.name}", importlib.import_module(f"{app}.migrations.{module.name}").Migration


def test_indexes_on_big_tables_are_built_concurrently_after_the_squash():
    later = list(_later_migrations())
    assert any(name == "tickets.0004_event_note" for name, _ in later)  # the scan sees the later ones
    plain = [f"{name}: {op.index.name} on {op.model_name}" for name, migration in later for op in migration.operations
             if isinstance(op, AddIndex) and not isinstance(op, AddIndexConcurrently) and op.model_name.lower() in BIG]
    atomic = [name for name, migration in later if migration.atomic
              and any(isinstance(op, AddIndexConcurrently) for op in migration.operations)]

    assert not plain, "use aftersales.migration_operations.AddIndexConcurrently for: " + "; ".join(plain)
    assert not atomic, f"a concurrent index needs `atomic = False` in {atomic}"


@pytest.mark.django_db
def test_the_models_and_the_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
