# The messages table is big: its two new indexes are built without locking writes (aftersales/migration_operations.py).

from django.db import migrations, models

from aftersales.migration_operations import AddIndexConcurrently

EXTERNAL_ONCE = models.UniqueConstraint(
    condition=models.Q(("external_id", ""), _negated=True), fields=("ticket", "external_id"),
    name="message_external_once",
)


def add_external_once(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "message_external_once" '
            """ON "tickets_message" ("ticket_id", "external_id") WHERE NOT ("external_id" = '')"""
        )
    else:
        schema_editor.add_constraint(apps.get_model("tickets", "Message"), EXTERNAL_ONCE)


def drop_external_once(apps, schema_editor):
    schema_editor.remove_constraint(apps.get_model("tickets", "Message"), EXTERNAL_ONCE)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0010_conversations"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(("email_message_id", ""), _negated=True), fields=["email_message_id"],
                name="message_email_id_idx",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddConstraint(model_name="message", constraint=EXTERNAL_ONCE)],
            database_operations=[migrations.RunPython(add_external_once, drop_external_once)],
        ),
    ]
