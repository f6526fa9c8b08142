from django.db import migrations, models


class Migration(migrations.Migration):
    # A nullable column without a default: no table rewrite. Rows without a plan are recomputed by the sweep.
    dependencies = [("tickets", "0016_open_due_indexes")]

    operations = [
        migrations.AddField(
            model_name="slacheck",
            name="plan",
            field=models.JSONField(blank=True, editable=False, null=True, verbose_name="SLA plan"),
        ),
    ]
