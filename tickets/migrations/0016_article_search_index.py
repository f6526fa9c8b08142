"""The GIN index behind the case library's Chinese search (tickets/knowledge/search.py).

PostgreSQL only: SQLite (the `make run` default) has no text search, so there this migration does
nothing. The expression must stay exactly the one the search query uses, or the index goes unused.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS article_search_idx ON tickets_knowledgearticle "
    "USING gin (to_tsvector('simple', search_text))"
)
DROP = "DROP INDEX IF EXISTS article_search_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0015_closing_loop"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
