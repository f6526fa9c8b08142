"""PostgreSQL only (SQLite, the `make run` default, has no text search; there this migration does nothing).

The queue's word search (tickets/search.py) tests a ticket's words row by row when it reads a common
word's matches in the queue's order, and so does its count (up to 1,001 matches). With the index on the
expression to_tsvector('simple', search_text), each such test parsed the text again (9 µs a row on the
bench's texts), so the count took the GIN index instead, which reads the word's whole entry (108,472
ticket ids for a word in 10% of 1,000,000 tickets): 24 ms. Stored in the row, parsed when search_text is
written, the test is a look-up in a sorted array (0.6 µs a row): the same count reads ~9,400 rows in
5 ms. strip(): the search ANDs words and never ranks by position, so positions are not kept.

The cost: ~210 bytes a ticket (the table 602 → 839 MB at 1,000,000: a report that reads the whole table,
as the 30-day volume report's count by day does, takes ~15% longer, 470 → 540 ms), and adding a stored
column rewrites the table and its indexes under an exclusive lock (64 s at 1,000,000 tickets on the 2-core
bench machine: run it in a quiet hour). IF [NOT] EXISTS throughout, as in 0003_postgresql.
"""

from django.db import migrations

CREATE = (
    "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (strip(to_tsvector('simple', search_text))) STORED",
    "CREATE INDEX IF NOT EXISTS ticket_search_vector_idx ON tickets_ticket USING gin (search_vector)",
    "DROP INDEX IF EXISTS ticket_search_idx",
)
DROP = (
    "CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin (to_tsvector('simple', search_text))",
    "DROP INDEX IF EXISTS ticket_search_vector_idx",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def vacuum(apps, schema_editor):
    """The rewrite leaves the visibility map empty, and no insert or delete brings autovacuum: until a
    VACUUM, the queue's counts (an index-only scan of ticket_queue_counts_idx) read the table instead
    (74 ms against 5 at 1,000,000 tickets). 1.3 s at 1,000,000; outside a transaction, as VACUUM must be."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("VACUUM (ANALYZE) tickets_ticket")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    atomic = False  # for the VACUUM; the rewrite itself is one transaction

    dependencies = [("tickets", "0013_intake_pending_index")]

    operations = [
        migrations.RunPython(create, drop, atomic=True),
        migrations.RunPython(vacuum, migrations.RunPython.noop, atomic=False),
    ]
