# ruff: noqa: E501  (demo articles: one paragraph a line reads better than wrapped prose)
"""Demo content for the case library: public FAQ answers in both languages and internal case notes.

The answers follow the seeds (big-promo after-sales, seed 003) and DOMAIN.md's clocks: 48 hours to
ship ordinary goods, 48 hours for the shop to answer a return, 7 days for the buyer to send it back,
price protection within the shop's window (PRICE_PROTECTION_DAYS, 30 by default). Shops set their
own numbers; these are the defaults the demo shop uses.
"""

from dataclasses import dataclass, field

from django.db import transaction

from ..models import Category, TicketType
from . import services
from .models import KnowledgeArticle


@dataclass(frozen=True)
class DemoArticle:
    language: str
    title: str
    body: str
    category: str = ""
    ticket_type: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    is_faq: bool = True


def _text(value: str) -> str:
    return "\n".join(line.strip() for line in value.strip().splitlines())


ZH, EN = "zh-hans", "en"

DEMO_ARTICLES = (
    # Shipping time for Double 11 orders ------------------------------------------------------------
    DemoArticle(ZH, "双十一订单什么时候发货？", _text("""
        现货商品：付款后48小时内发货。双十一期间订单量是平时的好几倍，仓库按付款先后顺序打包，我们会尽量提前发出。
        预售商品：按商品页面写明的时间发货（一般是付尾款后的3–7天内），请以您下单时页面上的约定为准。
        订单显示“已发货”但暂时查不到物流：说明仓库已打包交给快递，等待快递揽收，通常24小时内会有揽收信息。
        超过约定时间还没有发货：请联系在线客服，我们会告诉您确切的发出时间；按平台规则，延迟发货可获得补偿（一般为实付金额的5%，最低5元、最高50元）。
        快递显示停滞超过48小时（同省）或72小时（跨省）：联系客服，我们会帮您催件或补发。"""),
        Category.LOGISTICS, TicketType.CONSULTATION, ("双十一", "发货时效")),
    DemoArticle(EN, "When will my Double 11 order ship?", _text("""
        Items in stock ship within 48 hours of payment. During Double 11 (11.11) we receive several times our usual orders; the warehouse packs them in order of payment and we ship as early as we can.
        Pre-sale items ship on the date promised on the product page (usually 3–7 days after the final payment). The promise shown when you ordered is the one that counts.
        "Shipped" but no tracking yet: the warehouse has packed your parcel and handed it over; the courier's pick-up scan normally appears within 24 hours.
        Not shipped by the promised time: contact our customer service and we will tell you the exact shipping date. Under the platform's rules a late shipment is compensated (usually 5% of what you paid, at least 5 and at most 50 yuan).
        Tracking has not moved for more than 48 hours (same province) or 72 hours (another province): contact us and we will chase the courier or send a replacement."""),
        Category.LOGISTICS, TicketType.CONSULTATION, ("双十一", "shipping time")),

    # How to apply for a return ---------------------------------------------------------------------
    DemoArticle(ZH, "如何申请退货退款？", _text("""
        1. 在订单详情页点击“申请售后”，选择“退货退款”，填写原因并上传商品照片（质量问题请拍清楚问题部位，最好附一段视频）。
        2. 我们会在48小时内处理您的申请；同意后页面会显示退货地址。
        3. 请在7天内寄回商品，并在订单里填写退货快递单号。请不要使用到付，也不要寄平邮。
        4. 仓库收到退货并验货后，退款会原路退回您的支付账户（一般1–3个工作日到账，信用卡以银行为准）。
        商品有质量问题、错发或漏发的，退货运费由我们承担；非质量问题的退货运费由您承担（买了运费险的可以申请理赔）。"""),
        Category.OTHER, TicketType.RETURN_REFUND, ("退货", "退款")),
    DemoArticle(EN, "How do I apply for a return and refund?", _text("""
        1. Open the order and tap "Request after-sales service", choose "Return and refund", give the reason and add photos (for a quality problem, show the fault clearly; a short video helps).
        2. We answer your request within 48 hours. Once we agree, the return address is shown on the order.
        3. Send the item back within 7 days and enter the return tracking number on the order. Please do not send it cash-on-delivery or by surface mail.
        4. When the warehouse has received and checked the item, the refund goes back to the account you paid with (usually 1–3 working days; credit cards depend on your bank).
        If the item is faulty, wrong or incomplete, we pay the return shipping. For other returns the shipping is yours (if you bought return-shipping insurance, claim it from the insurer)."""),
        Category.OTHER, TicketType.RETURN_REFUND, ("return", "refund")),

    # 7-day no-reason return ------------------------------------------------------------------------
    DemoArticle(ZH, "7天无理由退货的条件是什么？", _text("""
        从签收的第二天起7天内，商品完好、不影响二次销售的，可以申请7天无理由退货。
        “完好”是指：吊牌、配件、赠品、说明书、包装齐全，商品没有使用、清洗、人为损坏的痕迹。
        以下商品不适用7天无理由退货：定制商品、鲜活易腐商品、已拆封的个人护理和贴身衣物、已激活的数码商品，以及页面上已明确标注“不支持7天无理由”的商品。
        无理由退货的来回运费由买家承担；如果下单时赠送了赠品，请和商品一起寄回。
        超过7天但商品有质量问题的，请直接联系客服，按质量问题处理。"""),
        Category.OTHER, TicketType.RETURN_REFUND, ("7天无理由", "退货")),
    DemoArticle(EN, "What are the conditions of the 7-day no-reason return?", _text("""
        Within 7 days from the day after you signed for the parcel, you can return an item for no reason, as long as it can be sold again.
        That means: tags, accessories, gifts, manual and packaging are all there, and the item has not been used, washed or damaged.
        It does not apply to made-to-order items, fresh or perishable goods, opened personal-care products and underwear, activated electronics, or items whose page says they are excluded.
        For a no-reason return the shipping both ways is yours. If a gift came with the order, send it back together with the item.
        More than 7 days but the item is faulty? Contact us: it is handled as a quality problem, not as a no-reason return."""),
        Category.OTHER, TicketType.RETURN_REFUND, ("7-day return", "return")),

    # Price protection ------------------------------------------------------------------------------
    DemoArticle(ZH, "买贵了能退差价吗？（价保说明）", _text("""
        下单后30天内，同一店铺、同一商品、同一规格降价的，可以申请价保退差：联系客服并提供订单号，我们核实后把差价退回您的支付账户。
        差价按您的实付单价减去降价后的成交价计算（优惠券、满减按实际分摊后的价格计算）。
        以下情况不参与价保：限时秒杀、直播间专享价、赠品或换购价、新人专享价，以及页面价格错误被及时更正的情况。
        大促（如双十一）期间的价保以活动页面公布的规则为准，部分活动不提供价保。
        大促后的批量退差会在活动结束后3–7个工作日内统一退回，无需每位顾客单独申请，到账后会有短信通知。"""),
        Category.PRICE, TicketType.PRICE_DIFFERENCE, ("价保", "退差")),
    DemoArticle(EN, "The price dropped after I bought. Can I get the difference back?", _text("""
        Within 30 days of your order, if the same item in the same size or colour from our shop gets cheaper, ask for price protection: contact customer service with your order number, we check it and refund the difference to the account you paid with.
        The difference is what you actually paid per item minus the new selling price (coupons and discounts are counted as they were shared across the order).
        Price protection does not cover flash sales, live-stream-only prices, gift or add-on prices, new-customer prices, or a price shown by mistake and corrected quickly.
        During big promotions such as Double 11, the rules on the promotion page apply; some promotions offer no price protection.
        After a promotion, price differences owed to many customers are refunded together within 3–7 working days after it ends; you do not need to apply, and a text message tells you when the money arrives."""),
        Category.PRICE, TicketType.PRICE_DIFFERENCE, ("price protection", "price difference")),

    # Wrong or missing item -------------------------------------------------------------------------
    DemoArticle(ZH, "收到的商品发错了或少件怎么办？", _text("""
        请在签收后48小时内联系在线客服，并提供：外包装和快递面单的照片、收到的商品照片；有开箱视频更好。
        少件请先确认是否分多个包裹发出（订单详情里可以看到多个快递单号），以及赠品是否单独发货。
        核实后我们会尽快为您补寄缺少的商品，或换成您下单的款式；补寄和退换的运费都由我们承担。
        发错的商品请先不要丢弃或使用，我们会告诉您是寄回还是留下。
        如果同一批订单有多位顾客遇到同样的错发，我们会主动联系每一位顾客，统一安排补发。"""),
        Category.WRONG_OR_MISSING_ITEM, TicketType.RESHIP, ("错发", "漏发", "补寄")),
    DemoArticle(EN, "I received the wrong item, or something is missing. What now?", _text("""
        Contact our customer service within 48 hours of signing for the parcel, with photos of the box and its shipping label and of what you received; an unboxing video helps most.
        If something is missing, first check whether the order shipped in several parcels (the order shows every tracking number) and whether a gift ships separately.
        Once we have checked, we send the missing item or exchange the wrong one for what you ordered, and we pay all the shipping.
        Please do not throw away or use the wrong item yet; we will tell you whether to send it back or keep it.
        When several customers of one batch receive the same wrong item, we contact each of them ourselves and arrange the replacements together."""),
        Category.WRONG_OR_MISSING_ITEM, TicketType.RESHIP, ("wrong item", "missing item", "reship")),

    # Damaged parcel --------------------------------------------------------------------------------
    DemoArticle(ZH, "快递包裹破损、商品压坏了怎么办？", _text("""
        签收时请当面检查外包装：外箱严重破损、变形或有液体渗出的，可以直接拒签，并告诉快递员拒签原因。
        已经签收后才发现商品损坏的，请在48小时内拍下外箱、快递面单和损坏部位的照片（易碎品请附开箱视频）联系客服。
        我们会根据情况为您补发或退款，您不需要自己找快递公司索赔，理赔由我们和快递公司处理。
        破损商品请保留到售后处理完成，方便快递公司核实。"""),
        Category.LOGISTICS, "", ("破损", "拒签", "快递")),
    DemoArticle(EN, "My parcel arrived damaged. What should I do?", _text("""
        Check the box in front of the courier when you sign: if it is badly crushed, torn or leaking, you may refuse it and tell the courier why.
        If you find the damage after signing, contact us within 48 hours with photos of the box, its shipping label and the damaged part (for fragile items, an unboxing video).
        We send a replacement or refund you, whichever suits the case. You do not need to claim from the courier yourself: we settle that with them.
        Please keep the damaged item until the case is closed, so the courier can check it."""),
        Category.LOGISTICS, "", ("damaged parcel", "refused delivery", "courier")),

    # Internal case notes (not on the FAQ) ----------------------------------------------------------
    DemoArticle(ZH, "案例：质量瑕疵补发时未要求寄回，瑕疵品被发到社交平台", _text("""
        【问题】顾客反馈“产品里有脏东西”，核实是包装瓶上一个约0.5mm的黑点，要求售后。
        【原因】属于包装瑕疵（商家责任），但处理时只给顾客补发了新品，没有要求寄回瑕疵品，也没有留下协商记录。
        【处理经过】事后顾客拿着瑕疵品在微博、小红书发帖，品牌被负面评论，主管介入后电话致歉并补偿。
        【有效做法】质量问题一律要求寄回或按要求拍照销毁并留证，补发前先在线确认方案（“刚刚和您沟通好的几点：1、2、3……”）；同一瑕疵多人反馈时立即上报，统一口径，统计高频问题。
        确需免寄回的，须主管审批并写明原因。"""),
        Category.PRODUCT_QUALITY, TicketType.COMPLAINT, ("瑕疵品", "留证", "高风险"), is_faq=False),
    DemoArticle(ZH, "案例：双十一SKU绑定错误导致批量错发", _text("""
        【问题】双十一首日，多位顾客反馈下单M码收到L码，集中在同一款羽绒服。
        【原因】活动前商品规格调整，系统里的SKU绑定没有同步，导致同一规格的订单全部发错。
        【处理经过】客服发现同款同问题的工单集中出现后立即上报，主管建立批量问题，仓库核查SKU绑定并修正；按订单筛出全部受影响订单，客服逐一电话联系顾客说明情况，统一补寄正确尺码，错发商品由快递上门取回，运费由店铺承担。
        【有效做法】大促前检查活动机制、赠品配置、SKU绑定和系统发货同步；发现错发立即筛出所有异常订单，主动联系顾客（在顾客投诉前说明），统一口径回复；回复发货状态时，只有出现揽收信息才说“已经发货”，否则说“仓库已发货”。"""),
        Category.WRONG_OR_MISSING_ITEM, TicketType.RESHIP, ("双十一", "批量问题", "SKU绑定"), is_faq=False),
    DemoArticle(EN, "Case: a defective item replaced without taking it back ended up on social media", _text("""
        Problem: a customer said there was "dirt in the product"; it was a black dot of about 0.5 mm on the bottle.
        Root cause: a packaging defect (the shop's responsibility), but the agent only sent a replacement, did not ask for the defective bottle back and kept no record of what was agreed.
        What was done: the customer posted the defective bottle on Weibo and Xiaohongshu; the brand drew negative comments until the supervisor called, apologised and compensated.
        What worked: for any quality problem, have the item sent back (or photographed and destroyed as instructed, as evidence) and confirm the agreed solution in writing before shipping a replacement ("as we just agreed: 1, 2, 3..."). When several customers report the same defect, escalate at once, agree one reply and count the repeat problems.
        Waiving the return needs a supervisor's approval with the reason written down."""),
        Category.PRODUCT_QUALITY, TicketType.COMPLAINT, ("defective item", "evidence", "high risk"), is_faq=False),
    DemoArticle(EN, "Case: a SKU binding error sent the wrong size to many Double 11 orders", _text("""
        Problem: on the first day of Double 11 several customers who ordered a down jacket in M received L.
        Root cause: the sizes were changed before the promotion and the SKU binding in the shipping system was not updated, so every order of that size went out wrong.
        What was done: agents escalated as soon as the same problem repeated; the supervisor opened an incident; the warehouse fixed the binding and listed every affected order; agents phoned each customer before they complained, reshipped the right size, and had the courier collect the wrong one at the shop's cost.
        What worked: before a promotion, check promotion rules, gifts, SKU bindings and shipping sync. On a wrong shipment, find all affected orders at once, call the customers first and give one agreed reply. Say "shipped" only when the courier's pick-up scan shows; before that say "the warehouse has dispatched it"."""),
        Category.WRONG_OR_MISSING_ITEM, TicketType.RESHIP, ("Double 11", "incident", "SKU binding"), is_faq=False),
)


@transaction.atomic
def demo_articles_load(*, author) -> int:
    """Create and publish the demo articles that are not there yet (same title and language);
    returns how many were created. Running it again creates none."""
    existing = set(KnowledgeArticle.objects.values_list("title", "language"))
    created = 0
    for item in DEMO_ARTICLES:
        if (item.title, item.language) in existing:
            continue
        article = services.article_create(
            author=author, title=item.title, body=item.body, language=item.language, category=item.category,
            ticket_type=item.ticket_type, tags=item.tags, is_faq=item.is_faq,
        )
        services.article_publish(article=article, actor=author)
        created += 1
    return created
