"""Load realistic demo data: staff users, customers, products, orders and tickets in every state.

Idempotent: everything is keyed on its natural key (username, platform account, SKU, order
number, the ticket's external id), and a demo ticket that already exists is skipped whole, so
running the command twice (as `make run` does on every start) changes no row counts.

Tickets are built only through the services (intake, classification, the state machine,
messages, subtasks, assignment) so each one has the real timeline a person would have left.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, Platform
from orders.models import Order, OrderItem, Product
from tickets.assignment import ticket_assign
from tickets.followup.models import SatisfactionSurvey
from tickets.followup.services import follow_up_record, survey_submit
from tickets.knowledge.demo import demo_articles_load
from tickets.knowledge.models import KnowledgeArticle
from tickets.models import Channel, Department, Message, StaffProfile, Subtask, Ticket, TicketEvent
from tickets.roles import DEFAULT_DEPARTMENTS, Role
from tickets.services import message_add, ticket_classify, ticket_create, ticket_set_summary
from tickets.subtasks import subtask_complete, subtask_create, subtask_reject, subtask_start
from tickets.workflow import ticket_transition

EXTERNAL_SOURCE = "demo"


class _DemoClock:
    """Stands in for timezone.now while one demo ticket is replayed."""

    def __init__(self, start: datetime, gap: timedelta):
        self.moment, self.gap = start, gap

    def __call__(self) -> datetime:
        return self.moment

    def tick(self) -> None:
        self.moment += self.gap


def demo_password(username: str) -> str:
    return f"{username}-demo-2026"


# username, role, department code, refund limit, display name
DEMO_USERS = (
    ("agent", Role.AGENT, None, "200", "林晓雨"),
    ("agent2", Role.AGENT, None, "200", "陈浩"),
    ("senior", Role.SENIOR_AGENT, None, "1000", "周敏"),
    ("supervisor", Role.SUPERVISOR, None, "100000", "郑涛"),
    ("warehouse", Role.DEPARTMENT_STAFF, "warehouse", "0", "王建国"),
    ("finance", Role.DEPARTMENT_STAFF, "finance", "0", "刘婷"),
    ("logistics", Role.DEPARTMENT_STAFF, "logistics", "0", "孙鹏"),
    ("tech", Role.DEPARTMENT_STAFF, "tech_support", "0", "何志远"),
    ("admin", Role.ADMIN, None, "0", "系统管理员"),
)
# Who works a department's subtasks in the demo.
DEPARTMENT_USER = {
    "warehouse": "warehouse", "finance": "finance", "logistics": "logistics", "tech_support": "tech",
}

# key, platform, platform account, name, phone, address, VIP, difficult, email, notes
CUSTOMERS = (
    ("wangfang", Platform.TAOBAO, "小芳爱购物", "王芳", "13857112345",
     "浙江省杭州市西湖区文三路398号东方通信大厦12楼", False, False, "", ""),
    ("lina", Platform.TMALL, "lina_8866", "李娜", "13916628866",
     "上海市浦东新区张杨路1200号3号楼802室", True, False, "", "老客户，年消费过万，优先电话回访"),
    ("zhangwei", Platform.JD, "jd_zhangwei88", "张伟", "13601187788",
     "北京市朝阳区阜通东大街6号院2号楼1503", False, False, "", ""),
    ("liuyang", Platform.DOUYIN, "洋洋的日常", "刘洋", "18620335566",
     "广东省广州市天河区天河路385号太古汇公寓A座1708", False, False, "", ""),
    ("chenjing", Platform.PINDUODUO, "pdd_5521_chen", "陈静", "15928876543",
     "四川省成都市武侯区人民南路四段12号5栋2单元301", False, False, "", ""),
    ("yangfan", Platform.OWN_SITE, "yangfan2026", "杨帆", "17757120033",
     "浙江省宁波市鄞州区天童南路588号", False, False, "yangfan2026@163.com", ""),
    ("zhaolei", Platform.TAOBAO, "磊哥不差钱", "赵磊", "13758809921",
     "江苏省南京市鼓楼区中山北路101号", False, True, "",
     "多次要求超出标准的赔偿；沟通全程留证，方案需书面确认"),
    ("huangli", Platform.TMALL, "lily黄丽", "黄丽", "18868812077",
     "浙江省杭州市滨江区江南大道3850号", True, False, "", "VIP，偏好微信沟通"),
    ("zhoujie", Platform.JD, "jd_zhoujie01", "周杰", "13522019876",
     "天津市南开区鞍山西道200号", False, False, "", ""),
    ("wumin", Platform.DOUYIN, "敏敏爱生活", "吴敏", "19906715432",
     "湖北省武汉市洪山区珞喻路1037号", False, False, "", ""),
    ("xuqiang", Platform.PINDUODUO, "pdd_xq_1987", "徐强", "15067123490",
     "河南省郑州市金水区花园路88号", False, False, "", ""),
    ("sunyue", Platform.TAOBAO, "悦悦0712", "孙悦", "13065788712",
     "福建省厦门市思明区湖滨南路90号", False, False, "", ""),
    ("machao", Platform.JD, "jd_machao", "马超", "18210034567",
     "陕西省西安市雁塔区科技路48号", False, False, "", ""),
    ("zhuting", Platform.OWN_SITE, "zhuting", "朱婷", "13819945678",
     "广东省深圳市南山区深南大道9988号", False, False, "zhuting@qq.com", ""),
    ("hujun", Platform.TMALL, "胡军2019", "胡军", "15800661234",
     "山东省青岛市市南区香港中路76号", False, False, "", ""),
    ("guojia", Platform.OWN_SITE, "guojia_home", "郭佳", "17326655010",
     "江苏省苏州市工业园区星湖街328号", False, False, "guojia_home@126.com", ""),
)

# sku, name, model, category, list price
PRODUCTS = (
    ("YRF-8821-BK-M", "轻薄白鸭绒羽绒服 黑色 M码", "YR-8821", "服装/羽绒服", "599.00"),
    ("YRF-8821-BK-L", "轻薄白鸭绒羽绒服 黑色 L码", "YR-8821", "服装/羽绒服", "599.00"),
    ("WY-301-GY-XL", "加绒连帽卫衣 灰色 XL码", "WY-301", "服装/卫衣", "159.00"),
    ("NZK-502-BL-30", "直筒弹力牛仔裤 浅蓝 30码", "NZK-502", "服装/裤装", "199.00"),
    ("KFJ-K15-WH", "304不锈钢电热水壶 1.5L 白色", "K15", "小家电/厨房电器", "129.00"),
    ("LLJ-X3-GR", "多功能破壁料理机 静音款", "X3", "小家电/厨房电器", "699.00"),
    ("KQZ-A6-BK", "可视空气炸锅 5L 黑色", "A6", "小家电/厨房电器", "399.00"),
    ("XCQ-V8-PRO", "无线手持吸尘器 V8 Pro", "V8 Pro", "家电/清洁电器", "1299.00"),
    ("EJ-T20-WH", "真无线降噪蓝牙耳机 T20 白色", "T20", "数码/耳机", "299.00"),
    ("SB-W5-BK", "智能运动手表 W5 黑色 NFC版", "W5", "数码/智能穿戴", "899.00"),
    ("CDB-P10-20K", "20000mAh 双向快充充电宝", "P10", "数码/配件", "149.00"),
    ("PB-M11-128", "11英寸平板电脑 M11 8+128G 深空灰", "M11", "数码/平板", "2499.00"),
)

SF, ZTO, YTO, JDL = "顺丰速运", "中通快递", "圆通速递", "京东物流"
HZ, GZ = "杭州仓", "广州仓"
DOUBLE_ELEVEN = "double_eleven"  # placed_at: just after midnight on the last 11 November

# key, customer, order number, days ago, logistics status, carrier, warehouse, [(sku, qty, paid)]
ORDERS = (
    ("o01", "wangfang", "4012877365021149361", DOUBLE_ELEVEN, "delivered", ZTO, HZ,
     [("YRF-8821-BK-M", 1, "459.00"), ("WY-301-GY-XL", 1, "129.00")]),
    ("o02", "lina", "3987102266540318827", 8, "delivered", SF, HZ, [("XCQ-V8-PRO", 1, "1099.00")]),
    ("o03", "zhangwei", "298876543012", 9, "stalled", JDL, GZ,
     [("PB-M11-128", 1, "2299.00"), ("CDB-P10-20K", 1, "129.00")]),
    ("o04", "liuyang", "6932148870325516093", 10, "delivered", YTO, GZ, [("KQZ-A6-BK", 1, "329.00")]),
    ("o05", "chenjing", "261112-087736215590412", 11, "stalled", ZTO, GZ, [("KFJ-K15-WH", 2, "218.00")]),
    ("o06", "yangfan", "WS20261108003127", 15, "delivered", SF, HZ, [("SB-W5-BK", 1, "799.00")]),
    ("o07", "zhaolei", "4009321877450266718", 16, "delivered", ZTO, HZ, [("KQZ-A6-BK", 1, "359.00")]),
    ("o08", "huangli", "3975520184432097765", 20, "delivered", SF, HZ, [("LLJ-X3-GR", 1, "599.00")]),
    ("o09", "zhoujie", "299014367781", 6, "delivered", JDL, GZ, [("EJ-T20-WH", 1, "269.00")]),
    ("o10", "wumin", "6932877104529981360", 5, "delivered", YTO, GZ, [("NZK-502-BL-30", 2, "338.00")]),
    ("o11", "xuqiang", "261110-447120985533170", 12, "delivered", ZTO, GZ,
     [("CDB-P10-20K", 1, "109.00"), ("EJ-T20-WH", 1, "239.00")]),
    ("o12", "sunyue", "4031187720563318842", 3, "in_transit", ZTO, HZ, [("WY-301-GY-XL", 1, "139.00")]),
    ("o13", "machao", "298245510376", 24, "delivered", JDL, GZ, [("KFJ-K15-WH", 1, "109.00")]),
    ("o14", "zhuting", "WS20261113001845", 9, "delivered", SF, HZ, [("XCQ-V8-PRO", 1, "1199.00")]),
    ("o15", "hujun", "3990187256610043319", 2, "awaiting_pickup", SF, HZ, [("YRF-8821-BK-L", 1, "499.00")]),
    ("o16", "wangfang", "4025512098873301265", 7, "delivered", ZTO, HZ, [("KFJ-K15-WH", 1, "119.00")]),
    ("o17", "lina", "3991265508712264480", 2, "collected", SF, HZ,
     [("YRF-8821-BK-M", 1, "539.00"), ("NZK-502-BL-30", 1, "179.00"), ("WY-301-GY-XL", 1, "149.00")]),
    ("o18", "zhangwei", "297731208845", 27, "delivered", JDL, GZ, [("SB-W5-BK", 1, "849.00")]),
    ("o19", "liuyang", "6933015598217746621", 1, "awaiting_pickup", YTO, GZ, [("CDB-P10-20K", 2, "258.00")]),
    ("o20", "chenjing", "261101-302298874416651", 22, "delivered", ZTO, GZ, [("NZK-502-BL-30", 1, "149.00")]),
    ("o21", "yangfan", "WS20261025000962", 29, "delivered", SF, HZ, [("LLJ-X3-GR", 1, "649.00")]),
    ("o22", "zhaolei", "4018865230917742205", 13, "delivered", ZTO, HZ, [("EJ-T20-WH", 1, "279.00")]),
    ("o23", "huangli", "3994410273365128890", 4, "in_transit", SF, HZ, [("PB-M11-128", 1, "2399.00")]),
    ("o24", "zhoujie", "298660172234", 14, "delivered", JDL, GZ, [("XCQ-V8-PRO", 1, "1149.00")]),
    ("o25", "wumin", "6931266048870319925", 18, "delivered", YTO, GZ,
     [("YRF-8821-BK-L", 1, "469.00"), ("WY-301-GY-XL", 1, "129.00"), ("NZK-502-BL-30", 1, "169.00")]),
    ("o26", "xuqiang", "261028-552601187342209", 26, "delivered", ZTO, GZ, [("KFJ-K15-WH", 1, "99.00")]),
    ("o27", "sunyue", "4003378120646613057", 21, "delivered", ZTO, HZ, [("SB-W5-BK", 1, "829.00")]),
    ("o28", "machao", "299120553618", 7, "stalled", JDL, GZ, [("CDB-P10-20K", 3, "387.00")]),
    ("o29", "zhuting", "WS20261112002210", 10, "delivered", SF, HZ,
     [("KQZ-A6-BK", 1, "369.00"), ("KFJ-K15-WH", 1, "119.00")]),
    ("o30", "hujun", "3981120746653382017", 19, "delivered", SF, HZ, [("EJ-T20-WH", 2, "538.00")]),
)


@dataclass
class DemoTicket:
    """One demo case: intake facts, then the steps people took, and the state it must end in.

    Steps: ("in"|"out"|"note", body[, username]), ("classify", reason[, {field: value}]),
    ("triage",), ("start",), ("wait"|"resume"|"resolve"|"close"|"reopen"|"archive", reason),
    ("summary", root cause, what was done, what worked), ("survey", solved, score, comment) as the customer
    on their link, ("follow_up", result, note[, score]) by phone,
    ("assign", username, reason), ("sub", department, kind, description, due in hours),
    ("sub_start", n), ("sub_done", n, result), ("sub_reject", n, reason) where n counts this
    ticket's subtasks from 0.
    """

    id: str
    customer: str
    order: str | None
    items: list[str]
    channel: str
    type: str
    category: str
    responsibility: str
    status: str
    days_ago: float
    text: str
    request: str = ""
    amount: str | None = None
    exposure: bool = False
    tags: list[str] = field(default_factory=list)
    preset_type: bool = False  # the type came with the intake (platform record, customer's choice)
    facts: dict = field(default_factory=dict)  # symptom / frequency recorded at classification
    steps: list[tuple] = field(default_factory=list)


T = DemoTicket
DEMO_TICKETS = (
    # --- waiting_department ---------------------------------------------------------------
    T("demo-001", "wangfang", "o01", ["YRF-8821-BK-M"], "chat", "exchange", "wrong_or_missing_item",
      "merchant",
      "waiting_department", 2,
      "双十一零点抢的羽绒服，下单选的是黑色M码，今天拆开一看吊牌和领标都是L码，穿上袖子长出一大截，"
      "根本没法穿。订单截图和吊牌照片都发给你们了，麻烦尽快给我换成M码，这周末就降温了等着穿。",
      request="换成黑色M码，尽快发出", tags=["双十一", "发错货"],
      facts={"symptom": "收到L码，订单为M码；吊牌、领标均为L"},
      steps=[
          ("classify", "核对订单截图与吊牌照片，确认仓库发错尺码"),
          ("triage",), ("start",),
          ("out", "您好，非常抱歉给您添麻烦了！核对了您发来的吊牌照片，确实是我们仓库发错了尺码。"
                  "给您换成黑色M码，新衣服今天优先发顺丰；L码用我们提供的退货单号寄回即可，来回运费都由我们承担。"),
          ("in", "好的，那麻烦快一点，周末就要穿。"),
          ("note", "双十一期间同款M/L错发已有多单，怀疑SKU库位绑定错误，已请仓库排查同批次订单。"),
          ("sub", "warehouse", "reship", "补发黑色M码羽绒服（YRF-8821-BK-M）一件，顺丰加急；"
                                          "顺带核对双十一期间该SKU的库位绑定。", 24),
          ("sub", "warehouse", "inspect_return", "L码退回后验收：吊牌完好、无穿着痕迹即可入库。", 24 * 7),
          ("sub_start", 0),
      ]),
    T("demo-002", "lina", "o02", ["XCQ-V8-PRO"], "phone", "repair", "product_quality", "merchant",
      "waiting_department", 1.5,
      "吸尘器才用了一个星期，吸力一下子变得很小，开一会儿还有股焦糊味，我都不敢用了。"
      "我在你们家买了好几年东西了，这次真的有点失望。",
      request="尽快检修，修不好就换新",
      facts={"symptom": "吸力明显下降，运行数分钟后有焦糊味", "frequency": "每次使用"},
      steps=[
          ("classify", "电话确认：购买8天，吸力下降伴焦味"),
          ("assign", "senior", "VIP客户，质量问题，转资深客服跟进"),
          ("triage",), ("start",),
          ("out", "李女士您好，我是资深客服周敏。先请您暂停使用吸尘器。我们已安排技术同事远程诊断，"
                  "确认故障后为您上门取件维修，若无法修复直接换新，全程不需要您承担任何费用。"),
          ("sub", "tech_support", "diagnose_fault",
           "VIP客户：V8 Pro吸力下降并有焦味，请根据客户视频判断是否电机故障，给出维修或换新建议。", 24),
          ("sub_start", 0),
      ]),
    T("demo-003", "zhaolei", "o07", ["KQZ-A6-BK"], "social", "complaint", "product_quality", "undetermined",
      "waiting_department", 1,
      "你们家的空气炸锅用了不到两周，昨天炸鸡翅的时候后面突然冒黑烟，整个厨房都是塑料烧焦的味道，"
      "吓得我赶紧拔了插头。这要是半夜没人在家着火了谁负责？今天必须给我个说法，退一赔三，"
      "不然我就把视频发到微博和小红书上，再打12315投诉你们！",
      request="退货退款并三倍赔偿", amount="1436.00", exposure=True,
      facts={"symptom": "使用中机身后部冒黑烟，有塑料烧焦味", "frequency": "一次"},
      steps=[
          ("classify", "微博私信转入，客户附视频；涉及安全隐患，按高风险处理"),
          ("triage",), ("start",),
          ("out", "赵先生您好，我是资深客服周敏。您和家人的安全是第一位的，请先不要再通电使用这台炸锅。"
                  "您的视频我们已经转给技术部门，48小时内给您检测结论和处理方案，期间有任何情况直接打我电话。"),
          ("in", "你们最好说到做到，三天内没说法我就发视频。"),
          ("note", "客户情绪激动，有曝光倾向，客户档案标记为难沟通。已电话安抚，承诺48小时内给结论；"
                   "通话已录音，方案须书面确认。"),
          ("note", "已知悉，检测结论出来后先给我过目再答复客户，赔偿超出权限我来审批。", "supervisor"),
          ("sub", "tech_support", "diagnose_fault", "客户视频显示机身后部冒黑烟：请判断是否电机或线路故障，"
                                                 "并确认同批次是否存在安全隐患。", 24),
          ("sub_start", 0),
      ]),
    T("demo-006", "zhangwei", "o03", ["PB-M11-128", "CDB-P10-20K"], "phone", "consultation", "logistics",
      "third_party", "waiting_department", 3,
      "我上次问过了，平板的物流还是停在“广州白云分拣中心”，四天没动了。你们到底有没有在催？",
      request="尽快送到",
      steps=[
          ("classify", "物流停滞超72小时（跨省），第二次来询"),
          ("triage",), ("start",),
          ("out", "张先生，实在抱歉让您久等了。已经交给物流部直接联系京东物流分拣中心核实，"
                  "今天下班前给您回电。"),
          ("sub", "logistics", "contact_courier", "京东物流单号见订单：包裹在广州白云分拣中心停滞4天，"
                                                  "请核实是否滞留或丢件，必要时申请拦截补发。", 2),
      ]),
    T("demo-029", "zhoujie", "o24", ["XCQ-V8-PRO"], "phone", "return_refund", "product_quality", "merchant",
      "waiting_department", 5,
      "吸尘器的滚刷转着转着就停，换了电池也一样，这个质量我不想要了，退货吧。",
      request="退货退款", amount="1149.00",
      facts={"symptom": "滚刷间歇性停转", "frequency": "每次使用数分钟后"},
      steps=[
          ("classify", "质量问题退货，需寄回检测"),
          ("triage",), ("start",),
          ("out", "周先生您好，已为您登记质量问题退货，运费由我们承担。请在7天内用京东上门取件寄回，"
                  "仓库收到检测后立即退款。"),
          ("in", "已经预约了明天上门取件。"),
          ("sub", "warehouse", "inspect_return",
           "退回吸尘器到仓后检测滚刷电机，确认质量问题后通知财务退款。", 24 * 5),
      ]),
    T("demo-030", "xuqiang", "o11", ["EJ-T20-WH"], "chat", "reship", "wrong_or_missing_item", "merchant",
      "waiting_department", 4,
      "我一起买了充电宝和耳机，包裹里只有充电宝，耳机根本没有！快递单上写的是两件。",
      request="把耳机补寄过来",
      steps=[
          ("classify", "出库称重记录比两件的标准重量少约60克，确认漏发"),
          ("triage",), ("start",),
          ("out", "徐先生您好，核实了出库称重记录，确实是我们漏发了耳机，非常抱歉！"
                  "今天给您补寄，单号出来后第一时间发您。"),
          ("sub", "warehouse", "reship", "补寄T20白色耳机一副（订单漏发），中通发出后回填单号。", 24),
          ("sub_start", 0),
      ]),
    # --- new ------------------------------------------------------------------------------
    T("demo-008", "sunyue", "o12", [], "chat", "", "", "undetermined", "new", 0.1,
      "卫衣发货三天了，物流显示还在杭州没动，什么时候能到厦门啊？我周末要穿的。"),
    T("demo-009", "hujun", "o15", [], "chat", "", "", "undetermined", "new", 0.2,
      "刚才下的羽绒服地址填错了，应该是青岛市市南区香港中路76号2单元1202，还没揽收的话麻烦帮我改一下。"),
    T("demo-010", "liuyang", "o19", ["CDB-P10-20K"], "chat", "refund_only", "", "undetermined", "new", 0.4,
      "【抖音售后申请：未发货仅退款】买家留言：拍重复了，多拍了一个，还没发货的话直接退掉吧。",
      request="未发货仅退款", amount="129.00", preset_type=True),
    T("demo-011", "machao", "o28", [], "phone", "", "", "undetermined", "new", 0.5,
      "我买的三个充电宝，物流五天了一直显示“运输中”，一点更新都没有，是不是丢了？"),
    T("demo-012", "guojia", None, [], "email", "consultation", "", "undetermined", "new", 0.6,
      "你好，想问一下你们家的轻薄羽绒服能不能机洗？我身高165体重110斤，穿M还是L合适？想下单了。",
      preset_type=True),
    T("demo-013", "lina", "o17", ["NZK-502-BL-30"], "phone", "exchange", "", "undetermined", "new", 0.05,
      "前天下的单，牛仔裤我想换成31码，还没送到的话能不能直接给我换？", request="换成31码", preset_type=True),
    # --- triaged --------------------------------------------------------------------------
    T("demo-007", "zhangwei", "o03", ["PB-M11-128"], "chat", "complaint", "logistics", "undetermined",
      "triaged", 0.3,
      "这是我第三次来问了！平板九天了还没到，每次都说在催在催，到底有没有人管？"
      "再不给我解决我就申请平台介入了。",
      request="今天给明确答复，不行就退款",
      steps=[("classify", "第三次来询，客户表示要申请平台介入"), ("triage",)]),
    T("demo-014", "zhoujie", "o09", ["EJ-T20-WH"], "chat", "tech_support", "usage", "undetermined",
      "triaged", 1,
      "耳机只有左耳有声音，右耳一直连不上手机，重新配对也没用。",
      facts={"symptom": "右耳无法配对", "frequency": "一直"},
      steps=[("classify", "疑似左右耳未同步，先指导重置"), ("triage",)]),
    T("demo-015", "huangli", "o23", ["PB-M11-128"], "chat", "price_difference", "price", "merchant",
      "triaged", 0.8,
      "我前几天2399买的平板，今天在你们直播间看到只要2299，货都还没到就降价了，这100块差价得退给我吧？",
      request="退差价100元", amount="100.00",
      steps=[("classify", "直播间活动价2299，在价保期内"), ("triage",)]),
    T("demo-016", "hujun", "o30", ["EJ-T20-WH"], "chat", "refund_only", "product_quality", "merchant",
      "triaged", 1.2,
      "买了两副耳机，其中一副充电盒怎么都充不进电，不想换了，退这一副的钱就行。",
      request="退一副耳机的钱", amount="269.00",
      steps=[("classify", "充电盒故障，客户要求部分退款"), ("triage",)]),
    T("demo-017", "yangfan", "o06", ["SB-W5-BK"], "email", "consultation", "usage", "undetermined",
      "triaged", 2,
      "手表收到了挺好看的，想问问NFC门禁卡怎么添加？说明书上没写清楚。",
      steps=[("classify", "NFC门禁卡使用咨询"), ("triage",)]),
    # --- in_progress ----------------------------------------------------------------------
    T("demo-018", "machao", "o13", ["KFJ-K15-WH"], "phone", "repair", "product_quality", "merchant",
      "in_progress", 12,
      "烧水壶底部一直漏水，桌子上全是水，插座都湿了，这样太危险了。",
      request="修好或换一个", facts={"symptom": "壶底漏水", "frequency": "每次烧水"},
      steps=[
          ("classify", "壶底密封圈问题，按换新处理"),
          ("triage",), ("start",),
          ("out", "马先生您好，漏水确实有安全隐患，请先停止使用。我们直接给您寄一个新壶，旧壶不用寄回了。"),
          ("sub", "warehouse", "reship", "换新K15电热水壶一台，京东物流发出。", 24),
          ("sub_start", 0),
          ("sub_done", 0, "已发出，京东物流单号JDVA31877620415"),
          ("resolve", "已换新，新壶签收"),
          ("in", "新壶是不漏水了，但是底座接触不良，烧一会儿就跳闸，还是不能用。"),
          ("reopen", "回访时客户反馈新壶底座接触不良、烧水跳闸，问题未解决"),
          ("note", "两次同型号问题，已请技术支持确认是否为K15底座批次问题。"),
      ]),
    T("demo-019", "zhaolei", "o22", ["EJ-T20-WH"], "chat", "return_refund", "product_quality", "undetermined",
      "in_progress", 6,
      "耳机右耳没声音了，质量太差，我要退货退款。",
      request="退货退款", amount="279.00",
      steps=[
          ("classify", "客户申请质量问题退货，待寄回检测"),
          ("triage",), ("start",),
          ("out", "赵先生您好，请把耳机连同充电盒寄回，仓库检测后尽快为您处理。"),
          ("in", "已经寄了，中通单号78316602994512。"),
          ("sub", "warehouse", "inspect_return", "检测退回的T20耳机：右耳无声是否为质量问题。", 48),
          ("sub_start", 0),
          ("sub_reject", 0,
           "收到的耳机右耳外壳有明显磕裂，内部有进水痕迹，属于人为损坏，不符合质量问题退货条件。"
                            "外观照片已上传。"),
          ("classify", "仓库检测：外壳磕裂并进水，判定为客户原因", {"responsibility": "customer"}),
          ("assign", "senior", "难沟通客户且涉及责任认定，转资深客服处理"),
          ("note", "客户责任需书面确认：先把检测照片发给客户，再给出付费维修或原样退回两个选择。"),
          ("out", "赵先生您好，仓库检测发现耳机右耳外壳有磕裂、内部有进水痕迹，照片已经发给您了。"
                  "这种情况不在质量问题退货范围内，我们可以为您付费维修（89元），或者把耳机原样寄回，您看选哪种？"),
      ]),
    T("demo-020", "wumin", "o10", ["NZK-502-BL-30"], "chat", "return_refund", "other", "customer",
      "in_progress", 3,
      "牛仔裤两条都有点小，腰围紧，不想要了，七天无理由退货可以吧？",
      request="七天无理由退货退款", amount="338.00",
      steps=[
          ("classify", "七天无理由退货，吊牌完好，运费客户承担"),
          ("triage",), ("start",),
          ("out", "可以的亲，吊牌不拆、不影响二次销售就能退。请用圆通寄回，寄件后把单号发我就好。"),
          ("in", "已经寄出了，圆通YT7733102945812，麻烦收到尽快退款哈。"),
      ]),
    T("demo-021", "liuyang", "o04", ["KQZ-A6-BK"], "chat", "consultation", "usage", "undetermined",
      "in_progress", 0.7,
      "空气炸锅炸薯条总是外面焦了里面还是生的，是我用的方法不对吗？",
      steps=[
          ("classify", "使用方法咨询"),
          ("triage",), ("start",),
          ("out", "亲，冷冻薯条建议先180度预热5分钟，再180度炸12分钟，中途拿出来翻一下，薯条不要铺太厚哦。"),
          ("in", "我试试看，晚点告诉你效果。"),
      ]),
    T("demo-022", "zhuting", "o29", ["KFJ-K15-WH"], "email", "reship", "wrong_or_missing_item", "merchant",
      "in_progress", 4,
      "你好，我同一单买了空气炸锅和电热水壶，收到的箱子里只有空气炸锅，水壶没有。麻烦查一下。",
      request="补发电热水壶",
      steps=[
          ("classify", "少件，待仓库核实出库记录"),
          ("triage",), ("start",),
          ("sub", "warehouse", "other", "核对订单出库记录和称重，确认电热水壶是否漏发。", 24),
          ("sub_start", 0),
          ("sub_done", 0, "出库称重2.9kg，与两件合计4.1kg不符，确认漏发水壶，可以补寄。"),
          ("out", "朱女士您好，已确认是我们漏发了电热水壶，非常抱歉，今天为您安排补寄。"),
      ]),
    T("demo-023", "huangli", "o08", ["LLJ-X3-GR"], "chat", "price_difference", "price", "merchant",
      "in_progress", 2.5,
      "我20天前买的料理机599，现在活动价499，你们不是说30天价保吗？差价什么时候退？",
      request="退差价100元", amount="100.00",
      steps=[
          ("classify", "价保期30天内，活动价499"),
          ("triage",), ("start",),
          ("note", "已核实：购买价599，当前活动价499，在价保期内，差价100元，在客服权限内。"),
          ("out", "黄女士您好，已核实符合价保，差价100元今天提交退款，1–3个工作日原路退回。"),
      ]),
    # --- waiting_customer -----------------------------------------------------------------
    T("demo-024", "yangfan", "o06", ["SB-W5-BK"], "chat", "tech_support", "product_quality", "undetermined",
      "waiting_customer", 4,
      "手表的NFC刷公交一直刷不出来，手机上显示已经开通了。",
      facts={"symptom": "NFC公交卡刷卡无响应"},
      steps=[
          ("classify", "NFC功能异常，先远程排查"),
          ("triage",), ("start",),
          ("out", "杨先生您好，麻烦您按以下步骤试一下：1. 设置-NFC-默认卡设为公交卡；2. 重启手表；"
                  "3. 刷卡时手表表盘朝外贴近闸机。试完告诉我结果哈。"),
          ("wait", "已给出排查步骤，等客户反馈"),
      ]),
    T("demo-025", "wangfang", "o16", ["KFJ-K15-WH"], "chat", "refund_only", "product_quality", "merchant",
      "waiting_customer", 3,
      "水壶收到了，壶身侧面有一道挺明显的划痕，看着不舒服，能补偿一点吗？",
      request="补偿部分货款", amount="30.00",
      steps=[
          ("classify", "外观划痕，不影响使用"),
          ("triage",), ("start",),
          ("out", "王女士您好，非常抱歉！两个方案您选一个：1. 补偿20元，水壶您继续用；"
                  "2. 退货退款，运费我们出。"),
          ("wait", "已给出补偿或退货两个方案，等客户选择"),
      ]),
    T("demo-026", "zhuting", "o14", ["XCQ-V8-PRO"], "email", "tech_support", "product_quality",
      "undetermined",
      "waiting_customer", 2,
      "吸尘器电池充了一晚上还是只有一格电，用两分钟就关机。",
      facts={"symptom": "电池无法充满，续航约2分钟"},
      steps=[
          ("classify", "疑似电池或充电器故障"),
          ("triage",), ("start",),
          ("out", "朱女士您好，麻烦拍一段充电时指示灯状态的视频发给我们，"
                  "另外请确认使用的是原装充电器，方便技术同事判断。"),
          ("wait", "等客户提供充电视频"),
      ]),
    T("demo-027", "wumin", "o25", ["YRF-8821-BK-L"], "chat", "exchange", "other", "customer",
      "waiting_customer", 3.5,
      "羽绒服L码穿着有点大，想换M码，可以吗？吊牌都还在。",
      request="换M码",
      steps=[
          ("classify", "尺码不合适换货，客户原因"),
          ("triage",), ("start",),
          ("out", "亲，可以换的。不过黑色M码目前缺货，预计3天后到货，您看是等到货换，还是直接退货退款？"),
          ("in", "我考虑一下。"),
          ("out", "好的，您考虑好了随时回复我，我给您把M码留着。"),
          ("wait", "M码缺货，等客户决定等货还是退款"),
      ]),
    T("demo-028", "chenjing", None, [], "chat", "consultation", "other", "undetermined",
      "waiting_customer", 1,
      "我上个月在你们家买的裤子，现在想再买一条同款，能给个老客优惠吗？",
      steps=[
          ("classify", "老客优惠咨询，缺订单号"),
          ("triage",), ("start",),
          ("out", "亲，麻烦发一下您上次的订单号，我帮您查一下可以申请的老客优惠哦。"),
          ("wait", "等客户提供订单号"),
      ]),
    # --- resolved -------------------------------------------------------------------------
    T("demo-004", "chenjing", "o05", ["KFJ-K15-WH"], "platform_dispute", "refund_only", "logistics",
      "third_party", "resolved", 3,
      "【拼多多平台介入】买家申请仅退款，原因：快递一直未送达。买家留言：下单都十来天了，"
      "物流一直停在郑州转运中心不动，问了客服好几次都说再等等，我不要了，直接退款吧。",
      request="仅退款", amount="218.00", preset_type=True, tags=["平台介入"],
      steps=[
          ("classify", "平台介入；物流停滞超72小时，跨省件"),
          ("triage",), ("start",),
          ("sub", "logistics", "contact_courier", "联系中通郑州转运中心核实包裹状态，能找到就拦截退回。", 12),
          ("sub_start", 0),
          ("sub_done", 0, "中通回复：包裹在转运中心破损遗失，已登记理赔，不再派送。"),
          ("sub", "finance", "refund_payment", "平台介入订单：向买家全额退款218.00元。", 12),
          ("sub_done", 1, "已在拼多多后台同意退款218.00元。"),
          ("out", "陈女士您好，核实包裹在中转时遗失了，已为您全额退款218元，给您添麻烦了非常抱歉。"),
          ("resolve", "全额退款；快递理赔由物流部跟进"),
      ]),
    T("demo-031", "sunyue", "o27", ["SB-W5-BK"], "chat", "repair", "product_quality", "merchant",
      "resolved", 6,
      "手表戴了不到三周，表带和表身连接的地方断了，表差点掉地上。",
      request="换一根表带",
      steps=[
          ("classify", "表带连接轴断裂，质量问题"),
          ("triage",), ("start",),
          ("sub", "warehouse", "reship", "寄一根W5原装黑色表带，附快拆工具。", 24),
          ("sub_done", 0, "已中通寄出，单号78316655021033"),
          ("out", "孙女士，新表带已经寄出，附了快拆工具，到了按说明书第6页就能换上。"),
          ("in", "收到了，已经换好了，谢谢。"),
          ("resolve", "已补寄表带，客户已自行更换"),
      ]),
    T("demo-032", "chenjing", "o20", ["NZK-502-BL-30"], "chat", "exchange", "other", "customer",
      "resolved", 8,
      "裤子30码腰有点紧，换成31码吧，快递费我自己出。",
      request="换31码",
      steps=[
          ("classify", "尺码换货，客户原因"),
          ("triage",), ("start",),
          ("in", "裤子已经寄回了，中通78316120098873。"),
          ("sub", "warehouse", "inspect_return", "验收退回的30码牛仔裤，合格后发出31码。", 48),
          ("sub_done", 0, "退回件吊牌完好，已发出31码，中通78316130044120"),
          ("out", "陈女士，31码已经发出了，单号78316130044120，注意查收哦。"),
          ("resolve", "已换货，等待客户确认"),
      ]),
    T("demo-033", "machao", "o13", ["KFJ-K15-WH"], "chat", "consultation", "usage", "undetermined",
      "resolved", 5,
      "水壶里面有一层白色的水垢，怎么清理比较好？",
      steps=[
          ("classify", "水垢清理咨询"),
          ("triage",), ("start",),
          ("out", "您好，可以加半壶清水和两勺柠檬酸烧开，静置半小时后倒掉再用清水冲两遍就干净了。"),
          ("resolve", "已告知清理方法"),
      ]),
    T("demo-034", "liuyang", "o04", ["KQZ-A6-BK"], "social", "refund_only", "logistics", "third_party",
      "resolved", 8.5,
      "炸锅外箱被压得稀烂，锅身上也有个小凹痕，还能用，但送人肯定不行了。你们看怎么处理？",
      request="补偿一些", amount="50.00",
      steps=[
          ("classify", "运输压损，责任在快递"),
          ("triage",), ("start",),
          ("out", "刘先生您好，给您补偿30元，已经提交，1–3天到账；快递这边我们去追责。"),
          ("in", "行吧，那就这样。"),
          ("sub", "finance", "refund_payment", "运输压损补偿30元（抖音小额打款）。", 24),
          ("sub_done", 0, "已打款30.00元"),
          ("resolve", "补偿30元，向圆通发起理赔"),
      ]),
    # --- closed ---------------------------------------------------------------------------
    T("demo-005", "zhangwei", "o03", ["PB-M11-128"], "chat", "consultation", "logistics", "third_party",
      "closed", 5,
      "平板下单好几天了，物流一直显示在广州，什么时候能到北京？",
      steps=[
          ("classify", "物流时效咨询"),
          ("triage",), ("start",),
          ("out", "张先生您好，您的包裹已从广州仓发出，正常2–3天到北京，"
                  "我们会盯着物流，有异常第一时间联系您。"),
          ("in", "好的，谢谢。"),
          ("resolve", "已告知物流时效"),
          ("survey", True, 4, "换了新的，挺好"),
      ]),
    T("demo-035", "hujun", "o15", [], "chat", "consultation", "logistics", "undetermined", "closed", 1,
      "羽绒服什么时候发货？我下周要出差，想带着。",
      steps=[
          ("classify", "发货时效咨询"),
          ("triage",), ("start",),
          ("out", "胡先生您好，您的羽绒服已经打包好了，今天顺丰揽收，青岛一般隔天就到，出差前肯定能收到。"),
          ("resolve", "已告知发货时间"),
          ("in", "好的，那就放心了。"),
          ("follow_up", "solved", "电话回访，客户确认已解决"),
      ]),
    T("demo-036", "xuqiang", "o11", ["CDB-P10-20K"], "chat", "consultation", "usage", "undetermined",
      "closed", 9,
      "这个20000毫安的充电宝能带上飞机吗？",
      steps=[
          ("classify", "充电宝乘机规定咨询"),
          ("triage",), ("start",),
          ("out", "可以的，P10额定能量74Wh，低于民航100Wh的限制，可以随身携带，不能托运哦。"),
          ("resolve", "已解答"),
          ("survey", True, 5, "处理很快，谢谢"),
      ]),
    T("demo-037", "sunyue", "o27", [], "phone", "complaint", "service_attitude", "merchant", "closed", 13,
      "我问了三遍表带怎么换，你们客服每次就发个链接就不理人了，这是什么服务态度？",
      request="要一个道歉",
      steps=[
          ("classify", "客户投诉客服回复敷衍"),
          ("triage",), ("start",),
          ("out", "孙女士，非常抱歉之前的回复让您不满意。我直接电话教您换表带，"
                  "再给您发一张20元无门槛券表示歉意。"),
          ("in", "好吧，这次态度还行。"),
          ("note", "涉事客服已做回复规范培训：不得只发链接，需确认客户已解决。", "supervisor"),
          ("resolve", "已致歉并电话指导，补偿20元优惠券"),
          ("follow_up", "solved", "电话回访，客户表示满意", 4),
      ]),
    T("demo-038", "huangli", "o08", ["LLJ-X3-GR"], "other", "consultation", "usage", "undetermined",
      "closed", 15,
      "（线下体验店店员转交）顾客想知道料理机能不能直接打豆浆，需不需要提前泡豆子。",
      steps=[
          ("classify", "门店转来的使用咨询"),
          ("triage",), ("start",),
          ("out", "黄女士您好，X3可以直接打豆浆，干豆需要泡4小时以上，选“豆浆”程序约25分钟就好。"),
          ("resolve", "已解答"),
          ("follow_up", "solved", "电话回访，客户确认已解决"),
      ]),
    # --- archived -------------------------------------------------------------------------
    T("demo-039", "yangfan", "o21", ["LLJ-X3-GR"], "phone", "repair", "product_quality", "merchant",
      "archived", 25,
      "料理机开机后只响不转，电机嗡嗡的，刀片一动不动。",
      request="维修", facts={"symptom": "电机异响，刀片不转", "frequency": "每次开机"},
      steps=[
          ("classify", "电机故障，寄修"),
          ("triage",), ("start",),
          ("sub", "tech_support", "diagnose_fault", "检测寄回的X3料理机：电机异响、刀片不转。", 72),
          ("sub_start", 0),
          ("sub_done", 0, "刀组轴承卡死，已更换刀组并测试正常，寄回客户。"),
          ("out", "杨先生您好，料理机已修好：更换了刀组，测试正常，今天顺丰寄回给您。"),
          ("resolve", "更换刀组后寄回"),
          ("in", "收到了，用着没问题了。"),
          ("survey", True, 5, "处理很快，谢谢"),
          ("summary", "刀组轴承卡死。", "寄修更换刀组，3天寄回。",
           "此类异响先让客户拍视频，可以远程判断是否刀组问题，直接寄刀组省去寄修往返。"),
          ("archive", "结案归档"),
      ]),
    T("demo-040", "zhangwei", "o18", ["SB-W5-BK"], "email", "repair", "product_quality", "merchant",
      "archived", 20,
      "手表屏幕突然不亮了，充电也没反应，买了才一周。",
      request="维修或换新", facts={"symptom": "黑屏，充电无反应"},
      steps=[
          ("classify", "7天内质量问题，换新"),
          ("triage",), ("start",),
          ("sub", "warehouse", "reship", "换新W5黑色一台，旧表随新表快递员取回。", 24),
          ("sub_done", 0, "已发出新表并取回旧表"),
          ("sub", "tech_support", "diagnose_fault", "检测取回的W5：黑屏且无法充电。", 72),
          ("sub_done", 1, "主板供电芯片损坏，属于个体故障，非批次问题。"),
          ("resolve", "已换新"),
          ("follow_up", "solved", "电话回访，客户确认已解决"),
          ("summary", "主板供电芯片个体故障。", "7天内质量问题直接换新，旧表取回检测。",
           "换新与取回同一快递员完成，客户不用跑两趟。"),
          ("archive", "结案归档"),
      ]),
    T("demo-041", "xuqiang", "o26", ["KFJ-K15-WH"], "chat", "refund_only", "logistics", "third_party",
      "archived", 22,
      "水壶收到的时候壶嘴都被压扁了，盒子也是破的，这让我怎么用？",
      request="退款", amount="99.00",
      steps=[
          ("classify", "运输破损，快递责任"),
          ("triage",), ("start",),
          ("out", "徐先生，照片看到了，实在抱歉。这个不用寄回了，直接给您全额退款99元。"),
          ("sub", "finance", "refund_payment", "运输破损全额退款99.00元。", 24),
          ("sub_done", 0, "已退款99.00元"),
          ("sub", "logistics", "contact_courier", "向中通发起破损理赔，附客户照片。", 72),
          ("sub_done", 1, "中通已同意理赔99元"),
          ("resolve", "全额退款，快递理赔成功"),
          ("follow_up", "solved", "电话回访，客户确认已解决"),
          ("summary", "运输压损。", "低值商品破损免退直接退款，向快递理赔。",
           "K15外箱缓冲不足，已建议仓库加一层气泡膜。"),
          ("archive", "结案归档"),
      ]),
    T("demo-042", "hujun", "o30", ["EJ-T20-WH"], "chat", "reship", "wrong_or_missing_item", "merchant",
      "archived", 17,
      "耳机盒子里没有充电线，我家里也没有Type-C的线，怎么充电？",
      request="补寄充电线",
      steps=[
          ("classify", "配件漏装"),
          ("triage",), ("start",),
          ("sub", "warehouse", "reship", "补寄Type-C充电线两根（两副耳机）。", 24),
          ("sub_done", 0, "已顺丰寄出"),
          ("out", "胡先生，充电线已经补寄了两根，顺丰明天能到。"),
          ("resolve", "已补寄配件"),
          ("follow_up", "solved", "电话回访，客户确认已解决"),
          ("summary", "包装线配件漏装。", "补寄充电线。", "已请仓库在包装工位加配件核对。"),
          ("archive", "结案归档"),
      ]),
)


def _last_double_eleven(now: datetime) -> datetime:
    """Just after midnight on the last 11 November (双十一); a recent date if that is long past."""
    local = timezone.localtime(now)
    year = local.year if (local.month, local.day) >= (11, 11) else local.year - 1
    promo = local.replace(year=year, month=11, day=11, hour=0, minute=8, second=0, microsecond=0)
    return promo if now - promo <= timedelta(days=40) else now - timedelta(days=12)


def _tracking_number(carrier: str, order_number: str) -> str:
    digits = str(int(sha256(order_number.encode()).hexdigest(), 16))
    return {
        SF: "SF" + digits[:13],
        ZTO: "78" + digits[:12],
        YTO: "YT" + digits[:13],
        JDL: "JDVA" + digits[:11],
    }[carrier]


class Command(BaseCommand):
    help = "Load demo data (customers, orders, tickets in every state) and demo users; prints passwords."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (creates users with known passwords and prints them).",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it creates users with well-known passwords and "
                "prints them. Pass --allow-production only on a test or demo installation."
            )
        with transaction.atomic():
            self.now = timezone.now()
            users = self._seed_users()
            customers = self._seed_customers()
            products = self._seed_products()
            orders = self._seed_orders(customers, products)
            created, skipped = self._seed_tickets(users, customers, orders)
            self.articles = demo_articles_load(author=users["supervisor"])
        self._report(created, skipped)

    # Users --------------------------------------------------------------------------------

    def _seed_users(self) -> dict:
        User = get_user_model()
        departments = {
            code: Department.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en})[0]
            for code, name, name_en in DEFAULT_DEPARTMENTS
        }
        users = {}
        for username, role, department, refund_limit, display_name in DEMO_USERS:
            user = User.objects.filter(username=username).first() or User(username=username)
            user.first_name = display_name
            user.is_active = True
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.set_password(demo_password(username))
            user.save()
            user.groups.set([Group.objects.get_or_create(name=role)[0]])
            StaffProfile.objects.update_or_create(
                user=user,
                defaults={
                    "department": departments[department] if department else None,
                    "on_duty": True,
                    "refund_limit": Decimal(refund_limit),
                },
            )
            users[username] = user
        return users

    # Customers, products, orders ----------------------------------------------------------

    def _seed_customers(self) -> dict:
        customers = {}
        for key, platform, account, name, phone, address, vip, difficult, email, notes in CUSTOMERS:
            customers[key], _ = Customer.objects.get_or_create(
                platform=platform,
                platform_account=account,
                defaults={
                    "name": name, "phone": phone, "address": address, "email": email, "notes": notes,
                    "tier": Customer.Tier.VIP if vip else Customer.Tier.NORMAL, "is_difficult": difficult,
                },
            )
        return customers

    def _seed_products(self) -> dict:
        products = {}
        for sku, name, model, category, price in PRODUCTS:
            product, _ = Product.objects.get_or_create(
                sku=sku, defaults={"name": name, "model": model, "category": category}
            )
            products[sku] = (product, Decimal(price))
        return products

    def _seed_orders(self, customers: dict, products: dict) -> dict:
        orders = {}
        for key, customer_key, number, days_ago, logistics, carrier, warehouse, lines in ORDERS:
            customer = customers[customer_key]
            if days_ago == DOUBLE_ELEVEN:
                placed_at = _last_double_eleven(self.now)
            else:
                placed_at = self.now - timedelta(days=days_ago, hours=(int(number[-2:]) % 9))
            delivered = logistics == Order.LogisticsStatus.DELIVERED
            order, created = Order.objects.get_or_create(
                platform=customer.platform,
                external_number=number,
                defaults={
                    "customer": customer,
                    # Buyers confirm receipt some days after delivery (交易成功); until then it stays shipped.
                    "status": Order.Status.COMPLETED
                    if delivered and self.now - placed_at > timedelta(days=9)
                    else Order.Status.SHIPPED,
                    "paid_amount": sum((Decimal(paid) for _, _, paid in lines), Decimal("0")),
                    "placed_at": placed_at,
                    "ship_by": placed_at + timedelta(hours=48),
                    "shipped_at": placed_at + timedelta(hours=6 + int(number[-1]) * 2),
                    "carrier": carrier,
                    "tracking_number": _tracking_number(carrier, number),
                    "logistics_status": logistics,
                    "warehouse": warehouse,
                    "shipping_address": customer.address,
                },
            )
            for sku, quantity, paid in lines:
                product, price = products[sku]
                OrderItem.objects.get_or_create(
                    order=order, product=product,
                    defaults={"quantity": quantity, "unit_price": price, "paid_amount": Decimal(paid)},
                )
            orders[key] = order
        return orders

    # Tickets ------------------------------------------------------------------------------

    def _seed_tickets(self, users: dict, customers: dict, orders: dict) -> tuple[int, int]:
        existing = set(
            Ticket.objects.filter(external_source=EXTERNAL_SOURCE).values_list("external_id", flat=True)
        )
        created = skipped = 0
        # Oldest first, each backdated as soon as it is built: the repeat-contact rule then sees
        # the customer's history as it was, not forty tickets created in the same second.
        for spec in sorted(DEMO_TICKETS, key=lambda s: -s.days_ago):
            if spec.id in existing:
                skipped += 1
                continue
            self._build_ticket(spec, users, customers[spec.customer], orders.get(spec.order))
            created += 1
        return created, skipped

    def _build_ticket(self, spec: DemoTicket, users: dict, customer: Customer, order: Order | None) -> None:
        items = (
            list(order.items.select_related("product").filter(product__sku__in=spec.items)) if order else []
        )
        fields = {
            "customer_request": spec.request,
            "requested_amount": Decimal(spec.amount) if spec.amount else None,
            "threatens_exposure": spec.exposure,
            "platform_intervention": spec.channel == "platform_dispute",
        }
        if spec.preset_type:
            fields["type"] = spec.type
        if order is not None:
            fields["purchase_date"] = timezone.localtime(order.placed_at).date()
        if items:
            fields["product_model"] = items[0].product.model
        created_at = self.now - timedelta(days=spec.days_ago)
        if order is not None:
            created_at = max(created_at, order.placed_at + timedelta(hours=2))
        # Replay the case on a demo clock so every timestamp (messages, events, first response,
        # resolution) tells the story in order, a few hours apart, never in the future.
        step_gap = min(timedelta(hours=3), (self.now - created_at) / (len(spec.steps) + 1))
        clock = _DemoClock(created_at, step_gap)
        with mock.patch("django.utils.timezone.now", clock):
            ticket = ticket_create(
                actor=users["agent"], channel=spec.channel, description=spec.text, customer=customer, order=order,
                affected_items=items, tags=spec.tags, external_source=EXTERNAL_SOURCE, external_id=spec.id,
                **fields,
            )
            subtasks: list[Subtask] = []
            for step in spec.steps:
                clock.tick()
                self._run_step(ticket, spec, step, users, subtasks)
                ticket = Ticket.objects.get(pk=ticket.pk)
        if ticket.status != spec.status:
            raise CommandError(f"Demo ticket {spec.id} ended {ticket.status}, expected {spec.status}.")

    def _run_step(self, ticket: Ticket, spec: DemoTicket, step: tuple, users: dict, subtasks: list) -> None:
        op, *args = step
        agent = ticket.assignee or users["agent"]
        if op in ("in", "out", "note"):
            direction = {"in": Message.Direction.INBOUND, "out": Message.Direction.OUTBOUND,
                         "note": Message.Direction.NOTE}[op]
            author = users[args[1]] if len(args) > 1 else (None if op == "in" else agent)
            message_add(ticket=ticket, actor=author, direction=direction, body=args[0])
        elif op == "classify":
            values = {"type": spec.type, "category": spec.category, "responsibility": spec.responsibility,
                      **spec.facts, **(args[1] if len(args) > 1 else {})}
            ticket_classify(ticket=ticket, actor=agent, reason=args[0], **values)
        elif op in ("triage", "start"):
            ticket_transition(ticket=ticket, action=op, actor=agent)
        elif op in ("wait", "resume", "resolve", "close", "reopen", "archive"):
            action = "wait_customer" if op == "wait" else op
            ticket_transition(ticket=ticket, action=action, actor=agent, reason=args[0])
        elif op == "survey":
            survey_submit(ticket=ticket, solved=args[0], score=args[1], comment=args[2])
        elif op == "follow_up":
            follow_up_record(ticket=ticket, actor=agent, channel=Channel.PHONE, result=args[0], note=args[1],
                             score=args[2] if len(args) > 2 else None)
        elif op == "summary":
            root_cause, done, lesson = args
            ticket_set_summary(ticket=ticket, actor=agent, root_cause=root_cause, summary=done, what_worked=lesson)
        elif op == "assign":
            ticket_assign(ticket=ticket, actor=users["supervisor"], assignee=users[args[0]], reason=args[1])
        elif op == "sub":
            code, kind, description, due_hours = args
            subtasks.append(subtask_create(
                ticket=ticket, actor=agent, department=Department.objects.get(code=code), kind=kind,
                description=description, due_at=timezone.now() + timedelta(hours=due_hours),
            ))
        elif op in ("sub_start", "sub_done", "sub_reject"):
            index = args[0]
            subtask = Subtask.objects.select_related("department").get(pk=subtasks[index].pk)
            worker = users[DEPARTMENT_USER[subtask.department.code]]
            if op == "sub_start":
                subtasks[index] = subtask_start(subtask=subtask, actor=worker)
            elif op == "sub_done":
                subtasks[index] = subtask_complete(subtask=subtask, actor=worker, result=args[1])
            else:
                subtasks[index] = subtask_reject(subtask=subtask, actor=worker, reason=args[1])
        else:
            raise CommandError(f"Demo ticket {spec.id}: unknown step {op!r}.")

    # Output -------------------------------------------------------------------------------

    def _report(self, created: int, skipped: int) -> None:
        User = get_user_model()
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo data ready: {created} demo tickets created, {skipped} existed."))
        write("")
        write("Demo users (log in at /accounts/login/):")
        write(f"  {'username':<12}{'role':<18}{'department':<14}password")
        for username, role, department, _, _ in DEMO_USERS:
            write(f"  {username:<12}{role:<18}{department or '-':<14}{demo_password(username)}")
        write("")
        counts = {
            "users": User.objects.count(),
            "customers": Customer.objects.count(),
            "products": Product.objects.count(),
            "orders": Order.objects.count(),
            "order items": OrderItem.objects.count(),
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "events": TicketEvent.objects.count(),
            "subtasks": Subtask.objects.count(),
            "surveys": SatisfactionSurvey.objects.count(),
            "knowledge articles": KnowledgeArticle.objects.count(),
        }
        write("Counts: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
        if not settings.DEBUG:
            write(self.style.WARNING("DEBUG is off: change or remove these demo accounts before real use."))
