"""Reply templates (话术) for the big-promo problems of seed 003, in both languages (editable in admin)."""

from django.db import migrations

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


def create(apps, schema_editor):
    ReplyTemplate = apps.get_model("tickets", "ReplyTemplate")
    for name, ticket_type, category, zh, en in TEMPLATES:
        zh_name, en_name = name.split(" ", 1)
        for language, title, body in (("zh-hans", zh_name, zh), ("en", en_name, en)):
            ReplyTemplate.objects.get_or_create(
                name=title, defaults={"body": body, "ticket_type": ticket_type, "category": category,
                                      "language": language},
            )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_reply_template_language")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
