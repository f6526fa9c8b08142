"""Agent queue indexes (tickets/views.py ticket_queue and the API ticket list): small partial indexes over
open tickets (plus resolved ones for the follow-up tab count), so the tab counts, the newest-first page
and the classified queue touch O(open) rows at most, never the whole ticket history.

PostgreSQL only, also: multivariate statistics on type, category, SLA state and status. Those columns go
together (breached tickets are open ones, a category belongs to some types), so multiplying their
selectivities guessed 2 rows where there are hundreds, and the planner then read and joined every match
before sorting instead of reading the first 50 in ticket_open_class_idx order. SQLite has no such thing.
"""

from django.db import migrations, models

OPEN = ("new", "triaged", "in_progress", "waiting_customer", "waiting_department")

CREATE_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS ticket_class_stats (mcv) ON type, category, sla_state, status FROM tickets_ticket",
    "ANALYZE tickets_ticket",
)
DROP_STATISTICS = "DROP STATISTICS IF EXISTS ticket_class_stats"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_STATISTICS:
            schema_editor.execute(statement)


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_STATISTICS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0016_article_search_index")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", (*OPEN, "resolved"))),
                fields=["status", "assignee", "escalation_level"],
                name="ticket_queue_counts_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", OPEN)), fields=["-created_at", "-id"], name="ticket_open_created_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", OPEN)),
                fields=["type", "category", "sla_state", "-created_at", "-id"],
                name="ticket_open_class_idx",
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
