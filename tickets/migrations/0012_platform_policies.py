"""Platform after-sales clocks as default SLA policies (DOMAIN.md; editable in admin).

The shop must answer a refund or return request within 48 hours or the platform agrees for the
buyer; resolution allows for the buyer shipping the return (7 days) and the shop confirming
receipt. Calendar time (7×24): platforms count every hour. A deadline sent by the platform itself
(intake `deadline_at`) overrides the first-response target on the ticket.
"""

from django.db import migrations

H = 60
PLATFORMS = (("taobao", "淘宝"), ("tmall", "天猫"), ("jd", "京东"), ("douyin", "抖音"), ("pinduoduo", "拼多多"))
TYPES = (  # type, label, resolution days
    ("refund_only", "仅退款", 5),
    ("return_refund", "退货退款", 10),
    ("exchange", "换货", 14),
)


def create(apps, schema_editor):
    Calendar = apps.get_model("tickets", "BusinessCalendar")
    Policy = apps.get_model("tickets", "SLAPolicy")
    around_the_clock = Calendar.objects.get(name="7×24")
    for platform, platform_label in PLATFORMS:
        for ticket_type, type_label, days in TYPES:
            Policy.objects.get_or_create(
                name=f"{platform_label} {type_label} {platform}/{ticket_type}",
                defaults={
                    "platform": platform, "ticket_type": ticket_type, "calendar": around_the_clock,
                    "first_response_minutes": 48 * H, "next_response_minutes": 24 * H,
                    "resolution_minutes": days * 24 * H, "follow_up_minutes": 72 * H,
                    "warning_thresholds": [50, 80],
                },
            )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0011_platform_clocks")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
