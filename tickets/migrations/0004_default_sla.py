"""Default calendars and SLA policies from the seeds (editable in admin; numbers are defaults, not law).

- Platform clocks run on calendar time: the shop must answer a refund/return request within
  48 hours or the platform agrees automatically (DOMAIN.md), so the catch-all policy counts 7×24.
- Urgent work (P1/P2), complaints and VIPs run on the service-hours calendar with tighter targets.
- A big-promo policy (双十一) tightens the catch-all while a promo period is on.
"""

from datetime import time

from django.db import migrations

H = 60  # minutes per hour


def create(apps, schema_editor):
    Calendar = apps.get_model("tickets", "BusinessCalendar")
    Interval = apps.get_model("tickets", "WorkingInterval")
    Policy = apps.get_model("tickets", "SLAPolicy")

    around_the_clock, _ = Calendar.objects.get_or_create(name="7×24")
    if not around_the_clock.intervals.exists():
        Interval.objects.bulk_create(
            Interval(calendar=around_the_clock, weekday=d, start=time(0), end=time(23, 59, 59)) for d in range(7)
        )
    # Chat service hours 8:00–23:00 every day (the 3-minute reply window), with a lunch break.
    service_hours, _ = Calendar.objects.get_or_create(name="客服工作时间 Service hours")
    if not service_hours.intervals.exists():
        Interval.objects.bulk_create(
            Interval(calendar=service_hours, weekday=d, start=start, end=end)
            for d in range(7)
            for start, end in ((time(8), time(12)), (time(13), time(23)))
        )

    policies = [
        dict(name="默认 Default (48h reply)", calendar=around_the_clock, first_response_minutes=48 * H,
             next_response_minutes=24 * H, resolution_minutes=7 * 24 * H, follow_up_minutes=3 * 24 * H,
             warning_thresholds=[50, 80]),
        dict(name="P1 urgent", priority="P1", calendar=service_hours, first_response_minutes=1 * H,
             next_response_minutes=2 * H, resolution_minutes=24 * H, follow_up_minutes=24 * H,
             warning_thresholds=[50, 80]),
        dict(name="P2 high", priority="P2", calendar=service_hours, first_response_minutes=4 * H,
             next_response_minutes=8 * H, resolution_minutes=48 * H, follow_up_minutes=48 * H,
             warning_thresholds=[80]),
        dict(name="投诉 Complaint", ticket_type="complaint", calendar=service_hours, first_response_minutes=4 * H,
             next_response_minutes=8 * H, resolution_minutes=72 * H, follow_up_minutes=48 * H,
             warning_thresholds=[50, 80]),
        dict(name="双十一 Big promo", big_promo_only=True, calendar=around_the_clock,
             first_response_minutes=24 * H, next_response_minutes=12 * H, resolution_minutes=5 * 24 * H,
             follow_up_minutes=3 * 24 * H, warning_thresholds=[50, 80]),
    ]
    for fields in policies:
        Policy.objects.get_or_create(name=fields.pop("name"), defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_sla")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
