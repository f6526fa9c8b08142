"""The reply templates (话术) a desk starts with: one or more for every ticket type and every category,
in zh-Hans and English, written from the seeds' practice (seed 003: leave room in delivery wording, never
promise a date the courier controls; the shop's fault → apologise and say what we do; ask for photos before
judging a defect; confirm in writing what was agreed).

Loaded by `manage.py load_reply_templates` (a fresh install, after migrate) and by `seed_demo`. A template
is looked up by its name: one the shop has edited or switched off is left as it is.

Placeholders are only those of tickets/replies.py PLACEHOLDERS; the catalogue test checks it.
"""

from django.db import transaction

from .models import ReplyTemplate

# (zh name, en name, ticket type, category, zh body, en body); "" = any type / any category.
CATALOG: list[tuple[str, str, str, str, str, str]] = [
    # Consultation 咨询 -----------------------------------------------------------------------------
    ("发货进度查询", "Where is my parcel", "consultation", "logistics",
     "亲，您好！帮您查询了订单{order_number}：{shipping_state}。快递：{courier}，单号：{tracking_number}。"
     "物流信息更新可能会有延迟，我们会帮您持续关注，有变化第一时间告诉您。—— {agent_name}",
     "Hello {customer_name}, I checked order {order_number}: {shipping_state}. Courier: {courier}, tracking "
     "number: {tracking_number}. Tracking updates can lag a little; we keep an eye on it and tell you as soon as "
     "anything changes. — {agent_name}"),
    ("使用指导", "How to use it", "consultation", "usage",
     "亲，您好！关于{product}的使用，麻烦您按以下步骤试一下：1. ……；2. ……；3. ……。"
     "如果还是不行，请拍一段小视频发给我们，我们帮您进一步看看。",
     "Hello {customer_name}, for {product} please try these steps: 1. …; 2. …; 3. …. If it still does not work, "
     "send us a short video and we will look further."),
    ("发货时间咨询（留有余地）", "When will it ship (no hard promise)", "consultation", "",
     "亲，目前订单{order_number}，{shipping_state}。只要快递能发，我们一定尽快给您发出；快递时效受天气、地区等影响，"
     "没办法给您百分之百承诺具体日期，如有变化我们会主动给您留言的。",
     "Hello {customer_name}, order {order_number}: {shipping_state}. As long as the courier can take it we send "
     "it at once; delivery times depend on weather and region, so we cannot promise an exact date, and we will "
     "message you first if anything changes."),
    # Complaint 投诉 ----------------------------------------------------------------------------------
    ("投诉致歉并电话沟通", "Complaint: apology and a call", "complaint", "",
     "{customer_name}您好，非常抱歉给您带来了不好的体验！您的问题我们已登记（工单{ticket_number}），"
     "由{agent_name}专人负责跟进，稍后会电话联系您，了解清楚情况后给您一个满意的处理方案。",
     "Dear {customer_name}, we are very sorry for the poor experience. Your case is registered (ticket "
     "{ticket_number}) and {agent_name} handles it personally; we will call you shortly to hear the details and "
     "agree a solution with you."),
    ("服务态度致歉", "Sorry for how we spoke to you", "complaint", "service_attitude",
     "{customer_name}您好，对于之前客服的沟通方式让您不愉快，我们郑重向您道歉！这不是我们应有的服务态度，"
     "我们已在内部处理并加强培训。您的问题接下来由我（{agent_name}）全程负责，一定给您处理好。",
     "Dear {customer_name}, we sincerely apologise for how our staff spoke to you; that is not how we want to "
     "serve you, and we have taken it up internally. I, {agent_name}, will handle your case from here to the end."),
    ("物流投诉安抚", "Delivery complaint", "complaint", "logistics",
     "{customer_name}您好，包裹迟迟收不到确实让人着急，非常理解您的心情！我们已向快递发起催件（订单{order_number}，"
     "单号{tracking_number}），有进展会第一时间告诉您；如确认丢件，我们会为您补发或退款。",
     "Dear {customer_name}, we understand how frustrating the wait is. We have chased the courier (order "
     "{order_number}, tracking {tracking_number}) and will tell you as soon as there is news; if the parcel is "
     "lost we reship or refund."),
    # Return and refund 退货退款 -----------------------------------------------------------------------
    ("退货寄回说明", "How to send it back", "return_refund", "",
     "亲，您的退货申请已同意。请将{product}连同配件、包装一起寄回，并在平台上填写退货单号。"
     "我们收到并验收后会尽快为您退款，一般不超过7天。工单{ticket_number}。",
     "Hello {customer_name}, your return is accepted. Please send {product} back with its accessories and box, "
     "and enter the return tracking number on the platform. Once we receive and check it we refund you, within "
     "7 days at most. Ticket {ticket_number}."),
    ("质量问题请拍照", "Quality problem: photos please", "return_refund", "product_quality",
     "亲，非常抱歉{product}出现了问题！为了尽快帮您处理，麻烦拍几张问题部位的清晰照片（或一段视频），"
     "再拍一下商品标签和快递面单发给我们，核实后马上给您安排。",
     "Hello {customer_name}, we are sorry {product} has a problem. To sort it out quickly, please send clear "
     "photos (or a short video) of the fault, plus the product label and the shipping label; we act as soon as "
     "we have checked them."),
    # Refund only 仅退款 ------------------------------------------------------------------------------
    ("仅退款已同意", "Refund agreed, no return needed", "refund_only", "",
     "亲，已为您同意仅退款，商品不用寄回。退款金额¥{refund_amount}，将原路退回，到账时间以支付渠道为准，请留意查收。",
     "Hello {customer_name}, we agreed a refund without return; you keep the item. ¥{refund_amount} goes back to "
     "your original payment method; when it arrives depends on the payment channel."),
    ("未发货取消退款", "Cancelled before shipping", "refund_only", "logistics",
     "亲，您的订单{order_number}，{shipping_state}，已为您拦截并办理退款，款项原路退回，请留意查收。",
     "Hello {customer_name}, order {order_number}: {shipping_state}. We stopped it and refunded you to your "
     "original payment method."),
    # Exchange 换货 -----------------------------------------------------------------------------------
    ("换码", "Size exchange", "exchange", "",
     "亲，已为您办理换码：{solution_summary}。请把原来的{product}（吊牌、包装保持完好）寄回给我们，"
     "我们收到后马上发出新尺码；新尺码发出后会把单号告诉您。工单{ticket_number}。—— {agent_name}",
     "Hello {customer_name}, your size exchange is set up: {solution_summary}. Please send the {product} back "
     "with its tags and packaging; we ship the new size as soon as it arrives and send you the tracking number. "
     "Ticket {ticket_number}. — {agent_name}"),
    ("质量问题换新", "Replacement for a defect", "exchange", "product_quality",
     "亲，经核实{product}确实存在质量问题，非常抱歉！已为您安排换新：{solution_summary}。寄回运费由我们承担。",
     "Hello {customer_name}, we confirmed {product} is defective, sorry! We are replacing it: {solution_summary}. "
     "We pay the return shipping."),
    ("换货已发出", "Exchange shipped", "exchange", "logistics",
     "亲，您的换货商品{shipping_state}，快递：{courier}，单号：{tracking_number}，请留意查收。",
     "Hello {customer_name}, your exchange: {shipping_state}. Courier: {courier}, tracking number: "
     "{tracking_number}."),
    # Reship 补发 (missing item 漏发补寄 / wrong item 错发) ----------------------------------------------
    ("漏发补寄", "Missing item: we send it", "reship", "wrong_or_missing_item",
     "亲，核实后确认是我们仓库漏发了{product}，非常抱歉！马上为您补寄，运费由我们承担，"
     "补寄发出后第一时间把单号告诉您，已收到的商品不用寄回。",
     "Hello {customer_name}, we checked and our warehouse left out {product}, sorry! We send it now at our cost "
     "and give you the tracking number once it ships; keep what you already received."),
    ("错发补发", "Wrong item sent: the right one is coming", "reship", "wrong_or_missing_item",
     "亲，核实后确认是我们发错了商品，非常抱歉！正确的{product}马上为您补发；发错的商品麻烦用我们提供的退货单号寄回，"
     "来回运费都由我们承担。工单{ticket_number}。",
     "Hello {customer_name}, we checked and we sent you the wrong item, sorry! The right {product} ships now; "
     "please send the wrong one back with the return label we give you. We pay both ways. Ticket "
     "{ticket_number}."),
    ("补发物流通知", "Reship on its way", "reship", "",
     "亲，给您补发的商品{shipping_state}，快递：{courier}，单号：{tracking_number}。收到后如有问题随时联系我们。",
     "Hello {customer_name}, the item we are sending you: {shipping_state}. Courier: {courier}, tracking number: "
     "{tracking_number}. Tell us if anything is wrong when it arrives."),
    # Repair 维修 -------------------------------------------------------------------------------------
    ("维修寄回说明", "Repair: sending it in", "repair", "product_quality",
     "亲，{product}在保修期内，可以为您免费维修。请寄回并在包裹里附上纸条（订单号{order_number}、联系电话、故障描述），"
     "我们收到后检测维修，修好寄回给您，维修一般需要几个工作日，具体以检测结果为准。",
     "Hello {customer_name}, {product} is under warranty and we repair it free. Please send it in with a note "
     "(order {order_number}, phone number, what is wrong); repair usually takes a few working days, depending "
     "on what the check finds."),
    ("维修进度", "Repair progress", "repair", "",
     "亲，您的{product}维修进度：{solution_summary}。修好寄出后会把单号告诉您。工单{ticket_number}。",
     "Hello {customer_name}, the repair of your {product}: {solution_summary}. We send you the tracking number "
     "when it ships back. Ticket {ticket_number}."),
    # Price difference 价保/退差 ------------------------------------------------------------------------
    ("价保退差已提交", "Price protection refund", "price_difference", "price",
     "亲，您购买的{product}在价保期内降价了，已按价保规则为您申请退差¥{refund_amount}，款项原路退回，请留意查收。",
     "Hello {customer_name}, {product} dropped in price within the price-protection period; we are refunding "
     "the difference, ¥{refund_amount}, to your original payment method."),
    ("价保说明（不符合）", "Price protection does not apply", "price_difference", "",
     "亲，理解您的心情！这次的价格是限时活动价（如满减、跨店券等叠加后的价格），不在价保范围内，"
     "没能帮您退差非常抱歉。为表歉意，给您送上一张店铺优惠券，下次购物可以使用。",
     "Hello {customer_name}, we understand. This price comes from a limited promotion (stacked discounts and "
     "coupons), which price protection does not cover, so we cannot refund the difference; please accept a shop "
     "coupon for your next purchase."),
    # Tech support 技术支持 ---------------------------------------------------------------------------
    ("故障排查步骤", "Troubleshooting steps", "tech_support", "usage",
     "亲，{product}请先试一下：1. 断电后重新启动；2. 检查连接和设置；3. 恢复出厂设置。"
     "如果还不行，请拍一段视频发给我们，技术同事会进一步帮您判断。",
     "Hello {customer_name}, for {product} please try: 1. switch it off and on again; 2. check the connections "
     "and settings; 3. reset it to factory settings. If that does not help, send us a video and our technician "
     "will look."),
    ("排查无效转售后", "Troubleshooting did not help", "tech_support", "product_quality",
     "亲，按步骤排查后问题仍在，可能是{product}本身的故障，非常抱歉！我们为您转售后处理：{solution_summary}。",
     "Hello {customer_name}, the fault is still there after the checks, so {product} itself may be faulty, "
     "sorry! We are handling it as an after-sales case: {solution_summary}."),
    # By category, any type ---------------------------------------------------------------------------
    ("发货延迟（不承诺具体日期）", "Shipping delay (no hard date)", "", "logistics",
     "亲，非常抱歉，您的订单{order_number}，{shipping_state}。目前仓库正在加紧处理，我们会优先安排；"
     "快递时效受天气和地区影响，没法给您承诺具体日期，一有进展会主动告诉您。",
     "Hello {customer_name}, we are sorry: order {order_number}: {shipping_state}. The warehouse is working "
     "through the backlog and yours has priority; delivery depends on weather and region, so we cannot promise "
     "a date, and we will tell you as soon as it moves."),
    ("其他问题已记录", "Noted, we will come back to you", "", "other",
     "亲，您反馈的情况已记录（工单{ticket_number}），我们核实后会尽快答复您，请耐心等待。—— {agent_name}",
     "Hello {customer_name}, we have noted what you told us (ticket {ticket_number}) and will answer once we have "
     "checked. — {agent_name}"),
    ("价格咨询", "Price question", "", "price",
     "亲，{product}的价格以下单页面为准，参加活动时会叠加优惠；如果购买后降价，可以在价保期内联系我们申请退差。",
     "Hello {customer_name}, the price of {product} is the one on the order page, with promotion discounts on "
     "top; if the price drops after you buy, contact us within the price-protection period for the difference."),
    ("服务回访致歉", "Following up on our service", "", "service_attitude",
     "{customer_name}您好，关于您之前反馈的服务问题，我们已经认真处理，再次向您致歉。请问现在还有什么需要我们帮忙的吗？",
     "Dear {customer_name}, we have dealt with the service problem you reported and apologise again. Is there "
     "anything else we can help with?"),
    ("使用问题说明书", "Where the manual says it", "", "usage",
     "亲，{product}的详细使用方法可以参考说明书，我把关键步骤整理给您：……。有不明白的地方随时问我。",
     "Hello {customer_name}, the manual of {product} explains it; here are the key steps: …. Ask me anything that "
     "is unclear."),
    ("错发漏发核实", "Checking a wrong or missing item", "", "wrong_or_missing_item",
     "亲，非常抱歉！麻烦拍一下收到的全部商品、外包装和快递面单发给我们，我们马上和仓库核对订单{order_number}的发货记录。",
     "Hello {customer_name}, sorry about this! Please send photos of everything you received, the box and the "
     "shipping label; we check order {order_number}'s packing record with the warehouse at once."),
    # Any type, any category --------------------------------------------------------------------------
    ("方案确认（书面）", "What we agreed, in writing", "", "",
     "亲，跟您确认一下我们商量好的处理方案：{solution_summary}。工单{ticket_number}，"
     "如有不一致请直接回复我们，没问题的话我们就按此办理。—— {agent_name}",
     "Hello {customer_name}, to confirm what we agreed: {solution_summary}. Ticket {ticket_number}. If anything "
     "is different, just reply; otherwise we go ahead as written. — {agent_name}"),
    ("退款到账提醒", "Your refund has been paid", "", "",
     "亲，您的退款¥{refund_amount}已原路退回，一般1–3个工作日到账（以支付渠道为准），请留意查收。",
     "Hello {customer_name}, your refund of ¥{refund_amount} has been paid to your original payment method; it "
     "usually arrives within 1–3 working days, depending on the payment channel."),
]


@transaction.atomic
def reply_catalog_load() -> int:
    """Create the catalogue's templates that are missing (by name); returns how many were created."""
    existing = set(ReplyTemplate.objects.values_list("name", flat=True))
    new = [
        ReplyTemplate(name=name, body=body, ticket_type=ticket_type, category=category, language=language)
        for zh_name, en_name, ticket_type, category, zh, en in CATALOG
        for language, name, body in (("zh-hans", zh_name, zh), ("en", en_name, en))
        if name not in existing
    ]
    ReplyTemplate.objects.bulk_create(new, ignore_conflicts=True)  # a name created meanwhile stays as it is
    return len(new)
