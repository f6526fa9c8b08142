# The intake events table grows with every platform event: its index of pending events is built without locking
# the webhook's writes (aftersales/migration_operations.py).

from django.db import migrations, models

from aftersales.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tickets', '0012_intake_receipts'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='intakeevent',
            index=models.Index(condition=models.Q(('state', 'pending')), fields=['id'], name='intake_event_pending_idx'),
        ),
    ]
