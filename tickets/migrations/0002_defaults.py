"""What a new desk starts with (all editable in the admin; numbers are defaults, not law):

- the roles (groups) and the departments that work subtasks;
- calendars and SLA policies from the seeds: platform clocks run on calendar time (the shop must answer a
  refund or return request within 48 hours or the platform agrees for the buyer, DOMAIN.md), so the
  catch-all policy counts 7×24; urgent work (P1/P2), complaints and VIPs run on the service-hours calendar
  with tighter targets; a big-promo policy (双十一) tightens the catch-all while a promo period is on;
  per platform and type, the platform's own clocks (a deadline the platform sends overrides them);
- reply templates (话术) for the big-promo problems of seed 003, in both languages.

get_or_create throughout: running it on a database the old migrations made changes nothing.
"""

from datetime import time

from django.db import migrations

ROLES = ("agent", "senior_agent", "supervisor", "department_staff", "admin")
DEPARTMENTS = (
    ("warehouse", "仓库", "Warehouse"),
    ("logistics", "物流", "Logistics"),
    ("finance", "财务", "Finance"),
    ("tech_support", "技术支持", "Tech support"),
    ("quality", "品控", "Quality"),
)


def create_roles_and_departments(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Department = apps.get_model("tickets", "Department")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    for code, name, name_en in DEPARTMENTS:
        Department.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en})


H = 60  # minutes per hour


def create_default_sla(apps, schema_editor):
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


TEMPLATES = [
    # (name, type, category, zh, en)
    ("发货延迟致歉 Late shipment", "", "logistics",
     "亲爱的{customer_name}，非常抱歉！大促期间订单量激增，您的订单{order_number}发货比承诺时间晚了。"
     "我们已安排优先发出，并按平台规则为您申请延迟发货补偿。给您添麻烦了！—— {agent_name}",
     "Dear {customer_name}, we are very sorry: during the sale your order {order_number} shipped later than "
     "promised. It now has priority and we are claiming the late-shipment compensation for you. — {agent_name}"),
    ("发错/漏发 Wrong or missing item", "reship", "wrong_or_missing_item",
     "亲爱的{customer_name}，核实后确认是我们仓库发错/漏发了{product}，非常抱歉！我们马上为您补发正确的商品，"
     "来回运费由我们承担，发出后第一时间告诉您单号。",
     "Dear {customer_name}, we checked and our warehouse sent the wrong item or left out {product}. We are sorry! "
     "We are sending the right one now at our cost and will give you the tracking number as soon as it ships."),
    ("尺码错发换货 Wrong size exchange", "exchange", "wrong_or_missing_item",
     "亲爱的{customer_name}，确实是我们发错了尺码，非常抱歉！正确尺码今天优先发出，原商品请用我们提供的退货单号寄回，"
     "运费我们承担。工单号{ticket_number}。",
     "Dear {customer_name}, we did send the wrong size, sorry! The right size ships today with priority; please "
     "return the other one with the label we provide, at our cost. Ticket {ticket_number}."),
    ("物流停滞安抚 Courier stalled", "", "logistics",
     "亲爱的{customer_name}，您的包裹（订单{order_number}）在转运中心停滞，我们已联系快递加急处理，"
     "24小时内给您回复进展；如确认丢件，我们会立即补发。",
     "Dear {customer_name}, your parcel (order {order_number}) is held up at a sorting hub. We have asked the "
     "courier to hurry and will update you within 24 hours; if it is lost we will reship at once."),
    ("批量质量问题统一口径 Batch defect", "return_refund", "product_quality",
     "亲爱的{customer_name}，我们已确认同批次{product}存在质量问题，非常抱歉！您可以选择退货退款或换新，"
     "寄回运费由我们承担，收到后24小时内处理。",
     "Dear {customer_name}, we confirmed a quality problem in this batch of {product}. We are sorry! You can "
     "choose a refund or a replacement; we pay the return shipping and handle it within 24 hours of receipt."),
    ("价保退差 Price difference", "price_difference", "price",
     "亲爱的{customer_name}，您购买的{product}降价了，我们按价保规则为您退还差价，"
     "款项将原路退回，请留意查收。",
     "Dear {customer_name}, the price of {product} dropped after your purchase; under price protection we are "
     "refunding the difference to your original payment method."),
    ("请补充凭证 Ask for evidence", "", "",
     "亲爱的{customer_name}，为了尽快帮您处理，麻烦提供商品问题的照片或视频，以及外包装和快递面单的照片，谢谢！",
     "Dear {customer_name}, to help you quickly, please send photos or a video of the problem, and of the box "
     "and shipping label. Thank you!"),
    ("回访确认 Follow-up", "", "",
     "亲爱的{customer_name}，您的售后问题（工单{ticket_number}）已处理，请问现在是否已经解决？"
     "如还有问题请随时告诉我们。",
     "Dear {customer_name}, your case {ticket_number} has been handled. Is everything solved now? If not, just "
     "tell us."),
]


def create_reply_templates(apps, schema_editor):
    ReplyTemplate = apps.get_model("tickets", "ReplyTemplate")
    for name, ticket_type, category, zh, en in TEMPLATES:
        zh_name, en_name = name.split(" ", 1)
        for language, title, body in (("zh-hans", zh_name, zh), ("en", en_name, en)):
            ReplyTemplate.objects.get_or_create(
                name=title, defaults={"body": body, "ticket_type": ticket_type, "category": category,
                                      "language": language},
            )


PLATFORMS = (("taobao", "淘宝"), ("tmall", "天猫"), ("jd", "京东"), ("douyin", "抖音"), ("pinduoduo", "拼多多"))
TYPES = (  # type, label, resolution days
    ("refund_only", "仅退款", 5),
    ("return_refund", "退货退款", 10),
    ("exchange", "换货", 14),
)


def create_platform_policies(apps, schema_editor):
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


def create_defaults(apps, schema_editor):
    create_roles_and_departments(apps, schema_editor)
    create_default_sla(apps, schema_editor)
    create_platform_policies(apps, schema_editor)
    create_reply_templates(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_squashed_0022_incident_scope"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
