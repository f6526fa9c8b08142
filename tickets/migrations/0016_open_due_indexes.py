# The queue sorted "SLA due soonest" and the dashboard's at-risk list read the open tickets in order of their
# earliest running due time from these indexes (they read the next check's, which moved to its own row in
# 0015). Built without locking the webhook's writes (aftersales/migration_operations.py).

import django.db.models.functions.comparison
from django.db import migrations, models

from aftersales.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tickets', '0015_sla_check_row'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='ticket',
            index=models.Index(models.OrderBy(models.Case(models.When(sla_state='paused', then=models.Value(None)), default=django.db.models.functions.comparison.Least(django.db.models.functions.comparison.Coalesce('first_response_due_at', models.F('resolution_due_at')), django.db.models.functions.comparison.Coalesce('next_response_due_at', models.F('resolution_due_at')), models.F('resolution_due_at')), output_field=models.DateTimeField())), models.OrderBy(models.F('created_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('status__in', ('new', 'triaged', 'in_progress', 'waiting_customer', 'waiting_department'))), name='ticket_open_due_idx'),
        ),
        AddIndexConcurrently(
            model_name='ticket',
            index=models.Index(models.OrderBy(models.Case(models.When(sla_state='paused', then=models.Value(None)), default=django.db.models.functions.comparison.Least(django.db.models.functions.comparison.Coalesce('first_response_due_at', models.F('resolution_due_at')), django.db.models.functions.comparison.Coalesce('next_response_due_at', models.F('resolution_due_at')), models.F('resolution_due_at')), output_field=models.DateTimeField())), models.OrderBy(models.F('created_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(models.Q(('status', 'new'), ('status', 'triaged'), ('status', 'in_progress'), ('status', 'waiting_customer'), ('status', 'waiting_department'), _connector='OR'), ('sla_state', 'warning')), name='ticket_open_warning_due_idx'),
        ),
    ]
