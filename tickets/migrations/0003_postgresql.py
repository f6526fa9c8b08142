"""PostgreSQL only (SQLite, the `make run` default, has no text search and no extended statistics; there
this migration does nothing).

- GIN indexes behind the Chinese word search of the case library (tickets/knowledge/search.py) and of the
  queue (tickets/search.py). The expressions must stay exactly the ones the queries use, or the indexes go
  unused.
- Extended statistics: type, category, SLA state and status go together (breached tickets are open ones, a
  category belongs to some types), so multiplying their selectivities guessed 2 rows where there are
  hundreds, and the planner read and joined every match before sorting instead of reading the first 50 in
  ticket_open_class_idx order; likewise (status, sla_state) for the dashboard's at-risk list.

IF NOT EXISTS throughout: running it on a database the old migrations made changes nothing.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS article_search_idx ON tickets_knowledgearticle "
    "USING gin (to_tsvector('simple', search_text))",
    "CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin (to_tsvector('simple', search_text))",
    "CREATE STATISTICS IF NOT EXISTS ticket_class_stats (mcv) ON type, category, sla_state, status FROM tickets_ticket",
    "CREATE STATISTICS IF NOT EXISTS ticket_status_sla_stats (mcv) ON status, sla_state FROM tickets_ticket",
    "ANALYZE tickets_ticket",
)
DROP = (
    "DROP INDEX IF EXISTS article_search_idx",
    "DROP INDEX IF EXISTS ticket_search_idx",
    "DROP STATISTICS IF EXISTS ticket_class_stats",
    "DROP STATISTICS IF EXISTS ticket_status_sla_stats",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_defaults")]

    operations = [migrations.RunPython(create, drop)]
