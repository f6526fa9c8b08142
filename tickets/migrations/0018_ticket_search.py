"""The queue's search box at a million tickets (tickets/search.py).

1. `Ticket.search_text`: the customer's words cut by jieba, filled here for existing tickets in batches.
2. The GIN index behind the word search, PostgreSQL only (SQLite has no text search and the search
   falls back to substrings there). The expression must stay exactly the one tickets/search.py
   queries (`_HasWords`), or the index goes unused.
3. Two indexes on customers_customer the search looks customers up by (exact name, exact platform
   account; phone already has its index). They belong to the customers app: they are created here with
   RunSQL because this change owns only tickets migrations, and should move to customers' Meta.indexes
   (same names) in a customers migration. PostgreSQL only, like the search speed they serve; IF NOT
   EXISTS so that either order of the two migrations works.
"""

from django.db import migrations, models

BATCH = 2000

CREATE = (
    "CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin (to_tsvector('simple', search_text))",
    "CREATE INDEX IF NOT EXISTS customer_name_idx ON customers_customer (name)",
    "CREATE INDEX IF NOT EXISTS customer_platform_account_idx ON customers_customer (platform_account)",
)
DROP = (
    "DROP INDEX IF EXISTS ticket_search_idx",
    "DROP INDEX IF EXISTS customer_name_idx",
    "DROP INDEX IF EXISTS customer_platform_account_idx",
)


def fill_search_text(apps, schema_editor):
    from tickets.search import SEARCH_TEXT_FIELDS, ticket_search_text

    Ticket = apps.get_model("tickets", "Ticket")
    batch = []
    for ticket in Ticket.objects.only("pk", *SEARCH_TEXT_FIELDS).order_by("pk").iterator(chunk_size=BATCH):
        ticket.search_text = ticket_search_text(ticket)
        batch.append(ticket)
        if len(batch) == BATCH:
            Ticket.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Ticket.objects.bulk_update(batch, ["search_text"])


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0017_queue_counts")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search words"),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
