import django.db.models.deletion
import uuid
from django.db import migrations, models


def give_receipts(apps, schema_editor):
    """A receipt of its own for each event stored before receipts existed (one UUID per row, not one for all)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE tickets_intakeevent SET receipt = gen_random_uuid() WHERE receipt IS NULL")
        return
    IntakeEvent = apps.get_model("tickets", "IntakeEvent")
    for pk in IntakeEvent.objects.filter(receipt__isnull=True).values_list("pk", flat=True).iterator():
        IntakeEvent.objects.filter(pk=pk).update(receipt=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0011_message_thread_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='intakeevent',
            name='data',
            field=models.JSONField(default=dict, verbose_name='validated event'),
        ),
        migrations.AddField(
            model_name='intakeevent',
            name='errors',
            field=models.JSONField(blank=True, null=True, verbose_name='errors'),
        ),
        migrations.AddField(
            model_name='intakeevent',
            name='processed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='processed at'),
        ),
        migrations.AddField(
            model_name='intakeevent',
            name='receipt',
            field=models.UUIDField(editable=False, null=True, verbose_name='receipt'),
        ),
        migrations.RunPython(give_receipts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='intakeevent',
            name='receipt',
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name='receipt'),
        ),
        migrations.AddField(
            model_name='intakeevent',
            name='state',
            field=models.CharField(choices=[('pending', 'pending'), ('done', 'done'), ('failed', 'failed')], default='done', max_length=10, verbose_name='state'),
        ),
        # Every event stored so far made its ticket at once (done); new ones start pending.
        migrations.AlterField(
            model_name='intakeevent',
            name='state',
            field=models.CharField(choices=[('pending', 'pending'), ('done', 'done'), ('failed', 'failed')], default='pending', max_length=10, verbose_name='state'),
        ),
        migrations.AddField(
            model_name='intakeevent',
            name='updates',
            field=models.JSONField(blank=True, default=list, verbose_name='updates waiting for the ticket'),
        ),
        migrations.AlterField(
            model_name='intakeevent',
            name='ticket',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='intake_events', to='tickets.ticket', verbose_name='ticket'),
        ),
        migrations.AddConstraint(
            model_name='intakeevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'done'), _negated=True), ('ticket__isnull', False), _connector='OR'), name='intake_event_done_has_ticket'),
        ),
    ]
