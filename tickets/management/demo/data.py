"""Demo tables: staff users, customers, products and orders, keyed on their natural keys, and the
shape of one scripted case (DemoTicket; the cases themselves are in cases_open.py and cases_closed.py)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256

from django.utils import timezone

from customers.models import Platform
from tickets.roles import Role


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
