"""Migration operations the desk's own migrations use.

From the squashed start on, an index on a big table (tickets, events, messages, subtasks, orders...) is
added with `AddIndexConcurrently` in a migration with `atomic = False`: PostgreSQL builds it without
locking writes, so a shop keeps taking cases during the deploy (tests/test_migrations.py checks it).
SQLite, the `make run` database, has no such thing: there it is a plain index.
"""

from django.contrib.postgres.operations import AddIndexConcurrently as _PostgresAddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(_PostgresAddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
