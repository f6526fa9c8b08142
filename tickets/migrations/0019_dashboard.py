"""Dashboard indexes (tickets/dashboard.py): "resolved today" as a range read, the breach chart without a
scan of the whole timeline, and small partial indexes over open tickets for the live figures and lists.

PostgreSQL only, extended statistics on (status, sla_state): the planner otherwise multiplies the two
selectivities as if independent ("warning" or "breached" tickets are nearly all open), expects a handful of
at-risk tickets, and sorts every one of them after the joins instead of reading the first 20 in
ticket_open_warning_idx order. SQLite has no such statistics; there this step does nothing.
"""

from django.db import migrations, models

# status = a OR status = b ... (not IN): see the comment on these indexes in tickets/models.py.
OPEN = models.Q(
    ("status", "new"), ("status", "triaged"), ("status", "in_progress"), ("status", "waiting_customer"),
    ("status", "waiting_department"), _connector="OR",
)

CREATE_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS ticket_status_sla_stats (mcv) ON status, sla_state FROM tickets_ticket",
    "ANALYZE tickets_ticket (status, sla_state)",  # a sample, about a second at a million rows
)
DROP_STATISTICS = "DROP STATISTICS IF EXISTS ticket_status_sla_stats"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_STATISTICS:
            schema_editor.execute(statement)


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_STATISTICS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0018_ticket_search")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("resolved_at__isnull", False)), fields=["resolved_at"], name="ticket_resolved_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=OPEN,
                fields=["status", "assignee", "sla_state", "risk_level"],
                name="ticket_open_dash_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(OPEN, ("sla_state", "warning")),
                fields=["sla_next_check_at"],
                name="ticket_open_warning_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(OPEN, ("sla_state", "breached")),
                fields=["-escalation_level", "created_at"],
                name="ticket_open_breached_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(OPEN, models.Q(("escalation_level__gt", 0), ("risk_level", "high"), _connector="OR")),
                fields=["-escalation_level", "-created_at"],
                name="ticket_open_escalated_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(
                condition=models.Q(("action", "sla_breached")), fields=["created_at"], name="event_sla_breached_idx"
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
