"""The next SLA check moves off the ticket row into a narrow row of its own (SLACheck): the sweep reschedules
every ticket it looks at, and on the ticket that rewrote the row in all its indexes. The checks scheduled are
copied over before the column goes (and back, if this is undone)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0014_ticket_search_vector'),
    ]

    operations = [
        migrations.CreateModel(
            name='SLACheck',
            fields=[
                ('ticket', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='sla_check', serialize=False, to='tickets.ticket', verbose_name='ticket')),
                ('at', models.DateTimeField(verbose_name='next SLA check')),
            ],
            options={
                'verbose_name': 'next SLA check',
                'verbose_name_plural': 'next SLA checks',
            },
        ),
        migrations.RunSQL(
            "INSERT INTO tickets_slacheck (ticket_id, at) "
            "SELECT id, sla_next_check_at FROM tickets_ticket WHERE sla_next_check_at IS NOT NULL",
            reverse_sql="UPDATE tickets_ticket SET sla_next_check_at = "
            "(SELECT at FROM tickets_slacheck WHERE tickets_slacheck.ticket_id = tickets_ticket.id) "
            "WHERE id IN (SELECT ticket_id FROM tickets_slacheck)",
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_sla_next_check_idx',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_open_warning_idx',
        ),
        migrations.RemoveField(
            model_name='ticket',
            name='sla_next_check_at',
        ),
        migrations.AddIndex(
            model_name='slacheck',
            index=models.Index(fields=['at'], name='slacheck_at_idx'),
        ),
    ]
