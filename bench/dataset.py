"""The one dataset every bench shares: a year of after-sales work on PostgreSQL, generated fast.

    .venv/bin/python bench/dataset.py --tickets 1000000 --name aftersales_bench [--force]

`prepare_database(n_tickets=…, name=…)` returns the URL of database `name` on the server of
`base_url` (default: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres). A database
that already holds a finished dataset of the same size, seed and DATASET_VERSION (marker table
`bench_dataset`) is returned at once; otherwise it is dropped, created, migrated by the app's own
`manage.py migrate` (so the schema, indexes and reference rows are exactly the app's), filled,
vacuumed and analysed, and only then marked finished (a rebuild drops the database WITH (FORCE):
sessions still on it are ended). `dataset_facts(url)` gives benches the ids
and values they need (the ticket with 50 timeline events, an order number, a phone, a search word,
logins).

How it stays fast (1M tickets and ~20M dependent rows in minutes on two cores):
- rows are generated as COPY text in Python, in chunks of tickets with their orders, items,
  messages, events, subtasks and surveys, by one worker process per core, each with its own
  connection and one transaction per chunk; every id is chosen up front (ticket i has order i,
  child rows take ids from a per-chunk block), so no chunk waits on another;
- a chunk's RNG is seeded from (seed, chunk), so the data do not depend on which worker ran it;
- while loading, the session runs with `session_replication_role = replica`, which skips the
  per-row foreign-key triggers (tens of millions of single-row look-ups); every foreign key of
  every table is then checked in bulk, one anti-join per constraint, and a dangling reference
  fails the build;
- the tables whose rows arrive in random order for their indexes (customers, orders, tickets) have
  their plain secondary indexes dropped for the load and re-created from their own definitions
  afterwards, all cores at once (about twice as fast as keeping them up to date); the build then
  checks that pg_indexes is exactly what it was. Primary keys, unique constraints and the indexes
  of messages, events and items (appended in index order) stay in place.

Times are generated relative to the moment of the build ("now"): tickets over the last 365 days
with a daily and weekly shape and the 双十一 (11-11) spike; 3% of them open, mostly the newest,
with SLA clocks computed the way tickets/sla/clock.py computes them, so the sweep has real work.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import multiprocessing
import os
import random
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Bump when the generated data change shape: databases built by an older version are rebuilt.
DATASET_VERSION = 3
DEFAULT_BASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench"  # every generated staff user's password
DAY = 86_400
HOUR = 3_600
MINUTE = 60
CHUNK_TICKETS = 10_000
# Child rows take ids from a block per chunk (deterministic whoever loads the chunk); the blocks
# are generous, so ids have gaps. The sequences are moved past the largest id at the end.
ID_BLOCK = {"orders_orderitem": 8, "tickets_message": 40, "tickets_ticketevent": 80, "tickets_subtask": 4,
            "tickets_satisfactionsurvey": 4, "tickets_followup": 4, "tickets_ticket_affected_items": 1,
            "tickets_ticket_tags": 2}
OPEN_SHARE = 0.03
# Share of the open, running tickets whose next SLA check has already passed when the build ends.
SLA_DUE_SHARE = 0.01
AUTO_CLOSE_DAYS = 7  # settings.AUTO_CLOSE_DAYS: silent resolved tickets are closed after this
SEARCH_WORD = "掉色"  # appears in ~1% of descriptions (one template): the search benches look for it
# A common word: in ~10.7% of tickets (the defect 包装盒压坏了, 包装和配件都还在, 外包装破损), so its search
# matches 100,000 tickets at 1,000,000 (bench search_common; issue 21: any word within 50 ms).
SEARCH_COMMON_WORD = "包装"
DETAIL_EVENTS = 50
# What the spread comes out at per ticket (the test checks the counts against these).
EXPECTED_PER_TICKET = {
    "customers_customer": 1 / 3,
    "orders_order": 1.0,
    "orders_orderitem": 1.8,
    "tickets_message": 6.0,
    # A closed ticket's timeline alone is 8 events (created, sla_started, triage, start, first_response,
    # resolve, the follow-up answer or silence, close); subtasks, waits, reopens, breaches add to it.
    "tickets_ticketevent": 10.0,
    "tickets_subtask": 1 / 3,
}

# Vocabulary ----------------------------------------------------------------------------------------

PLATFORMS = ("taobao", "tmall", "jd", "douyin", "pinduoduo", "own_site")
PLATFORM_WEIGHTS = (30, 18, 18, 16, 12, 6)
# Where a case comes in, per platform shop (own site has no platform after-sales or disputes).
CHANNELS_PLATFORM = (("chat", 44), ("platform", 24), ("phone", 12), ("social", 5), ("customer_link", 5),
                     ("email", 2), ("platform_dispute", 3), ("other", 5))
CHANNELS_OWN_SITE = (("chat", 40), ("email", 25), ("phone", 20), ("social", 5), ("customer_link", 5),
                     ("other", 5))
# type: weight, [(category, weight)], share of tickets with a department subtask
TYPES = {
    "return_refund": (22, (("product_quality", 55), ("wrong_or_missing_item", 10), ("other", 35)), 0.50),
    "refund_only": (16, (("logistics", 40), ("product_quality", 30), ("price", 10), ("other", 20)), 0.21),
    "exchange": (12, (("other", 45), ("product_quality", 35), ("wrong_or_missing_item", 20)), 0.42),
    "reship": (7, (("wrong_or_missing_item", 80), ("logistics", 20)), 0.59),
    "repair": (6, (("product_quality", 100),), 0.50),
    "price_difference": (5, (("price", 100),), 0.17),
    "consultation": (18, (("usage", 40), ("logistics", 45), ("price", 10), ("other", 5)), 0.04),
    "complaint": (7, (("service_attitude", 35), ("logistics", 30), ("product_quality", 35)), 0.17),
    "tech_support": (7, (("usage", 80), ("product_quality", 20)), 0.25),
}
TYPE_LABELS = {"return_refund": "退货退款", "refund_only": "仅退款", "exchange": "换货", "reship": "补寄",
               "repair": "维修", "price_difference": "退差价", "consultation": "咨询", "complaint": "投诉",
               "tech_support": "技术支持"}
# type -> [(department, kind, what is needed)] (the second one only for some tickets)
SUBTASKS = {
    "return_refund": (("warehouse", "inspect_return",
                       "退货到仓后验收：检查{p}是否与客户描述一致，确认后通知财务退款。"),
                      ("finance", "refund_payment", "验收通过后按原路退款{a}元。")),
    "refund_only": (("finance", "refund_payment", "客户申请仅退款{a}元，核对后原路退回。"),),
    "exchange": (("warehouse", "reship", "换新发出{p}一件，发出后回填单号。"),
                 ("warehouse", "inspect_return", "换货退回件到仓验收：吊牌完好、不影响二次销售即可入库。")),
    "reship": (("warehouse", "reship", "补寄{p}一件（订单漏发/错发），发出后回填单号。"),),
    "repair": (("tech_support", "diagnose_fault", "根据客户视频判断{p}故障原因，给出维修或换新建议。"),),
    "tech_support": (("tech_support", "diagnose_fault", "远程协助客户排查{p}的问题，必要时安排检测。"),),
    "price_difference": (("finance", "refund_payment", "价保期内降价，退差价{a}元。"),),
    "consultation": (("logistics", "contact_courier", "联系{c}核实包裹位置，今天内回复客户。"),),
    "complaint": (("logistics", "contact_courier", "催{c}尽快派送，并核实延误原因。"),
                  ("quality", "other", "同款{p}近期投诉较多，请品控抽检同批次。")),
}
SUBTASK_RESULTS = {"done": ("已处理完毕，结果已同步客户。", "已发出，单号已回填。", "验收通过，已通知财务。",
                            "退款已原路退回。",
                            "检测为电机故障，建议换新。", "已联系快递，明天派送。"),
                   "rejected": ("退回件有人为损坏痕迹，不符合质量问题退货条件，照片已上传。",
                                "信息不全，请补充订单截图后再提交。"),
                   "cancelled": ("客户已自行解决，不再需要。", "客户改为仅退款，取消换货。")}
CARRIERS = ("中通快递", "圆通速递", "顺丰速运", "韵达快递", "申通快递", "极兔速递")
CARRIER_CODES = ("ZT", "YT", "SF", "YD", "ST", "JT")
WAREHOUSES = ("杭州仓", "广州仓", "成都仓", "天津仓")
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
            "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
            "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚",
            "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金")
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
               "秀英", "霞", "平", "刚", "桂英", "晓雨", "浩", "婷", "鹏", "志远", "建国", "悦", "欣怡", "子涵",
               "梓萱", "一诺", "宇轩", "浩然", "思远", "佳怡", "雨桐", "俊杰", "晨", "琳", "雪", "倩", "慧", "颖",
               "凯", "斌", "宁", "帆", "佳", "文博", "嘉怡", "诗涵", "梦琪", "天佑", "海燕", "丹", "萍", "玉兰", "红")
NICK_WORDS = ("小", "爱购物", "的日常", "不差钱", "酱", "宝贝", "阳光", "快乐", "momo", "lucky", "喵", "大大", "努力",
              "生活家", "吃货", "晴天", "追风", "小确幸", "橙子", "柠檬")
ADDRESSES = (
    ("浙江省", "杭州市", ("西湖区", "滨江区", "余杭区", "拱墅区", "上城区")),
    ("浙江省", "宁波市", ("鄞州区", "海曙区", "江北区")),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "闵行区", "静安区", "杨浦区")),
    ("北京市", "北京市", ("朝阳区", "海淀区", "丰台区", "西城区", "昌平区")),
    ("广东省", "广州市", ("天河区", "越秀区", "番禺区", "白云区")),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区")),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "江宁区")),
    ("江苏省", "苏州市", ("工业园区", "姑苏区", "吴中区")),
    ("四川省", "成都市", ("武侯区", "锦江区", "高新区", "成华区")),
    ("湖北省", "武汉市", ("洪山区", "武昌区", "江汉区")),
    ("山东省", "青岛市", ("市南区", "崂山区", "黄岛区")),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区")),
    ("陕西省", "西安市", ("雁塔区", "碑林区", "未央区")),
    ("福建省", "厦门市", ("思明区", "湖里区")),
    ("天津市", "天津市", ("南开区", "和平区", "河西区")),
    ("湖南省", "长沙市", ("岳麓区", "天心区", "开福区")),
    ("重庆市", "重庆市", ("渝中区", "江北区", "南岸区")),
    ("安徽省", "合肥市", ("蜀山区", "包河区")),
)
ROADS = ("文三路", "中山北路", "人民南路", "解放路", "建设大道", "科技路", "长江路", "黄河路", "江南大道", "天河路",
         "深南大道", "阜通东大街", "张杨路", "花园路", "香港中路", "湖滨南路", "珞喻路", "星湖街",
         "天童南路", "鞍山西道")
# line code, product line, model, category, list price (yuan), variants (colour, size)
PRODUCT_LINES = (
    ("YRF", "轻薄白鸭绒羽绒服", "YR-8821", "服装/羽绒服", 599, ("黑色", "米白", "藏青", "酒红"),
     ("S", "M", "L", "XL", "XXL")),
    ("WY", "加绒连帽卫衣", "WY-301", "服装/卫衣", 159, ("灰色", "黑色", "燕麦色"), ("M", "L", "XL", "XXL")),
    ("NZK", "直筒弹力牛仔裤", "NZK-502", "服装/裤装", 199, ("浅蓝", "深蓝", "黑色"), ("28", "29", "30", "31", "32")),
    ("LYQ", "法式碎花连衣裙", "LYQ-66", "服装/连衣裙", 259, ("碎花蓝", "碎花黄"), ("S", "M", "L")),
    ("YDX", "轻便透气跑步鞋", "RUN-7", "鞋靴/运动鞋", 329, ("白色", "黑色", "灰粉"),
     ("37", "38", "39", "40", "41", "42", "43")),
    ("KFJ", "304不锈钢电热水壶 1.5L", "K15", "小家电/厨房电器", 129, ("白色", "灰色"), ("",)),
    ("LLJ", "多功能破壁料理机 静音款", "X3", "小家电/厨房电器", 699, ("绿色", "白色"), ("",)),
    ("KQZ", "可视空气炸锅 5L", "A6", "小家电/厨房电器", 399, ("黑色", "白色"), ("",)),
    ("DFB", "IH电饭煲 4L", "IH-40", "小家电/厨房电器", 459, ("银色",), ("",)),
    ("XCQ", "无线手持吸尘器", "V8 Pro", "家电/清洁电器", 1299, ("紫色", "灰色"), ("",)),
    ("SDJ", "扫拖一体机器人", "R10", "家电/清洁电器", 2299, ("白色", "黑色"), ("",)),
    ("EJ", "真无线降噪蓝牙耳机", "T20", "数码/耳机", 299, ("白色", "黑色", "薄荷绿"), ("",)),
    ("SB", "智能运动手表 NFC版", "W5", "数码/智能穿戴", 899, ("黑色", "银色"), ("",)),
    ("CDB", "20000mAh 双向快充充电宝", "P10", "数码/配件", 149, ("白色", "黑色"), ("",)),
    ("PB", "11英寸平板电脑 8+128G", "M11", "数码/平板", 2499, ("深空灰", "银色"), ("",)),
    ("SJK", "磁吸手机壳", "MC-15", "数码/配件", 49, ("透明", "黑色", "紫色"), ("",)),
    ("MS", "保湿修护面霜 50g", "HF-50", "美妆/护肤", 268, ("",), ("",)),
    ("KH", "氨基酸洁面乳 120g", "JM-120", "美妆/护肤", 89, ("",), ("",)),
    ("JG", "每日坚果礼盒 750g", "NUT-30", "食品/零食", 139, ("",), ("",)),
    ("SJT", "纯棉四件套 1.8m床", "CP-18", "家居/床品", 399, ("雾霾蓝", "奶白", "豆沙粉"), ("",)),
    ("BWB", "316不锈钢保温杯 500ml", "BW-500", "家居/杯壶", 119, ("白色", "黑色", "樱花粉"), ("",)),
    ("JMW", "儿童积木玩具 300粒", "JM-300", "母婴/玩具", 169, ("",), ("",)),
    ("NFC", "婴儿推车 轻便折叠", "TC-2", "母婴/出行", 899, ("灰色", "卡其"), ("",)),
    ("YJ", "瑜伽垫 加厚10mm", "YJ-10", "运动/健身", 99, ("紫色", "蓝色", "粉色"), ("",)),
)
N_PRODUCTS = 2_000
DEFECTS = ("屏幕有划痕", "开线了", "外壳破损", "有很大的异味", "底部漏水", "充不进电", "按键失灵", "拉链坏了",
           "有一块污渍",
           "少了配件", "通电就跳闸", "有色差", "做工很粗糙", "包装盒压坏了", "有明显的裂痕", "起球严重")
QUESTIONS = ("怎么清洗", "怎么连接手机", "保修期是多久", "有没有发票", "支持七天无理由吗", "什么时候补货", "有没有赠品",
             "能不能改地址", "怎么开通会员价")
# Descriptions (the customer's words) per type (the first of each fits any product; one with a size
# or 吊牌 needs clothes or shoes, one with {w} something that can fade, else the first is used);
# {p} product, {o} order number, {d} defect, {n} days,
# {a} amount, {c} carrier, {s}/{t} sizes, {ph} phone, {q} question. Weights are relative.
DESCRIPTIONS = {
    "return_refund": (
        (30, "收到的{p}{d}，质量太差了，申请退货退款。订单号{o}。"),
        (25, "{p}用了{n}天就{d}，这个质量我不想要了，退货退款吧。"),
        (20, "{p}不太喜欢，包装和配件都还在，七天无理由退货可以吧？"),
        (10, "买的{p}尺码不合适，{s}码穿着太紧，不想换了，直接退货退款。"),
        (22, "{p}洗了一次就严重{w}，把其他衣服都染了，要求退货退款，订单{o}。"),
        (7, "收到的{p}和详情页描述不符，{d}，要求退货退款并承担来回运费。联系电话{ph}。"),
    ),
    "refund_only": (
        (30, "{p}拍了{n}天还没发货，不想等了，申请仅退款。"),
        (25, "物流显示已签收，但我根本没收到{p}，快递员也联系不上，要求退款。订单号{o}。"),
        (20, "收到的{p}外包装破损，里面{d}，申请仅退款{a}元。"),
        (15, "{p}拍重复了，还没发货的话直接退掉一个，退款{a}元。"),
        (10, "{p}少发了一件，漏发的那件直接退款就行，{a}元。"),
    ),
    "exchange": (
        (25, "收到的{p}{d}，麻烦给我换一个新的。"),
        (35, "{p}尺码偏小，平时穿{s}码这次也紧，想换大一码{t}。"),
        (20, "{p}颜色和图片差太多了，想换个颜色，尺码不变。订单号{o}。"),
        (20, "下单选的是{s}码，收到的{p}吊牌是{t}码，发错尺码了，请尽快换货。"),
    ),
    "reship": (
        (45, "一共买了{n}件，包裹里少了{p}，漏发了，麻烦尽快补寄。订单号{o}。"),
        (30, "下单的是{p}，寄来的却是别的款，发错货了，请补发正确的。"),
        (25, "{p}的配件漏发了，说明书上写有充电线，盒子里没有，麻烦补寄。"),
    ),
    "repair": (
        (50, "{p}用了{n}个月突然{d}，还在保修期内，怎么维修？"),
        (50, "{p}一开机就{d}，联系电话{ph}，麻烦安排上门检修。"),
    ),
    "price_difference": (
        (60, "前几天刚买的{p}今天就降价了{a}元，货都还没到，差价能退给我吗？订单号{o}。"),
        (40, "直播间{p}比我买的时候便宜了{a}元，在价保期内，申请退差价。"),
    ),
    "consultation": (
        (30, "请问{p}{q}？"),
        (30, "订单{o}什么时候发货？我周末要用的。"),
        (25, "{c}的物流{n}天没更新了，{p}到底到哪了？"),
        (15, "想问一下{p}的尺码，身高165体重110斤穿{s}码合适吗？"),
    ),
    "complaint": (
        (35, "这是我第{n}次联系你们了，{p}的问题一直没人处理，我要投诉！"),
        (25, "客服态度太差了，问{p}的退款进度爱答不理，必须给我个说法。"),
        (20, "{p}{d}，差点出安全事故，今天不解决我就发微博曝光，再打12315投诉。联系电话{ph}。"),
        (20, "{c}送货慢还不送上门，{p}等了{n}天，退款也不处理，投诉！订单号{o}。"),
    ),
    "tech_support": (
        (40, "{p}连不上手机蓝牙，重新配对也没用，怎么办？"),
        (30, "{p}的APP绑定一直失败，提示网络错误，试了{n}次了。"),
        (30, "{p}用着用着就{d}，是设置的问题还是质量问题？"),
    ),
}
REQUESTS = {"return_refund": "退货退款", "refund_only": "仅退款", "exchange": "换新/换尺码", "reship": "尽快补寄",
            "repair": "维修，修不好就换新", "price_difference": "退差价", "consultation": "",
            "complaint": "尽快处理并给个说法", "tech_support": "远程指导解决"}
FIRST_REPLIES = ("您好，我是客服{g}，已经收到您的反馈，马上为您核实处理，请稍等。",
                 "亲，非常抱歉给您带来不便！您说的{p}的情况我已经记录，这就帮您处理。",
                 "您好，麻烦提供一下{p}的照片或视频，我们核实后尽快给您方案。",
                 "收到，订单{o}我已经查到了，正在联系相关同事，今天内给您答复。")
INBOUND = ("好的，谢谢", "什么时候能处理好？", "照片已经发了，你们看一下", "还要等多久啊？", "已经寄回了，单号{k}",
           "我周末要用，麻烦快一点", "行，那就按你说的办", "退款什么时候到账？", "东西收到了，确认没问题",
           "怎么还没有人回复我？",
           "换的那件什么时候发货？", "可以，我接受这个方案")
OUTBOUND = ("已为您登记{ty}，请耐心等待，有进展第一时间通知您。", "退款已提交，预计1-3个工作日原路退回。",
            "新的{p}今天已经发出，{c}单号{k}。", "仓库已经收到退回的商品，正在验收。",
            "给您补偿了一张10元无门槛券，已经发放到账户。",
            "这个问题我们已经反馈给技术同事，24小时内给您结论。", "亲，您的问题已经处理好了，还有其他需要帮忙的吗？")
AGENT_NICKS = ("小雨", "小林", "小周", "阿敏", "小陈", "小杨", "小何", "小吴", "安安", "乐乐")
NOTES = ("已联系仓库核实出库记录。", "客户情绪激动，注意安抚，方案需书面确认。", "同款近期投诉较多，已反馈品控。",
         "快递显示异常，已提交物流部催件。", "客户为老客户，可适当补偿优惠券。", "已电话沟通，客户同意方案。",
         "等待客户寄回，提醒客户保留快递单号。")
RESOLVE_REASONS = ("已按客户诉求处理完毕。", "退款已到账，客户确认。", "补发商品已签收。", "已换新，新品签收。",
                   "已远程指导解决。",
                   "已解答客户疑问。")
REOPEN_REASONS = ("客户反馈问题未解决：换的新品同样有问题。", "回访时客户反馈退款未到账。",
                  "客户反馈补寄的商品仍然不对。")
SURVEY_COMMENTS = ("处理很快，满意", "客服态度很好", "", "", "", "还行吧", "退款挺及时的", "希望下次别再发错了")
SURVEY_BAD_COMMENTS = ("问题还没解决", "换的还是坏的", "退款一直没到账", "")
FOLLOW_UP_NOTES = {"solved": ("电话回访，客户确认已解决。", "客户表示满意，已结案。"),
                   "no_answer": ("电话未接通，已发短信。", "两次电话无人接听。"),
                   "not_solved": ("回访时客户反馈问题仍然存在。", "客户说退款还没到账。")}
ROOT_CAUSES = {"product_quality": "同批次产品质量问题", "logistics": "快递中转滞留/延误",
               "wrong_or_missing_item": "仓库拣货错误",
               "usage": "客户不熟悉使用方法", "price": "活动降价在价保期内", "service_attitude": "客服回复不及时",
               "other": "客户个人原因（尺码/喜好）", "": "未归类"}
SUMMARIES = ("按平台规则为客户退货退款，运费由店铺承担。", "补发/换新后客户签收确认。",
             "退差价并补偿优惠券，客户满意。",
             "远程指导后问题解决。", "联系快递加急派送，客户已签收。")
WHAT_WORKED = ("第一时间电话沟通，先安抚再给方案。", "给出两个方案让客户选择，书面确认。", "直接换新，不让客户来回寄。",
               "主动同步物流进度，减少客户追问。")
TAGS = ("双十一", "发错货", "质量问题", "物流延误", "差评预警", "尺码问题", "老客户", "价保", "漏发", "破损",
        "催发货", "安全隐患")
STAFF = (  # username prefix, count, role, department, refund limit, display names
    ("agent", 26, "agent", None, "200.00"),
    ("senior", 4, "senior_agent", None, "1000.00"),
    ("supervisor", 3, "supervisor", None, "100000.00"),
    ("warehouse", 2, "department_staff", "warehouse", "0.00"),
    ("finance", 2, "department_staff", "finance", "0.00"),
    ("logistics", 2, "department_staff", "logistics", "0.00"),
    ("tech", 2, "department_staff", "tech_support", "0.00"),
    ("quality", 1, "department_staff", "quality", "0.00"),
    ("benchadmin", 1, "admin", None, "0.00"),
)
OPEN_STATUSES = ("new", "triaged", "in_progress", "waiting_customer", "waiting_department")
# The tables filled here, in load order, with the columns written (every NOT NULL column of the
# app's schema must be among them: checked before loading, so a new model field fails loudly).
COLUMNS = {
    "customers_customer": ("id", "name", "phone", "email", "address", "platform", "platform_account", "tier",
                           "is_difficult", "is_blacklisted", "notes", "created_at"),
    "orders_order": ("id", "platform", "external_number", "status", "paid_amount", "currency", "placed_at", "ship_by",
                     "shipped_at", "carrier", "tracking_number", "logistics_status", "warehouse", "shipping_address",
                     "customer_id", "logistics_updated_at"),
    "orders_orderitem": ("id", "quantity", "unit_price", "paid_amount", "order_id", "product_id"),
    "tickets_ticket": (
        "id", "number", "channel", "description", "customer_request", "requested_amount", "product_model",
        "purchase_date", "symptom", "frequency", "threatens_exposure", "platform_intervention", "type", "category",
        "priority", "priority_reasons", "priority_overridden", "responsibility", "risk_level", "risk_reasons",
        "risk_overridden", "status", "summary", "external_source", "external_id", "created_at", "updated_at",
        "status_changed_at", "first_response_at", "resolved_at", "closed_at", "archived_at", "assignee_id",
        "customer_id", "order_id", "escalation_level", "first_response_due_at", "follow_up_due_at",
        "next_response_due_at", "next_response_started_at", "resolution_due_at", "resolution_started_at",
        "sla_paused_at", "sla_paused_seconds", "sla_state", "sla_policy_id", "version",
        "platform_deadline_at", "close_outcome", "customer_link_key", "first_response_breached", "reopen_count",
        "resolution_breached", "root_cause", "what_worked", "search_text"),
    "tickets_slacheck": ("ticket_id", "at"),
    "tickets_ticket_affected_items": ("id", "ticket_id", "orderitem_id"),
    "tickets_ticket_tags": ("id", "ticket_id", "tag_id"),
    "tickets_message": ("id", "direction", "channel", "body", "created_at", "author_id", "ticket_id",
                        "email_message_id", "external_id"),
    "tickets_ticketevent": ("id", "created_at", "action", "from_status", "to_status", "changes", "reason", "actor_id",
                            "ticket_id"),
    "tickets_subtask": ("id", "kind", "description", "due_at", "status", "result", "created_at", "updated_at",
                        "started_at", "finished_at", "assignee_id", "created_by_id", "department_id", "ticket_id",
                        "due_soon_at", "due_soon_notified_at", "overdue_notified_at", "version"),
    "tickets_satisfactionsurvey": ("id", "resolved_at", "solved", "score", "comment", "channel", "created_at",
                                   "recorded_by_id", "ticket_id"),
    "tickets_followup": ("id", "channel", "result", "note", "created_at", "recorded_by_id", "ticket_id"),
}
CHUNK_TABLES = tuple(t for t in COLUMNS if t != "customers_customer")
# Tables whose rows arrive in random order for their secondary indexes (phone, order number, status +
# date...): building those indexes after the load is about twice as fast as keeping them up to date
# (measured on tickets_ticket: 4.0 s in place against 1.1 s COPY + 0.9 s build, per 50,000 rows).
# Messages, events and items arrive in index order and keep their indexes (in place was faster).
REBUILT_INDEX_TABLES = ("customers_customer", "orders_order", "tickets_ticket")
N = "\\N"  # NULL in COPY text


# Public interface ----------------------------------------------------------------------------------

def prepare_database(*, n_tickets: int = 1_000_000, name: str = "aftersales_bench", base_url: str | None = None,
                     seed: int = 7, force: bool = False, workers: int | None = None, log=None) -> str:
    """The URL of database `name` holding the dataset for (n_tickets, seed); built unless already there."""
    return build(n_tickets=n_tickets, name=name, base_url=base_url, seed=seed, force=force, workers=workers,
                 log=log)["url"]


def dataset_facts(url: str) -> dict:
    """Handy ids and values for benches, as recorded when the dataset was built (see _facts)."""
    import psycopg2

    with psycopg2.connect(_libpq(url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT n_tickets, seed, version, finished_at, details FROM bench_dataset "
                       "WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1")
        row = cursor.fetchone()
    conn.close()
    if row is None:
        raise LookupError(f"{url} holds no finished bench dataset")
    n_tickets, seed, version, finished_at, details = row
    return {"url": url, "n_tickets": n_tickets, "seed": seed, "version": version,
            "finished_at": finished_at.isoformat(), **details["facts"]}


def build(*, n_tickets: int, name: str, base_url: str | None = None, seed: int = 7, force: bool = False,
          workers: int | None = None, log=None) -> dict:
    """prepare_database with its report: {"url", "reused", "timings" {step: s}, "counts" {table: rows}}."""
    import psycopg2

    if n_tickets < 100:
        raise ValueError("n_tickets must be at least 100")
    if not name.replace("_", "").isalnum() or not name.isascii() or name != name.lower():
        raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
    log = log or (lambda message: None)
    base_url = base_url or os.environ.get("DATABASE_URL") or DEFAULT_BASE_URL
    url = _database_url(base_url, name)
    admin = psycopg2.connect(_libpq(_database_url(base_url, "postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            # Two benches preparing the same database at once: the second waits here and then finds
            # the marker, instead of dropping the database under the first one's load.
            cursor.execute("SELECT pg_advisory_lock(%s)", [_lock_key(name)])
            details = None if force else _finished(admin, url, name, n_tickets, seed)
            if details is not None:
                log(f"{name}: dataset of {n_tickets} tickets (seed {seed}) already there")
                # Migrations added since it was built (a column, an index) apply to it as to a live desk.
                _manage(url, "migrate", "--noinput", "--skip-checks")
                return {"url": url, "reused": True, "timings": dict(details.get("timings", [])),
                        "counts": details.get("counts", {}), "size": details.get("size", "")}
            report = _Builder(url=url, admin=admin, name=name, n=n_tickets, seed=seed,
                              workers=workers or min(2, os.cpu_count() or 1), log=log).run()
            return {"url": url, "reused": False, **report}
    finally:
        admin.close()  # also releases the advisory lock


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--name", default="aftersales_bench", help="database to create (on DATABASE_URL's server)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="loader processes (default: 2)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a finished dataset is there")
    args = parser.parse_args(argv)
    report = build(n_tickets=args.tickets, name=args.name, seed=args.seed, force=args.force, workers=args.workers,
                   log=lambda message: print(message, file=sys.stderr, flush=True))
    print(report["url"] + (" (already built; the figures are from its build)" if report["reused"] else ""))
    timings, counts = report["timings"], report["counts"]
    print(f"\n{'step / table':<46} {'rows':>12} {'seconds':>9}")
    print("-" * 69)
    for step, seconds in timings.items():
        rows = counts.get(step.replace("COPY ", "").strip())
        print(f"{step:<46} {rows if rows is not None else '':>12} {seconds:>9.1f}")
    reference = ", ".join(f"{t} {counts[t]}" for t in ("auth_user", "orders_product") if t in counts)
    print(f"(reference rows: {reference})")
    print("-" * 69)
    total = sum(v for k, v in timings.items() if not k.startswith(" "))
    print(f"{'total':<46} {sum(counts.values()):>12} {total:>9.1f}")
    print(f"database size: {report['size']}")
    print(json.dumps({"url": report["url"], "counts": report["counts"], "timings": report["timings"]}))
    return 0


# Database plumbing ---------------------------------------------------------------------------------

def _database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"not a PostgreSQL URL: {base_url}")
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


def _libpq(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"bench_dataset:{name}".encode()).digest()[:8], "big", signed=True)


def _finished(admin, url: str, name: str, n: int, seed: int) -> dict | None:
    """The marker's details if `name` holds a finished dataset of this size, seed and version."""
    import psycopg2

    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            return None
    try:
        conn = psycopg2.connect(_libpq(url))
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_dataset') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return None
            cursor.execute("SELECT details FROM bench_dataset WHERE n_tickets = %s AND seed = %s AND version = %s "
                           "AND finished_at IS NOT NULL", [n, seed, DATASET_VERSION])
            row = cursor.fetchone()
            return None if row is None else (row[0] or {})
    finally:
        conn.close()


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _manage(url: str, *args: str) -> str:
    """Run manage.py against `url` (DEBUG on: no production secrets needed); return its output."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "aftersales.settings"}
    result = subprocess.run([_python(), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


# Time ----------------------------------------------------------------------------------------------

class _Times:
    """Epoch seconds -> timestamptz text for COPY, and ISO text for JSON, by table look-up (fast)."""

    def __init__(self, first: int, last: int):
        self.d0 = first // DAY - 1
        epoch = date(1970, 1, 1).toordinal()
        days = [date.fromordinal(epoch + d).isoformat() for d in range(self.d0, last // DAY + 2)]
        self.day = [d + " " for d in days]
        self.day_iso = [d + "T" for d in days]
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
        self.hms_iso = [h + ":00" for h in self.hms]
        self.dates = days

    def _day(self, t) -> tuple[int, int]:
        d, s = divmod(int(t), DAY)
        d -= self.d0
        if d < 0:  # (a negative index would silently wrap round to the far end)
            raise ValueError(f"{t} is before the range of _Times")
        return d, s

    def ts(self, t) -> str:
        if t is None:
            return N
        d, s = self._day(t)
        return self.day[d] + self.hms[s]

    def iso(self, t) -> str | None:
        if t is None:
            return None
        d, s = self._day(t)
        return self.day_iso[d] + self.hms_iso[s]

    def date(self, t) -> str:
        return self.dates[self._day(t)[0]]


def _aware(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


# SLA -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Policy:
    id: int
    name: str
    priority: str
    ticket_type: str
    channel: str
    customer_tier: str
    platform: str
    big_promo_only: bool
    calendar_id: int
    first_response: int  # seconds
    next_response: int
    resolution: int
    follow_up: int
    warnings: tuple[int, ...]
    # calendar seconds per business second, roughly (for histories, where no clock is kept)
    stretch: float

    @property
    def specificity(self) -> int:
        return sum(bool(v) for v in (self.priority, self.ticket_type, self.channel, self.customer_tier, self.platform))


class _SLA:
    """The app's policy choice and clock arithmetic (tickets/sla/clock.py), over rows read once."""

    def __init__(self, policies: list[_Policy], schedules: dict, promo_on: bool):
        self.policies, self.schedules, self.promo_on = policies, schedules, promo_on
        self._cache: dict[tuple, _Policy | None] = {}

    def policy_for(self, priority, ticket_type, channel, tier, platform) -> _Policy | None:
        key = (priority, ticket_type, channel, tier, platform)
        if key not in self._cache:
            facts = dict(zip(("priority", "ticket_type", "channel", "customer_tier", "platform"), key, strict=True))
            matching = [p for p in self.policies
                        if (self.promo_on or not p.big_promo_only)
                        and all(not getattr(p, f) or getattr(p, f) == v for f, v in facts.items())]
            self._cache[key] = max(matching, key=lambda p: (p.specificity, p.big_promo_only, -p.id), default=None)
        return self._cache[key]

    def open_clocks(self, policy: _Policy, *, created, first_response_at, next_response_started_at,
                    resolution_started_at, paused_seconds, platform_deadline_at):
        """[(kind, started_at, target s, paused s, due_at)] as running_clocks() has them for an open ticket."""
        schedule = self.schedules[policy.calendar_id]
        starts = []
        if first_response_at is None:
            starts.append(("first_response", created, paused_seconds))
        if next_response_started_at is not None:
            starts.append(("next_response", next_response_started_at, 0))
        starts.append(("resolution", resolution_started_at, paused_seconds))
        clocks = []
        for kind, started, paused in starts:
            if kind == "first_response" and platform_deadline_at is not None:
                target = int(schedule.between(_aware(started), _aware(platform_deadline_at)))
                clocks.append((kind, started, target, 0, platform_deadline_at))
                continue
            target = getattr(policy, kind)
            clocks.append((kind, started, target, paused, schedule.add(_aware(started), target + paused).timestamp()))
        return clocks

    def moments(self, policy: _Policy, clock) -> list[tuple[int, float]]:
        kind, started, target, paused, due = clock
        if kind == "follow_up":
            return [(100, due)]
        schedule = self.schedules[policy.calendar_id]
        return [(p, due if p == 100 else schedule.add(_aware(started), target * p / 100 + paused).timestamp())
                for p in sorted({*policy.warnings, 100})]

    def follow_up_due(self, policy: _Policy, resolved_at) -> float:
        return self.schedules[policy.calendar_id].add(_aware(resolved_at), policy.follow_up).timestamp()


def _load_sla(conn) -> _SLA:
    from tickets.sla.business_time import Schedule

    with conn.cursor() as cursor:
        cursor.execute("SELECT id, time_zone FROM tickets_businesscalendar")
        zones = dict(cursor.fetchall())
        cursor.execute("SELECT calendar_id, weekday, start, \"end\" FROM tickets_workinginterval")
        weekly: dict[int, dict[int, list]] = {c: {} for c in zones}
        for calendar_id, weekday, start, end in cursor.fetchall():
            weekly[calendar_id].setdefault(weekday, []).append((start, end))
        cursor.execute("SELECT calendar_id, date, kind, works_like FROM tickets_calendarday")
        holidays: dict[int, set] = {c: set() for c in zones}
        workdays: dict[int, dict] = {c: {} for c in zones}
        for calendar_id, day, kind, works_like in cursor.fetchall():
            if kind == "holiday":
                holidays[calendar_id].add(day)
            else:
                workdays[calendar_id][day] = works_like
        schedules = {
            c: Schedule(ZoneInfo(zones[c]), {w: tuple(sorted(s)) for w, s in weekly[c].items()},
                        frozenset(holidays[c]), workdays[c])
            for c in zones
        }
        cursor.execute("SELECT id, name, priority, ticket_type, channel, customer_tier, platform, big_promo_only, "
                       "calendar_id, first_response_minutes, next_response_minutes, resolution_minutes, "
                       "follow_up_minutes, warning_thresholds FROM tickets_slapolicy WHERE is_active")
        policies = []
        for row in cursor.fetchall():
            week_seconds = sum(
                (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() + (
                    1 if end >= dtime(23, 59, 59) else 0)
                for spans in weekly[row[8]].values() for start, end in spans)
            stretch = 7 * DAY / week_seconds if week_seconds else 1.0
            policies.append(_Policy(*row[:9], row[9] * 60, row[10] * 60, row[11] * 60, row[12] * 60,
                                    tuple(row[13] or ()), stretch))
        cursor.execute("SELECT EXISTS (SELECT 1 FROM tickets_promoperiod WHERE starts_at <= now() AND ends_at > now())")
        promo_on = cursor.fetchone()[0]
    return _SLA(policies, schedules, promo_on)


# The build -----------------------------------------------------------------------------------------

@dataclass
class _Plan:
    """What every chunk needs to know about all tickets and customers (built once, shared by fork)."""

    n: int
    seed: int
    now: int
    created: array = field(default_factory=lambda: array("q"))
    state: bytearray = field(default_factory=bytearray)  # 0 resolved or later, else 1 + OPEN_STATUSES index
    sla_due: bytearray = field(default_factory=bytearray)  # 1: the next SLA check has passed
    cust_of: array = field(default_factory=lambda: array("l"))
    recent: bytearray = field(default_factory=bytearray)  # earlier tickets of the customer within 7 days (≤ 2)
    n_customers: int = 0
    cust_plat: bytearray = field(default_factory=bytearray)
    cust_flags: bytearray = field(default_factory=bytearray)  # 1 VIP, 2 difficult, 4 blacklisted
    cust_first: array = field(default_factory=lambda: array("q"))
    double_eleven: int = 0


@dataclass
class _Reference:
    users: dict  # username -> id
    agents: list  # [(id, username)]
    seniors: list
    supervisors: list
    department_staff: dict  # department code -> [(id, username)]
    departments: dict  # code -> (id, name)
    products: list  # [(id, name, line index, model, price cents)]
    product_lines: list  # [line name]
    tags: list  # [tag id]
    sla: _SLA


_PLAN: _Plan | None = None
_REF: _Reference | None = None
_TIMES: _Times | None = None
_URL: str = ""
_WORKER_CONN = None


class _Builder:
    def __init__(self, *, url, admin, name, n, seed, workers, log):
        self.url, self.admin, self.name, self.n, self.seed = url, admin, name, n, seed
        self.workers, self.log = workers, log
        self.timings: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def step(self, label: str, started: float) -> None:
        self.timings[label] = self.timings.get(label, 0.0) + time.perf_counter() - started
        self.log(f"  {label}: {self.timings[label]:.1f} s")

    def run(self) -> dict:
        import psycopg2

        global _PLAN, _REF, _TIMES, _URL
        self.log(f"building {self.name}: {self.n} tickets, seed {self.seed}, {self.workers} workers")
        t = time.perf_counter()
        with self.admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            cursor.execute(f"CREATE DATABASE \"{self.name}\" ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' "
                           "LC_COLLATE 'C.UTF-8' TEMPLATE template0")
        # --skip-checks: migrating needs no URL or template checks; the app's checks are the test's job.
        _manage(self.url, "migrate", "--noinput", "--skip-checks")
        self.step("create + migrate", t)

        conn = psycopg2.connect(_libpq(self.url))
        try:
            with conn.cursor() as cursor:
                cursor.execute("CREATE TABLE bench_dataset (n_tickets integer NOT NULL, seed integer NOT NULL, "
                               "version integer NOT NULL, finished_at timestamptz, details jsonb)")
            _check_columns(conn)
            now = int(time.time())
            t = time.perf_counter()
            reference = _load_reference(conn, self.seed, now)
            conn.commit()
            self.counts.update(reference.pop("counts"))
            self.step("reference data (users, products, tags)", t)

            t = time.perf_counter()
            plan = _make_plan(self.n, self.seed, now)
            self.step("plan (times, customers, open tickets)", t)

            _PLAN, _REF, _URL = plan, reference["ref"], self.url
            _TIMES = _Times(now - 1500 * DAY, now + 400 * DAY)
            t = time.perf_counter()
            indexes_before = _indexes(conn)
            dropped = _drop_secondary_indexes(conn, REBUILT_INDEX_TABLES)
            conn.commit()
            self.step("drop secondary indexes", t)
            t = time.perf_counter()
            self.counts["customers_customer"] = _copy_customers(conn, plan, _TIMES)
            conn.commit()
            self.step("customers_customer", t)
        finally:
            conn.close()

        t = time.perf_counter()
        chunks = list(range(math.ceil(self.n / CHUNK_TICKETS)))
        copy_seconds: dict[str, float] = {}
        facts: dict = {"search_word_tickets": 0, "sla_due_now": 0, "open": 0}
        context = multiprocessing.get_context("fork")
        done = 0
        pool = context.Pool(self.workers, initializer=_worker_init)
        try:
            for result in pool.imap_unordered(_load_chunk, chunks):
                for table, rows in result["counts"].items():
                    self.counts[table] = self.counts.get(table, 0) + rows
                for table, seconds in result["copy"].items():
                    copy_seconds[table] = copy_seconds.get(table, 0.0) + seconds
                for key in facts:
                    facts[key] += result["facts"][key]
                done += 1
                if done % max(1, len(chunks) // 10) == 0 or done == len(chunks):
                    self.log(f"    {done}/{len(chunks)} chunks, {time.perf_counter() - t:.0f} s")
            pool.close()  # workers finish and close their connections (see _worker_init)
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
        self.step("tickets and dependent rows (generate + COPY)", t)
        for table, seconds in copy_seconds.items():
            self.timings[f"  COPY {table}"] = seconds

        t = time.perf_counter()
        _parallel(self.url, [statement for _, _, statement in dropped], self.workers)
        self.step("re-create secondary indexes", t)
        conn = psycopg2.connect(_libpq(self.url))
        conn.autocommit = True
        try:
            # By name: the statements re-run are pg_get_indexdef's own, but PostgreSQL prints some
            # conditions (varchar IN (...)) differently once re-created.
            if {index[:2] for index in _indexes(conn)} != {index[:2] for index in indexes_before}:
                raise RuntimeError("the indexes after the load differ from the ones the migrations made")
            t = time.perf_counter()
            _reset_sequences(conn)
            self.step("reset sequences", t)
            t = time.perf_counter()
            _parallel(self.url, _foreign_key_checks(conn), self.workers)
            self.step("verify foreign keys", t)
            t = time.perf_counter()
            # Every table of the app, largest first, on every core.
            _parallel(self.url, [f'VACUUM ANALYZE "{table}"' for table in _tables_by_size(conn)], self.workers)
            self.step("VACUUM ANALYZE", t)
            all_facts = {**_facts(conn, self.n, reference["ref"]), **facts}
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
                size = cursor.fetchone()[0]
                # timings as pairs: jsonb keeps no key order, the report reads in build order
                details = {"facts": all_facts, "counts": self.counts, "timings": list(self.timings.items()),
                           "size": size,
                           "generated_at": _aware(now).isoformat()}
                cursor.execute("INSERT INTO bench_dataset (n_tickets, seed, version, finished_at, details) "
                               "VALUES (%s, %s, %s, now(), %s)",
                               [self.n, self.seed, DATASET_VERSION, json.dumps(details, ensure_ascii=False)])
        finally:
            conn.close()
        return {"timings": self.timings, "counts": self.counts, "size": size, "facts": all_facts}


def _check_columns(conn) -> None:
    """Every NOT NULL column without a default must be written: a new model field fails here, loudly."""
    with conn.cursor() as cursor:
        for table, columns in COLUMNS.items():
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                           "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
                           "AND is_identity = 'NO'", [table])
            missing = {row[0] for row in cursor.fetchall()} - set(columns)
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                           "AND table_name = %s", [table])
            unknown = set(columns) - {row[0] for row in cursor.fetchall()}
            if missing or unknown:
                raise RuntimeError(f"bench/dataset.py is out of date with {table}: not written {sorted(missing)}, "
                                   f"no longer in the schema {sorted(unknown)}")


def _copy(cursor, table: str, rows: list[str]) -> None:
    if rows:
        data = io.BytesIO(("\n".join(rows) + "\n").encode())
        cursor.copy_expert(f"COPY {table} ({', '.join(COLUMNS.get(table, ()))}) FROM STDIN", data)


def _bulk_session(cursor) -> None:
    cursor.execute("SET synchronous_commit = off")
    try:
        # Skip the per-row foreign-key triggers; _verify_foreign_keys checks every key in bulk afterwards.
        cursor.execute("SET session_replication_role = replica")
    except Exception:  # not a superuser: keep the triggers (slower, just as correct)
        cursor.connection.rollback()
        cursor.execute("SET synchronous_commit = off")


def _password_hash(seed: int) -> str:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    # What make_password("bench") stores with the default hasher; the salt is derived from the seed
    # so that two builds are identical.
    rng = random.Random(f"salt{seed}")
    salt = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(22))
    return PBKDF2PasswordHasher().encode(PASSWORD, salt)


def _load_reference(conn, seed: int, now: int) -> dict:
    """Staff users with roles and profiles, products and tags; the SLA policies the migrations made."""
    rng = random.Random(seed * 7919)
    counts = {}
    with conn.cursor() as cursor:
        cursor.execute("SELECT name, id FROM auth_group")
        groups = dict(cursor.fetchall())
        cursor.execute("SELECT code, id, name FROM tickets_department")
        departments = {code: (pk, label) for code, pk, label in cursor.fetchall()}
        missing = {role for _, _, role, _, _ in STAFF} - set(groups)
        missing_departments = {d for _, _, _, d, _ in STAFF if d} - set(departments)
        if missing or missing_departments:
            raise RuntimeError(f"migrations no longer create groups {missing} / departments {missing_departments}")
        cursor.execute("SELECT count(*) FROM tickets_slapolicy WHERE is_active AND NOT big_promo_only")
        if cursor.fetchone()[0] == 0:
            # The app would run without SLA; the benches want clocks: a catch-all like tickets migration 0002_defaults'.
            cursor.execute("INSERT INTO tickets_businesscalendar (name, time_zone, updated_at) "
                           "VALUES ('bench 7×24', 'Asia/Shanghai', now()) RETURNING id")
            calendar_id = cursor.fetchone()[0]
            cursor.execute("INSERT INTO tickets_workinginterval (calendar_id, weekday, start, \"end\") "
                           "SELECT %s, d, '00:00', '23:59:59' FROM generate_series(0, 6) d", [calendar_id])
            cursor.execute(
                "INSERT INTO tickets_slapolicy (name, is_active, big_promo_only, priority, ticket_type, channel, "
                "customer_tier, platform, calendar_id, first_response_minutes, next_response_minutes, "
                "resolution_minutes, follow_up_minutes, warning_thresholds, updated_at) VALUES ('bench default', "
                "true, false, '', '', '', '', '', %s, 2880, 1440, 10080, 4320, '[50, 80]', now())", [calendar_id])

        password = _password_hash(seed)
        joined = _Times(now - 800 * DAY, now + DAY).ts(now - 400 * DAY)
        users, profiles, memberships = [], [], []
        by_role: dict[str, list] = {}
        staff_by_department: dict[str, list] = {}
        user_id = 0
        for prefix, count, role, department, limit in STAFF:
            for k in range(1, count + 1):
                user_id += 1
                username = prefix if prefix == "benchadmin" else (f"{prefix}{k:02d}" if count > 9 else f"{prefix}{k}")
                display = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
                is_admin = "t" if role == "admin" else "f"
                users.append(f"{user_id}\t{password}\t{N}\t{is_admin}\t{username}\t{display}\t\t"
                             f"{username}@bench.example.com\t{is_admin}\tt\t{joined}")
                dept_id = departments[department][0] if department else N
                profiles.append(f"{user_id}\tt\t{limit}\t{dept_id}\t{user_id}")
                memberships.append(f"{user_id}\t{user_id}\t{groups[role]}")
                by_role.setdefault(role, []).append((user_id, username))
                if department:
                    staff_by_department.setdefault(department, []).append((user_id, username))
        cursor.copy_expert("COPY auth_user (id, password, last_login, is_superuser, username, first_name, last_name, "
                           "email, is_staff, is_active, date_joined) FROM STDIN",
                           io.BytesIO(("\n".join(users) + "\n").encode()))
        cursor.copy_expert("COPY tickets_staffprofile (id, on_duty, refund_limit, department_id, user_id) FROM STDIN",
                           io.BytesIO(("\n".join(profiles) + "\n").encode()))
        cursor.copy_expert("COPY auth_user_groups (id, user_id, group_id) FROM STDIN",
                           io.BytesIO(("\n".join(memberships) + "\n").encode()))
        counts["auth_user"] = len(users)

        products, rows = [], []
        for k in range(N_PRODUCTS):
            line_index = k % len(PRODUCT_LINES)
            code, line, model, category, price, colours, sizes = PRODUCT_LINES[line_index]
            variant = k // len(PRODUCT_LINES)
            colour, size = colours[variant % len(colours)], sizes[(variant // len(colours)) % len(sizes)]
            edition = variant // (len(colours) * len(sizes))
            name = " ".join(part for part in (line, colour, f"{size}码" if size else "",
                                               f"{2021 + edition % 6}款" if edition else "") if part)
            cents = int(price * 100 * (1 + 0.08 * (edition % 4) - 0.05 * (variant % 3)))
            if cents >= 10_000:
                cents -= cents % 100  # whole yuan above 100, as shops price
            sku = f"{code}-{model.replace(' ', '')}-{variant:03d}"
            products.append((k + 1, name, line_index, model, cents))
            rows.append(f"{k + 1}\t{sku}\t{name}\t{model}\t{category}")
        cursor.copy_expert("COPY orders_product (id, sku, name, model, category) FROM STDIN",
                           io.BytesIO(("\n".join(rows) + "\n").encode()))
        counts["orders_product"] = len(rows)
        cursor.copy_expert("COPY tickets_tag (id, name) FROM STDIN",
                           io.BytesIO(("\n".join(f"{k + 1}\t{t}" for k, t in enumerate(TAGS)) + "\n").encode()))
        sla = _load_sla(conn)
    ref = _Reference(
        users={u: pk for rows_ in by_role.values() for pk, u in rows_},
        agents=by_role["agent"], seniors=by_role["senior_agent"], supervisors=by_role["supervisor"],
        department_staff=staff_by_department, departments=departments, products=products,
        product_lines=[line[1] for line in PRODUCT_LINES], tags=list(range(1, len(TAGS) + 1)), sla=sla,
    )
    return {"ref": ref, "counts": counts}


# The plan: when tickets arrive, who sends them, which are still open ---------------------------------

def _last_date(now: int, month: int, day: int) -> date:
    today = (datetime.fromtimestamp(now, UTC) + timedelta(hours=8)).date()
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


def _day_weight(day: date, double_eleven: date, six_eighteen: date) -> float:
    weight = (1.15, 1.05, 1.0, 1.0, 0.95, 0.9, 0.95)[day.weekday()]
    after = (day - double_eleven).days
    if 0 <= after < 15:  # 双十一: ten times a normal day, then the returns and complaints trail off
        weight *= (10, 8, 6, 4.5, 3.5, 2.8, 2.2, 2, 2, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2)[after]
    after = (day - six_eighteen).days
    if 0 <= after < 5:
        weight *= (3, 2.4, 1.8, 1.4, 1.2)[after]
    if date(day.year, 1, 25) <= day <= date(day.year, 2, 8):  # around the Spring Festival couriers rest
        weight *= 0.5
    return weight


# Share of a day's tickets per local hour (Asia/Shanghai): quiet at night, peaks late morning and evening.
HOUR_WEIGHTS = (0.6, 0.35, 0.2, 0.12, 0.1, 0.15, 0.35, 0.8, 1.5, 2.2, 2.6, 2.5, 1.8, 2.0, 2.4, 2.4, 2.2, 2.0,
                1.9, 2.1, 2.5, 2.6, 2.1, 1.2)


def _make_plan(n: int, seed: int, now: int) -> _Plan:
    rng = random.Random(seed)
    plan = _Plan(n=n, seed=seed, now=now)
    double_eleven, six_eighteen = _last_date(now, 11, 11), _last_date(now, 6, 18)
    plan.double_eleven = int(datetime.combine(double_eleven, dtime(0), ZoneInfo("Asia/Shanghai")).timestamp())
    # Hours of the last 365 days, weighted; tickets are allocated to hours by cumulative rounding.
    start = (now - 365 * DAY) // HOUR * HOUR
    hours = list(range(start, now, HOUR))
    weights = []
    for h in hours:
        local = datetime.fromtimestamp(h, UTC) + timedelta(hours=8)
        growth = 0.85 + 0.3 * (h - start) / (now - start)  # the shop grows over the year
        weights.append(_day_weight(local.date(), double_eleven, six_eighteen) * HOUR_WEIGHTS[local.hour] * growth)
    total = sum(weights)
    created = plan.created
    cumulative, allocated = 0.0, 0
    for h, w in zip(hours, weights, strict=True):
        cumulative += w
        k = round(n * cumulative / total) - allocated
        allocated += k
        span = min(HOUR, now - h - 1)
        created.extend(sorted(h + rng.randrange(span) for _ in range(k)))
    # The ticket page's bench ticket (the last id) has a few days of history behind it.
    created[n - 1] = now - 5 * DAY - 3 * HOUR

    # Customers: a third of the tickets come from a first-time customer, the rest from earlier ones
    # (a uniform pick favours the long-standing customers; one in ten comes back within days).
    plan.cust_of = array("l", bytes(8 * n))
    last1, last2 = array("q"), array("q")
    for i in range(n):
        t = created[i]
        count = plan.n_customers
        if count == 0 or rng.random() < 1 / 3:
            c = count
            plan.n_customers += 1
            plan.cust_first.append(t)
            plan.cust_plat.append(_weighted_index(rng.random(), PLATFORM_WEIGHTS))
            u = rng.random()
            plan.cust_flags.append((1 if u < 0.06 else 0) | (2 if 0.06 <= u < 0.08 else 0)
                                   | (4 if 0.08 <= u < 0.083 else 0))
            last1.append(-(10**12))
            last2.append(-(10**12))
        elif rng.random() < 0.9:
            c = int(rng.random() * count)
        else:
            c = count - 1 - int(min(count, 3000) * rng.random() ** 2)
        plan.cust_of[i] = c
        plan.recent.append((t - last1[c] < 7 * DAY) + (t - last2[c] < 7 * DAY))
        last2[c], last1[c] = last1[c], t

    # Open tickets: 3%, mostly the newest (weighted sampling without replacement), a few stuck ones older.
    k_open = max(1, round(OPEN_SHARE * n))
    keys = []
    for i in range(n - 1):
        age = (now - created[i]) / DAY
        w = math.exp(-age / 2.5) + 0.04 * math.exp(-age / 30) + 0.0015
        keys.append(math.log(1.0 - rng.random()) / w)
    chosen = sorted(range(n - 1), key=keys.__getitem__, reverse=True)[: k_open - 1] + [n - 1]
    plan.state = bytearray(n)
    for i in chosen:
        age_hours = (now - created[i]) / HOUR
        u = rng.random()
        if age_hours < 1:
            status = 0 if u < 0.55 else 1 if u < 0.8 else 2
        elif age_hours > 72:  # stuck: on the customer, a department, or an agent's desk
            status = 2 if u < 0.25 else 3 if u < 0.65 else 4
        else:
            status = 0 if u < 0.06 else 1 if u < 0.16 else 2 if u < 0.52 else 3 if u < 0.78 else 4
        plan.state[i] = 1 + status
    plan.state[n - 1] = 1 + OPEN_STATUSES.index("in_progress")
    # Tickets whose next SLA check has passed (the sweep has not looked yet): at least one, so even a
    # small dataset gives the sweep work; never one waiting on the customer (no clock runs then).
    running = [i for i in chosen if i != n - 1 and OPEN_STATUSES[plan.state[i] - 1] != "waiting_customer"]
    plan.sla_due = bytearray(n)
    for i in rng.sample(running, min(len(running), max(1, round(SLA_DUE_SHARE * len(running))))):
        plan.sla_due[i] = 1
    return plan


def _weighted_index(u: float, weights) -> int:
    total = sum(weights)
    acc = 0.0
    for index, w in enumerate(weights):
        acc += w / total
        if u < acc:
            return index
    return len(weights) - 1


def _table(pairs) -> list:
    """A 1,000-slot look-up table for weighted picks: table[int(random() * 1000)]."""
    total = sum(w for _, w in pairs)
    table = []
    for value, w in pairs:
        table += [value] * round(1000 * w / total)
    while len(table) < 1000:
        table.append(pairs[0][0])
    return table[:1000]


def _mix(k: int, salt: int) -> int:
    """A cheap integer hash (splitmix64), for per-customer values recomputed in any process."""
    z = (k * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


PHONE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188", "177",
                  "176", "199", "198", "191", "185", "183", "182", "181", "180", "173", "166", "157", "156", "155",
                  "153", "189", "133", "134", "147", "178", "130", "131", "132", "175", "195", "196")


def _customer_phone(c: int, seed: int) -> str:
    # Unique: the prefix and a bijection of the id over 10^8 (7,777,777 is prime to 10^8).
    return PHONE_PREFIXES[_mix(c, seed) % len(PHONE_PREFIXES)] + f"{(c * 7_777_777 + seed * 1_234_567) % 10**8:08d}"


def _customer_name(c: int, seed: int) -> str:
    h = _mix(c, seed + 1)
    return SURNAMES[h % len(SURNAMES)] + GIVEN_NAMES[(h >> 16) % len(GIVEN_NAMES)]


def _customer_address(c: int, seed: int) -> str:
    h = _mix(c, seed + 2)
    province, city, districts = ADDRESSES[h % len(ADDRESSES)]
    head = province if province == city else province + city
    return (f"{head}{districts[(h >> 8) % len(districts)]}{ROADS[(h >> 16) % len(ROADS)]}{(h >> 24) % 800 + 1}号"
            f"{(h >> 34) % 20 + 1}栋{(h >> 40) % 4 + 1}单元{(h >> 44) % 28 + 1:d}0{(h >> 50) % 4 + 1}室")


def _copy_customers(conn, plan: _Plan, times: _Times) -> int:
    rng = random.Random(plan.seed * 31 + 1)
    seed = plan.seed
    rows = []
    with conn.cursor() as cursor:
        _bulk_session(cursor)
        for c in range(plan.n_customers):
            platform = PLATFORMS[plan.cust_plat[c]]
            name = _customer_name(c, seed)
            h = _mix(c, seed + 3)
            nick = NICK_WORDS[h % len(NICK_WORDS)]
            account = {
                "taobao": f"{name}{nick}{c + 1}", "tmall": f"tm_{nick}{c + 1}", "jd": f"jd_{h % 9000 + 1000}{c + 1}",
                "douyin": f"{nick}{name}{c + 1}", "pinduoduo": f"pdd_{h % 9000 + 1000}_{c + 1}",
                "own_site": f"user{c + 1}",
            }[platform]
            email = f"user{c + 1}@{('qq.com', '163.com', '126.com', 'gmail.com')[h % 4]}" if platform == "own_site" \
                else ""
            flags = plan.cust_flags[c]
            notes = "多次要求超出标准的赔偿，沟通全程留证" if flags & 2 else ("恶意退款，已拉黑" if flags & 4 else "")
            joined = plan.cust_first[c] - 30 * DAY - int(rng.random() * 700 * DAY)  # before any order
            rows.append(f"{c + 1}\t{name}\t{_customer_phone(c, seed)}\t{email}\t{_customer_address(c, seed)}\t"
                        f"{platform}\t{account}\t{'vip' if flags & 1 else 'normal'}\t{'t' if flags & 2 else 'f'}\t"
                        f"{'t' if flags & 4 else 'f'}\t{notes}\t{times.ts(joined)}")
            if len(rows) == 50_000:
                _copy(cursor, "customers_customer", rows)
                rows = []
        _copy(cursor, "customers_customer", rows)
    return plan.n_customers


# Chunks of tickets -----------------------------------------------------------------------------------

def _worker_init() -> None:
    global _WORKER_CONN
    import psycopg2

    _WORKER_CONN = psycopg2.connect(_libpq(_URL))
    with _WORKER_CONN.cursor() as cursor:
        _bulk_session(cursor)
    _WORKER_CONN.commit()
    # Close the connection when the worker process ends (a forked worker skips interpreter clean-up).
    multiprocessing.util.Finalize(_WORKER_CONN, _WORKER_CONN.close, exitpriority=10)


_CUTS: dict[str, str] = {}
_CUTS_KEPT = 300_000  # pieces holding an order number or a phone never repeat: stop remembering at some point


def _search_text(*fields: str) -> str:
    """Ticket.search_text as tickets.search.ticket_search_text writes it (the fields cut by jieba, words
    joined by spaces), remembered per piece: jieba cuts each run of its block characters (CJK, Latin,
    digits) on its own, so cutting piece by piece gives the same words, and pieces repeat (a template's
    words, product names, defects) where whole descriptions rarely do (order numbers, phones, amounts)."""
    import jieba

    from aftersales.words import search_words

    words = []
    for text in fields:
        for piece in jieba.re_han_default.split(text):
            if not piece:
                continue
            cut = _CUTS.get(piece)
            if cut is None:
                cut = " ".join(search_words(piece))
                if len(_CUTS) < _CUTS_KEPT:
                    _CUTS[piece] = cut
            if cut:
                words.append(cut)
    return " ".join(words)


def _load_chunk(chunk: int) -> dict:
    writer = _ChunkWriter(chunk, _PLAN, _REF, _TIMES)
    first, last = chunk * CHUNK_TICKETS, min(_PLAN.n, (chunk + 1) * CHUNK_TICKETS)
    for i in range(first, last):
        writer.ticket(i)
    copy_seconds = {}
    conn = _WORKER_CONN
    with conn.cursor() as cursor:
        for table in CHUNK_TABLES:
            t = time.perf_counter()
            _copy(cursor, table, writer.rows[table])
            copy_seconds[table] = time.perf_counter() - t
    t = time.perf_counter()
    conn.commit()
    copy_seconds["commit"] = time.perf_counter() - t
    return {"counts": {table: len(rows) for table, rows in writer.rows.items()}, "copy": copy_seconds,
            "facts": writer.facts}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _json_list(codes) -> str:
    return "[" + ", ".join(f'"{c}"' for c in codes) + "]"


CLOSING = {"survey": "The customer confirmed it is solved.", "follow_up": "The customer confirmed it is solved.",
           "silent": f"No reply from the customer within {AUTO_CLOSE_DAYS} days."}


class _ChunkWriter:
    """COPY rows for one chunk of tickets and everything that hangs off them."""

    def __init__(self, chunk: int, plan: _Plan, ref: _Reference, times: _Times):
        self.plan, self.ref, self.times = plan, ref, times
        self.rng = random.Random(plan.seed * 1_000_003 + chunk)
        self.rows: dict[str, list[str]] = {table: [] for table in CHUNK_TABLES}
        self.next_id = {table: chunk * CHUNK_TICKETS * block + 1 for table, block in ID_BLOCK.items()}
        self.limit = {table: (chunk + 1) * CHUNK_TICKETS * block for table, block in ID_BLOCK.items()}
        self.facts = {"search_word_tickets": 0, "sla_due_now": 0, "open": 0}
        self.channels = (_table(CHANNELS_PLATFORM), _table(CHANNELS_OWN_SITE))
        self.types = _table([(t, spec[0]) for t, spec in TYPES.items()])
        self.categories = {t: _table(spec[1]) for t, spec in TYPES.items()}
        self.descriptions = {t: _table(list(enumerate(w for w, _ in spec))) for t, spec in DESCRIPTIONS.items()}
        n_products = len(ref.products)
        # Popular products sell more (and come back more): a skewed pick over the catalogue.
        self.product_pick = [int(n_products * (k / 1000) ** 2.2) for k in range(1000)]
        self.items_per_order = _table([(1, 45), (2, 35), (3, 15), (4, 5)])
        self.quantity = _table([(1, 85), (2, 12), (3, 3)])

    def new_id(self, table: str) -> int:
        pk = self.next_id[table]
        if pk > self.limit[table]:
            raise RuntimeError(f"{table}: more rows per chunk than ID_BLOCK allows")
        self.next_id[table] = pk + 1
        return pk

    # One ticket ------------------------------------------------------------------------------------

    def ticket(self, i: int) -> None:  # noqa: C901 (one story, told in order)
        plan, ref, times, rng = self.plan, self.ref, self.times, self.rng
        r = rng.random
        now = plan.now
        ts = times.ts
        tid = i + 1
        t0 = plan.created[i]
        state = plan.state[i]
        is_open = state != 0
        status = OPEN_STATUSES[state - 1] if is_open else ""
        c = plan.cust_of[i]
        platform_index = plan.cust_plat[c]
        platform = PLATFORMS[platform_index]
        flags = plan.cust_flags[c]
        vip, difficult = flags & 1, flags & 2
        detail = i == plan.n - 1  # the ticket page's bench ticket
        if is_open:
            self.facts["open"] += 1

        # Classification first: it decides the order's shape, the words, the policy.
        channel = self.channels[platform_index == 5][int(r() * 1000)]
        ticket_type = "return_refund" if detail else self.types[int(r() * 1000)]
        category = self.categories[ticket_type][int(r() * 1000)]
        presale = ticket_type == "consultation" and r() < 0.15

        # The order (one per ticket: order id = ticket id) and its items.
        product_pick, products = self.product_pick, ref.products
        n_items = self.items_per_order[int(r() * 1000)]
        order_status = ("paid" if ticket_type == "refund_only" and category == "logistics" and r() < 0.6
                        else "shipped" if category == "logistics" or r() < 0.12 else
                        "cancelled" if r() < 0.03 else "completed")
        placed = t0 - (int(r() * 2 * DAY) + HOUR if order_status == "paid" else
                       int(DAY + r() * 5 * DAY) if order_status == "shipped" else int(2 * DAY + r() * 25 * DAY))
        items, order_cents = [], 0
        for _ in range(n_items):
            product = products[product_pick[int(r() * 1000)]]
            quantity = self.quantity[int(r() * 1000)]
            list_cents = product[4] * quantity
            paid = list_cents if r() < 0.35 else list_cents * (70 + int(r() * 30)) // 100
            item_id = self.new_id("orders_orderitem")
            items.append((item_id, product, quantity, paid))
            order_cents += paid
            self.rows["orders_orderitem"].append(
                f"{item_id}\t{quantity}\t{_money(product[4])}\t{_money(paid)}\t{tid}\t{product[0]}")
        first_item = items[0]
        product_name = ref.product_lines[first_item[1][2]]
        order_number = self.order(tid, c, platform, order_status, placed, order_cents, t0)
        carrier = "京东物流" if platform == "jd" else CARRIERS[tid % len(CARRIERS)]

        # Facts the rules read: priority and risk as tickets/suggestions.py suggests them.
        exposure = (ticket_type == "complaint" and r() < 0.25) or r() < 0.005
        intervention = channel == "platform_dispute" or (channel == "platform" and r() < 0.04)
        amount_cents = None
        if ticket_type in ("return_refund", "refund_only"):
            amount_cents = first_item[3] if r() < 0.8 else max(100, first_item[3] // 2)
        elif ticket_type == "price_difference":
            amount_cents = max(500, first_item[3] * (5 + int(r() * 15)) // 100 // 100 * 100)
        elif ticket_type == "complaint" and exposure:
            amount_cents = first_item[3] * 3
        recent = plan.recent[i]
        risk, risk_reasons = 0, []
        if exposure:
            risk = 2
            risk_reasons.append("exposure_threat")
        if intervention:
            risk = 2
            risk_reasons.append("platform_intervention")
        if ticket_type == "complaint":
            risk = max(risk, 1)
            risk_reasons.append("complaint")
        if recent >= 2:
            risk = 2
            risk_reasons.append("repeat_contact_many")
        elif recent == 1:
            risk = max(risk, 1)
            risk_reasons.append("repeat_contact")
        if vip:
            risk = max(risk, 1)
            risk_reasons.append("vip")
        if difficult:
            risk = max(risk, 1)
            risk_reasons.append("difficult_customer")
        if amount_cents is not None and amount_cents >= 100_000:
            risk = max(risk, 1)
            risk_reasons.append("large_amount")
        priority, priority_reasons = 1, []  # index into P4, P3, P2, P1
        if ticket_type == "consultation":
            priority = 0
            priority_reasons.append("consultation")
        if ticket_type == "complaint":
            priority = max(priority, 2)
            priority_reasons.append("complaint")
        if risk == 2:
            priority = 3
            priority_reasons.append("high_risk")
        if vip:
            priority = min(priority + 1, 3)
            priority_reasons.append("vip")
        overridden = r() < 0.015
        if overridden:
            priority = min(3, priority + 1)
        priority_code = ("P4", "P3", "P2", "P1")[priority]
        risk_code = ("low", "medium", "high")[risk]

        # The story in time: who answers when, how long it takes, how it ends.
        untriaged = status == "new"
        preset = channel in ("platform", "platform_dispute") or r() < 0.6  # type came with the intake
        shown_type = ticket_type if (not untriaged or preset) else ""
        shown_category = category if not untriaged else ""
        tier = "vip" if vip else "normal"
        policy = ref.sla.policy_for(priority_code, shown_type, channel, tier, platform)
        if policy is not None and not is_open and now - t0 > 300 * DAY and r() < 0.15:
            policy = None  # tickets from before the SLA policies were configured
        high = risk == 2
        agents = ref.seniors if high else ref.agents
        assignee = agents[int(r() * len(agents))]
        if status == "new" and r() < 0.4:
            assignee = None
        actor = assignee[0] if assignee else None
        intake_actor = None if channel in ("platform", "platform_dispute", "customer_link") else actor
        stretch = policy.stretch if policy else 1.0
        fr_target = (policy.first_response if policy else 48 * HOUR) * stretch
        res_target = (policy.resolution if policy else 7 * DAY) * stretch
        platform_deadline = t0 + 48 * HOUR if channel in ("platform", "platform_dispute") else None

        events: list = []  # (t, actor, action, from, to, changes, reason)
        messages: list = []  # (t, direction, author, body)
        ev = events.append
        msg = messages.append
        fmt = {"p": product_name, "o": order_number, "c": carrier, "g": AGENT_NICKS[(actor or 0) % len(AGENT_NICKS)],
               "ty": TYPE_LABELS[ticket_type], "k": f"{CARRIER_CODES[tid % 6]}{(tid * 7919) % 10**12:012d}",
               "a": _money(amount_cents)[:-3] if amount_cents else "全额"}
        fr_breached = res_breached = False
        first_response_at = resolved_at = closed_at = archived_at = None
        resolution_started = t0
        paused_seconds = 0
        paused_at = next_started = None
        close_outcome = ""
        reopens = 0
        sla_events = policy is not None

        created_changes = f'{{"channel": [null, "{channel}"]'
        if priority_code != "P3" and not overridden:
            created_changes += f', "priority": ["P3", "{priority_code}"]'
        if risk:
            created_changes += f', "risk_level": ["low", "{risk_code}"]'
        ev((t0, intake_actor, "created", "", "new", created_changes + "}", ""))
        if sla_events:
            ev((t0, intake_actor, "sla_started", "", "", self.sla_json(policy, t0, fr_target, res_target),
                "SLA clocks started at intake."))
        if assignee and (intake_actor is None or r() < 0.1):
            ev((t0 + 1, None, "assigned", "", "", f'{{"assignee": [null, "{assignee[1]}"]}}',
                "Automatic: least-loaded on-duty agent."))

        end = now - 1 if is_open else None
        if detail:
            waits = self.detail_story(t0, now, actor, events, messages, fmt)
            if policy is not None:  # the business time paused, as sla_on_status_change adds it up
                schedule = ref.sla.schedules[policy.calendar_id]
                paused_seconds = sum(int(schedule.between(_aware(a), _aware(b))) for a, b in waits)
            first_response_at = next(t for t, _, a, *_ in events if a == "first_response")
            resolution_started = t0
            reopens = 0
        elif is_open:
            # Six moments in the ticket's life so far (a ticket taken in seconds ago has them all at once).
            step = [t0 + int((end - t0) * x) for x in sorted(r() for _ in range(6))]
            if status != "new":
                if not preset:
                    ev((max(t0, step[0] - 30), actor, "classified", "", "",
                        f'{{"type": ["", "{ticket_type}"], "category": ["", "{category}"]}}', ""))
                ev((step[0], actor, "triage", "new", "triaged", "{}", ""))
                if status != "triaged":
                    ev((step[1], actor, "start", "triaged", "in_progress", "{}", ""))
            answered = status in ("waiting_customer",) or (
                status in ("in_progress", "waiting_department") and r() < 0.85) or (status == "triaged" and r() < 0.4)
            if answered:
                first_response_at = step[2] if status != "triaged" else step[1] + 1
                msg((first_response_at, "outbound", actor, FIRST_REPLIES[int(r() * 4)]))
                ev((first_response_at, actor, "first_response", "", "", "{}", ""))
                if status in ("in_progress", "waiting_department") and r() < 0.35:
                    next_started = step[4]  # the customer wrote again, a reply is owed
                    msg((next_started, "inbound", None, INBOUND[int(r() * len(INBOUND))]))
            if status == "waiting_customer":
                paused_at = step[4]
                ev((paused_at, actor, "wait_customer", "in_progress", "waiting_customer", "{}",
                    "等待客户寄回/补充照片"))
            if status == "waiting_department":
                self.subtask(tid, ticket_type, fmt, actor, step[3], None, "open" if r() < 0.4 else "in_progress",
                             events, with_transition=True)
            for _ in range(int(r() * 3) if status != "new" else int(r() * 1.6)):
                when = t0 + int((end - t0) * r())
                msg((when, "inbound", None, INBOUND[int(r() * len(INBOUND))]))
        else:
            # Resolved or later: first response, work, resolution (maybe twice), follow-up, close, archive.
            latest = now - 120
            fr_breached = policy is not None and r() < 0.11
            d_fr = (fr_target * (1.05 + r() * 1.5) if fr_breached else
                    max(3 * MINUTE, min(fr_target * 0.95, rng.lognormvariate(math.log(50 * MINUTE), 1.4))))
            res_breached = policy is not None and r() < 0.10
            d_res = (res_target * (1.05 + r()) if res_breached else
                     min(res_target * 0.95, rng.lognormvariate(math.log(30 * HOUR), 1.0)))
            d_res = max(d_res, d_fr + 20 * MINUTE)
            reopens = 2 if r() < 0.005 else 1 if r() < 0.045 else 0
            rounds = [d_res]
            for _ in range(reopens):
                rounds.append(rounds[-1] + DAY * (0.5 + 3 * r()) + rng.lognormvariate(math.log(20 * HOUR), 0.8))
            if t0 + rounds[-1] > latest:  # a recent ticket already resolved: it all went faster
                scale = (latest - t0) / rounds[-1]
                d_fr, rounds = d_fr * scale, [x * scale for x in rounds]
                fr_breached = fr_breached and d_fr > fr_target
                res_breached = res_breached and rounds[0] > res_target
            # classify ≤ triage ≤ start ≤ first response, however short the span (equal times keep this order)
            a = 0.05 + 0.3 * r()
            t_triage = t0 + int(d_fr * a)
            t_start = t0 + int(d_fr * (a + (1 - a) * (0.1 + 0.6 * r())))
            fr = max(t_start, t0 + int(d_fr))
            first_response_at = fr
            if not preset:
                ev((max(t0, t_triage - 20), actor, "classified", "", "",
                    f'{{"type": ["", "{ticket_type}"], "category": ["", "{category}"]}}', ""))
            ev((t_triage, actor, "triage", "new", "triaged", "{}", ""))
            ev((t_start, actor, "start", "triaged", "in_progress", "{}", ""))
            msg((fr, "outbound", actor, FIRST_REPLIES[int(r() * 4)]))
            ev((fr, actor, "first_response", "", "", "{}", ""))
            if fr_breached:
                ev((t0 + int(fr_target), None, "sla_breached", "", "",
                    '{"sla": [null, {"clock": "first_response", "percent": 100}]}',
                    "The first response target was breached."))
            res1 = max(fr, t0 + int(rounds[0]))
            work_from = fr
            # Department work inside the first round.
            if r() < TYPES[ticket_type][2]:
                t_sub = work_from + int((res1 - work_from) * (0.05 + 0.25 * r()))
                t_done = t_sub + int((res1 - t_sub) * (0.4 + 0.5 * r()))
                u = r()
                self.subtask(tid, ticket_type, fmt, actor, t_sub, t_done,
                             "done" if u < 0.88 else "rejected" if u < 0.94 else "cancelled", events,
                             with_transition=True, second=r() < 0.12)
            elif r() < 0.1:  # waiting on the customer for a while
                t_wait = work_from + int((res1 - work_from) * (0.1 + 0.3 * r()))
                t_back = t_wait + int((res1 - t_wait) * (0.3 + 0.5 * r()))
                ev((t_wait, actor, "wait_customer", "in_progress", "waiting_customer", "{}", "请客户补充照片"))
                msg((t_back, "inbound", None, INBOUND[2]))
                ev((t_back, None, "resume", "waiting_customer", "in_progress", "{}", "The customer replied."))
                paused_seconds = t_back - t_wait
            if res_breached:
                ev((t0 + int(res_target), None, "sla_breached", "", "",
                    '{"sla": [null, {"clock": "resolution", "percent": 100}]}', "The resolution target was breached."))
            ev((res1, actor, "resolve", "in_progress", "resolved", "{}", RESOLVE_REASONS[int(r() * 6)]))
            resolved_at = res1
            for k in range(reopens):
                t_back = resolved_at + int((t0 + rounds[k + 1] - resolved_at) * (0.1 + 0.3 * r()))
                via_survey = r() < 0.6
                reason = REOPEN_REASONS[int(r() * 3)]
                if via_survey:
                    score = 1 + int(r() * 3)
                    self.survey(tid, resolved_at, t_back, False, score, SURVEY_BAD_COMMENTS[int(r() * 4)], None)
                    ev((t_back, None, "survey_answered", "", "",
                        f'{{"solved": [null, false], "score": [null, {score}], "channel": [null, "customer_link"]}}',
                        ""))
                else:
                    self.follow_up(tid, "not_solved", t_back, actor)
                    ev((t_back, actor, "follow_up_recorded", "", "",
                        '{"follow_up_result": [null, "not_solved"], "channel": [null, "phone"]}', reason))
                ev((t_back, None if via_survey else actor, "reopen", "resolved", "in_progress", "{}", reason))
                if sla_events:
                    ev((t_back, None if via_survey else actor, "sla_started", "", "", "{}",
                        "Reopened: the resolution clock starts again."))
                msg((t_back + 600, "outbound", actor, OUTBOUND[int(r() * len(OUTBOUND))]))
                resolution_started, paused_seconds = t_back, 0
                resolved_at = t0 + int(rounds[k + 1])
                ev((resolved_at, actor, "resolve", "in_progress", "resolved", "{}", RESOLVE_REASONS[int(r() * 6)]))
            # Follow-up of the last resolution: a survey answer, an agent's call, or silence.
            u = r()
            answer_at = resolved_at + int(HOUR + r() * 2.5 * DAY)
            if u < 0.34:
                score = None if r() < 0.13 else (5, 5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1)[int(r() * 12)]
                outcome, answer = ("rated" if score else "confirmed"), "survey"
            elif u < 0.53:
                outcome, answer = ("confirmed", "follow_up") if r() < 0.78 else ("silent", "no_answer")
            else:
                outcome, answer = "silent", None
            if outcome == "silent":
                closing_at = resolved_at + AUTO_CLOSE_DAYS * DAY + 30 + int(r() * 90)
            else:
                closing_at = answer_at + 2
            if answer is not None and answer_at < latest:
                if answer == "survey":
                    via_link = r() < 0.7
                    comment = SURVEY_COMMENTS[int(r() * len(SURVEY_COMMENTS))]
                    self.survey(tid, resolved_at, answer_at, True, score, comment, None if via_link else actor)
                    ev((answer_at, None if via_link else actor, "survey_answered", "", "",
                        f'{{"solved": [null, true], "score": [null, {score or "null"}], '
                        f'"channel": [null, "{"customer_link" if via_link else "phone"}"]}}', comment))
                else:
                    result = "solved" if answer == "follow_up" else "no_answer"
                    self.follow_up(tid, result, answer_at, actor)
                    ev((answer_at, actor, "follow_up_recorded", "", "",
                        f'{{"follow_up_result": [null, "{result}"], "channel": [null, "phone"]}}', ""))
            if closing_at < latest:
                closed_at, close_outcome = closing_at, outcome
                ev((closed_at, None if outcome == "silent" else actor, "close", "resolved", "closed", "{}",
                    CLOSING[answer if outcome != "silent" else "silent"]))
                if now - closed_at > 3 * DAY and r() < 0.42:
                    archived_at = closed_at + int(DAY * (0.5 + min(10, (now - closed_at) / DAY - 1) * r()))
                    ev((archived_at, actor, "archive", "closed", "archived", "{}", ""))
            # Conversation in between: the customer, our replies, internal notes.
            n_more = (1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9)[int(r() * 14)]
            for _ in range(n_more):
                u = r()
                if u < 0.42:
                    msg((t0 + int((resolved_at - t0) * r()), "inbound", None, INBOUND[int(r() * len(INBOUND))]))
                elif u < 0.78:
                    msg((fr + int((resolved_at - fr) * r()) + 1, "outbound", actor,
                         OUTBOUND[int(r() * len(OUTBOUND))]))
                else:
                    msg((t_start + int((resolved_at - t_start) * r()), "note", actor, NOTES[int(r() * len(NOTES))]))

        # SLA columns: open tickets get the running clocks; resolved ones the follow-up; the rest none.
        sla_state, dues, next_check, escalation = "none", {}, None, 0
        status = status or ("archived" if archived_at else "closed" if closed_at else "resolved")
        if policy is not None and status in OPEN_STATUSES:
            clocks = ref.sla.open_clocks(
                policy, created=t0, first_response_at=first_response_at, next_response_started_at=next_started,
                resolution_started_at=resolution_started, paused_seconds=paused_seconds,
                platform_deadline_at=platform_deadline if first_response_at is None else None)
            moments = []
            for clock in clocks:
                dues[clock[0]] = clock[4]
                moments.extend((clock[0], p, m) for p, m in ref.sla.moments(policy, clock))
            if status == "waiting_customer":
                sla_state = "paused"
            elif any(clock[4] <= now for clock in clocks):
                sla_state = "breached"
            elif policy.warnings and any(m <= now for _, p, m in moments if p == min(policy.warnings)):
                sla_state = "warning"
            else:
                sla_state = "on_track"
            due_now = plan.sla_due[i] == 1 and sla_state != "paused"
            if status != "waiting_customer":
                future = [m for _, _, m in moments if m > now]
                next_check = now - int(r() * 300) if due_now else (min(future) if future else None)
            if due_now:
                self.facts["sla_due_now"] += 1
            elif not detail:  # what the sweep has already written for the moments that passed (before a pause)
                for kind, p, m in moments:
                    if m <= (paused_at or now):
                        action = "sla_breached" if p == 100 else "sla_warning"
                        ev((int(m), None, action, "", "", f'{{"sla": [null, {{"clock": "{kind}", "percent": {p}}}]}}',
                            ""))
                        if p == 100 and escalation < 2:
                            escalation += 1
            fr_breached = "first_response" in dues and dues["first_response"] <= now or (
                first_response_at is not None and first_response_at > t0 + fr_target)
            res_breached = dues.get("resolution", now + 1) <= now
        elif policy is not None and status == "resolved":
            dues["follow_up"] = ref.sla.follow_up_due(policy, resolved_at)
            sla_state = "on_track"
            if dues["follow_up"] > now:
                next_check = dues["follow_up"]
            else:
                ev((int(dues["follow_up"]), None, "follow_up_due", "", "",
                    '{"sla": [null, {"clock": "follow_up", "percent": 100}]}', "Follow-up with the customer is due."))
        elif fr_breached or res_breached:
            escalation = 1 if not high else 2

        # Words: the customer's description and the facts the agent records.
        templates = DESCRIPTIONS[ticket_type]
        template = templates[self.descriptions[ticket_type][int(r() * 1000)]][1]
        line = PRODUCT_LINES[first_item[1][2]]
        if (("{s}" in template or "吊牌" in template) and line[6] == ("",)) or (
                "{w}" in template and not line[3].startswith(("服装", "家居/床品"))):
            template = templates[0][1]
        sizes = line[6] if len(line[6]) > 1 else ("M", "L")
        size = int(r() * (len(sizes) - 1))
        description = template.format(
            p=product_name, o=order_number, d=DEFECTS[int(r() * len(DEFECTS))], n=2 + int(r() * 12),
            a=_money(amount_cents or first_item[3])[:-3], c=carrier, s=sizes[size], t=sizes[size + 1],
            ph=_customer_phone(c, plan.seed), q=QUESTIONS[int(r() * len(QUESTIONS))], w=SEARCH_WORD)
        if SEARCH_WORD in description:
            self.facts["search_word_tickets"] += 1
        symptom = DEFECTS[int(r() * len(DEFECTS))] if category == "product_quality" and not untriaged else ""
        customer_request = REQUESTS[ticket_type] if not untriaged else ""
        product_model = first_item[1][3] if not untriaged else ""
        search_text = _search_text(description, customer_request, symptom, product_model)
        if SEARCH_WORD in description and SEARCH_WORD not in search_text.split():
            raise RuntimeError(f"jieba does not cut {SEARCH_WORD} as a word of {description!r}: the search benches "
                               "would find nothing; choose another SEARCH_WORD")
        responsibility = ("undetermined" if untriaged or r() < 0.15 else
                          "merchant" if category in ("product_quality", "wrong_or_missing_item", "price") or r() < 0.3
                          else "third_party" if category == "logistics" else "customer")

        # Affected item, tags; then the ticket row itself.
        if not presale:
            self.rows["tickets_ticket_affected_items"].append(
                f"{self.new_id('tickets_ticket_affected_items')}\t{tid}\t{first_item[0]}")
        if r() < 0.1 or (plan.double_eleven <= t0 < plan.double_eleven + 3 * DAY and r() < 0.5):
            tag = ref.tags[0] if plan.double_eleven <= t0 < plan.double_eleven + 3 * DAY else ref.tags[
                1 + int(r() * (len(ref.tags) - 1))]
            self.rows["tickets_ticket_tags"].append(f"{self.new_id('tickets_ticket_tags')}\t{tid}\t{tag}")

        events.sort(key=lambda e: e[0])
        status_events = [e for e in events if e[4]]
        last_change = status_events[-1][0] if status_events else t0
        updated = events[-1][0]
        self.write_events(tid, events)
        self.write_messages(tid, channel, messages, fmt)
        archived = status == "archived"
        self.rows["tickets_ticket"].append("\t".join((
            str(tid), f"AS{tid:08d}", channel, description, customer_request,
            _money(amount_cents) if amount_cents is not None else N, product_model,
            times.date(placed) if not presale else N, symptom, "每次使用" if symptom else "",
            "t" if exposure else "f", "t" if intervention else "f", shown_type, shown_category, priority_code,
            _json_list(priority_reasons), "t" if overridden else "f", responsibility, risk_code,
            _json_list(risk_reasons), "f", status, SUMMARIES[tid % len(SUMMARIES)] if archived else "",
            platform if platform_deadline else "", f"AF{platform_index}{tid:011d}" if platform_deadline else "",
            ts(t0), ts(updated), ts(last_change), ts(first_response_at), ts(resolved_at), ts(closed_at),
            ts(archived_at), str(actor) if actor else N, str(c + 1), N if presale else str(tid), str(escalation),
            ts(dues.get("first_response")), ts(dues.get("follow_up")), ts(dues.get("next_response")),
            ts(next_started if status in OPEN_STATUSES else None), ts(dues.get("resolution")),
            ts(resolution_started), ts(paused_at), str(paused_seconds), sla_state,
            str(policy.id) if policy else N, str(max(1, len(events) - 1)), ts(platform_deadline), close_outcome,
            f"{_mix(tid, plan.seed):016x}" if channel == "customer_link" else "",
            "t" if fr_breached else "f", str(reopens), "t" if res_breached else "f",
            ROOT_CAUSES[category] if archived else "", WHAT_WORKED[tid % len(WHAT_WORKED)] if archived else "",
            search_text,
        )))
        if next_check is not None:
            self.rows["tickets_slacheck"].append(f"{tid}\t{ts(next_check)}")

    # Pieces ------------------------------------------------------------------------------------------

    def order(self, tid, c, platform, status, placed, cents, t0) -> str:
        """Write order `tid` and return its platform order number (unique per platform by construction)."""
        r = self.rng.random
        ts = self.times.ts
        key = (tid * 48_271_007 + 12_345) % 10**12
        number = {
            "taobao": f"4{key * 7 % 10**12:012d}{tid % 1_000_000:06d}",
            "tmall": f"3{key * 3 % 10**12:012d}{tid % 1_000_000:06d}",
            "jd": f"2{tid:011d}" if tid < 10**11 else f"2{tid}",
            "douyin": f"69{key:012d}{tid % 100_000:05d}",
            "pinduoduo": f"{self.times.date(placed)[2:].replace('-', '')}-{key:012d}{tid % 1000:03d}",
            "own_site": f"WS{self.times.date(placed).replace('-', '')}{tid:08d}",
        }[platform]
        shipped = placed + int(2 * HOUR + r() * 40 * HOUR) if status in ("shipped", "completed") else None
        if status == "completed":
            logistics = "delivered"
        elif status == "shipped":
            logistics = ("in_transit", "in_transit", "in_transit", "stalled", "collected", "delivered")[int(r() * 6)]
        elif status == "paid":
            logistics = "awaiting_pickup" if r() < 0.3 else "not_shipped"
        else:
            logistics = "not_shipped"
        updated = None
        if shipped is not None:
            updated = min(t0, shipped + int((t0 - shipped) * (0.2 + 0.8 * r()))) if t0 > shipped else shipped
            if logistics == "stalled":
                updated = shipped + int(min(t0 - shipped, 20 * HOUR) * r()) if t0 > shipped else shipped
        carrier = "京东物流" if platform == "jd" else CARRIERS[tid % len(CARRIERS)] if shipped else ""
        tracking = f"{CARRIER_CODES[tid % 6]}{(tid * 7919) % 10**12:012d}" if shipped else ""
        self.rows["orders_order"].append(
            f"{tid}\t{platform}\t{number}\t{status}\t{_money(cents)}\tCNY\t{ts(placed)}\t{ts(placed + 48 * HOUR)}\t"
            f"{ts(shipped)}\t{carrier}\t{tracking}\t{logistics}\t{WAREHOUSES[tid % 4]}\t"
            f"{_customer_address(c, self.plan.seed)}\t{c + 1}\t{ts(updated)}")
        return number

    def sla_json(self, policy, t0, fr_target, res_target) -> str:
        iso = self.times.iso
        return (f'{{"sla_policy": [null, "{policy.name}"], "sla_state": ["none", "on_track"], '
                f'"first_response_due_at": [null, "{iso(t0 + fr_target)}"], '
                f'"resolution_due_at": [null, "{iso(t0 + res_target)}"], '
                f'"sla_next_check_at": [null, "{iso(t0 + fr_target * min(policy.warnings or (100,)) / 100)}"]}}')

    def subtask(self, tid, ticket_type, fmt, actor, created, finished, status, events, *, with_transition,
                second=False) -> None:
        r = self.rng.random
        ts = self.times.ts
        ref = self.ref
        specs = SUBTASKS.get(ticket_type, SUBTASKS["consultation"])
        count = 2 if second and len(specs) > 1 else 1
        ev = events.append
        for k in range(count):
            code, kind, what = specs[k]
            department_id, department_name = ref.departments[code]
            staff = ref.department_staff.get(code) or [(None, "")]
            worker = staff[int(r() * len(staff))]
            pk = self.new_id("tickets_subtask")
            # The second is handed over a little later; both finish by `finished` (however short the span).
            made = created + k * min(600, ((finished or self.plan.now) - created) // 4)
            due = made + 24 * HOUR
            due_soon = made + int(0.8 * 24 * HOUR)
            started = made + int(((finished or self.plan.now) - made) * 0.3 * r()) if status != "open" else None
            done_at = max(made, finished - (count - 1 - k)) if finished else None
            notified_soon = due_soon if due_soon < (done_at or self.plan.now) else None
            notified_due = due if due < (done_at or self.plan.now) else None
            if status in ("open", "in_progress") and r() < 0.02:
                notified_soon = notified_due = None  # the subtask sweep has not got to these yet
            result = SUBTASK_RESULTS[status][int(r() * len(SUBTASK_RESULTS[status]))] if finished else ""
            description = what.format(p=fmt["p"], a=fmt["a"], c=fmt["c"])
            self.rows["tickets_subtask"].append("\t".join((
                str(pk), kind, description, ts(due), status, result, ts(made), ts(done_at or started or made),
                ts(started), ts(done_at), str(worker[0]) if worker[0] and status != "open" else N,
                str(actor) if actor else N, str(department_id), str(tid), ts(due_soon), ts(notified_soon),
                ts(notified_due), str(1 + (started is not None) + (done_at is not None)))))
            ev((made, actor, "subtask_created", "", "",
                f'{{"subtask": [null, {pk}], "department": [null, "{code}"], "kind": [null, "{kind}"]}}', ""))
            if k == 0 and with_transition:
                ev((made, actor, "wait_department", "in_progress", "waiting_department", "{}",
                    f"Handed to {department_name}."))
            if status == "in_progress" and started:
                ev((started, worker[0], "subtask_start", "", "",
                    f'{{"subtask": [{pk}, {pk}], "status": ["open", "in_progress"], '
                    f'"department": ["{code}", "{code}"]}}', ""))
            if done_at:
                action = {"done": "subtask_complete", "rejected": "subtask_reject", "cancelled": "subtask_cancel"}[
                    status]
                ev((done_at, actor if status == "cancelled" else worker[0], action, "", "",
                    f'{{"subtask": [{pk}, {pk}], "status": ["in_progress", "{status}"], '
                    f'"department": ["{code}", "{code}"]}}', result))
        if finished and with_transition:
            ev((finished, None, "department_done", "waiting_department", "in_progress", "{}",
                "All department subtasks are finished."))

    def survey(self, tid, resolved_at, at, solved, score, comment, recorded_by) -> None:
        self.rows["tickets_satisfactionsurvey"].append(
            f"{self.new_id('tickets_satisfactionsurvey')}\t{self.times.ts(resolved_at)}\t{'t' if solved else 'f'}\t"
            f"{score if score else N}\t{comment}\t{'phone' if recorded_by else 'customer_link'}\t{self.times.ts(at)}\t"
            f"{recorded_by if recorded_by else N}\t{tid}")

    def follow_up(self, tid, result, at, recorded_by) -> None:
        notes = FOLLOW_UP_NOTES[result]
        self.rows["tickets_followup"].append(
            f"{self.new_id('tickets_followup')}\tphone\t{result}\t{notes[tid % len(notes)]}\t{self.times.ts(at)}\t"
            f"{recorded_by if recorded_by else N}\t{tid}")

    def write_events(self, tid, events) -> None:
        ts = self.times.ts
        out = self.rows["tickets_ticketevent"]
        new_id = self.new_id
        for t, actor, action, frm, to, changes, reason in events:
            out.append(f"{new_id('tickets_ticketevent')}\t{ts(t)}\t{action}\t{frm}\t{to}\t{changes}\t{reason}\t"
                       f"{actor if actor else N}\t{tid}")

    def write_messages(self, tid, channel, messages, fmt) -> None:
        ts = self.times.ts
        out = self.rows["tickets_message"]
        new_id = self.new_id
        messages.sort(key=lambda m: m[0])
        latest = self.plan.now - 1
        for t, direction, author, body in messages:
            t = min(t, latest)
            if "{" in body:
                body = body.format_map(fmt)
            out.append(f"{new_id('tickets_message')}\t{direction}\t{channel}\t{body}\t{ts(t)}\t"
                       f"{author if author else N}\t{tid}\t\t")  # no e-mail Message-ID, no platform id

    def detail_story(self, t0, now, actor, events, messages, fmt) -> list[tuple[int, int]]:
        """The ticket page's bench ticket: in progress after a long history, exactly 50 timeline events.

        Blocks of real work (waiting on the customer, a department's subtask, new evidence, facts
        recorded), each leaving the ticket in progress, repeated until the timeline has 50 events.
        Returns the spans spent waiting on the customer (the SLA clocks' pauses)."""
        ev, msg = events.append, messages.append
        ref = self.ref
        ts = self.times.ts
        r = self.rng.random
        plan: list[str] = ["start"]
        cycle = ("wait", "subtask", "evidence", "facts")
        room = DETAIL_EVENTS - len(events) - 3  # "start" is three events
        size = {"wait": 2, "subtask": 4, "evidence": 1, "facts": 1}
        k = 0
        while room > 0:
            block = cycle[k % len(cycle)]
            if size[block] > room:
                block = "evidence"
            plan.append(block)
            room -= size[block]
            k += 1
        step = (now - 3600 - t0) // (len(plan) + 1)
        waits = []
        for n, block in enumerate(plan):
            t = t0 + 60 + n * step
            if block == "start":
                ev((t, actor, "triage", "new", "triaged", "{}", ""))
                ev((t + 60, actor, "start", "triaged", "in_progress", "{}", ""))
                msg((t + 120, "outbound", actor, FIRST_REPLIES[0]))
                ev((t + 120, actor, "first_response", "", "", "{}", ""))
            elif block == "wait":
                msg((t, "outbound", actor, "麻烦您拍一段故障视频发给我们，方便技术同事判断。"))
                ev((t, actor, "wait_customer", "in_progress", "waiting_customer", "{}", "请客户拍摄故障视频"))
                back = t + step // 2
                waits.append((t, back))
                msg((back, "inbound", None, INBOUND[int(r() * len(INBOUND))]))
                ev((back, None, "resume", "waiting_customer", "in_progress", "{}", "The customer replied."))
            elif block == "subtask":
                code = ("warehouse", "tech_support", "logistics")[n % 3]
                kind = {"warehouse": "inspect_return", "tech_support": "diagnose_fault",
                        "logistics": "contact_courier"}[code]
                staff = ref.department_staff[code][0][0]
                department_id, department_name = ref.departments[code]
                pk = self.new_id("tickets_subtask")
                done = t + step // 2
                self.rows["tickets_subtask"].append("\t".join((
                    str(pk), kind, f"{department_name}协助处理{fmt['p']}的问题", ts(t + DAY), "done", "已处理完毕",
                    ts(t), ts(done), ts(t + step // 4), ts(done), str(staff), str(actor), str(department_id),
                    str(self.plan.n), ts(t + int(0.8 * DAY)), N, N, "3")))
                ev((t, actor, "subtask_created", "", "",
                    f'{{"subtask": [null, {pk}], "department": [null, "{code}"], "kind": [null, "{kind}"]}}', ""))
                ev((t + 1, actor, "wait_department", "in_progress", "waiting_department", "{}",
                    f"Handed to {department_name}."))
                ev((done, staff, "subtask_complete", "", "",
                    f'{{"subtask": [{pk}, {pk}], "status": ["in_progress", "done"], '
                    f'"department": ["{code}", "{code}"]}}', "已处理完毕"))
                ev((done + 1, staff, "department_done", "waiting_department", "in_progress", "{}",
                    "All department subtasks are finished."))
                msg((done + 600, "outbound", actor, OUTBOUND[int(r() * len(OUTBOUND))]))
            elif block == "evidence":
                msg((t, "inbound", None, "照片已经发了，你们看一下"))
                ev((t + 5, None, "attachment_added", "", "", f'{{"file": [null, "evidence_{n:02d}.jpg"]}}', ""))
            else:
                ev((t, actor, "classified", "", "", f'{{"symptom": ["", "第{n}次补充：{DEFECTS[n % len(DEFECTS)]}"]}}',
                    "客户补充了故障细节"))
                msg((t + 30, "note", actor, NOTES[n % len(NOTES)]))
        if len(events) != DETAIL_EVENTS:
            raise AssertionError(f"the detail ticket has {len(events)} events, not {DETAIL_EVENTS}")
        return waits


# Finishing -----------------------------------------------------------------------------------------

def _reset_sequences(conn) -> None:
    """Move every id sequence past the largest id, so the app's own inserts do not collide."""
    with conn.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL""")
        for table, column, sequence in cursor.fetchall():
            cursor.execute(f'SELECT setval(%s, coalesce(max("{column}"), 1), max("{column}") IS NOT NULL) '
                           f'FROM "{table}"', [sequence])


def _foreign_key_checks(conn) -> list[str]:
    """One anti-join per foreign key of every table: each fails (see _parallel) if a row points nowhere.

    The load skipped the per-row triggers (session_replication_role = replica); this is the same check
    done in bulk, which PostgreSQL itself would do when adding the constraint."""
    with conn.cursor() as cursor:
        cursor.execute("""
            SELECT con.conname, child.relname, ca.attname, parent.relname, pa.attname
            FROM pg_constraint con
            JOIN pg_class child ON child.oid = con.conrelid
            JOIN pg_class parent ON parent.oid = con.confrelid
            JOIN pg_namespace n ON n.oid = child.relnamespace
            JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = con.conkey[1]
            JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = con.confkey[1]
            WHERE con.contype = 'f' AND n.nspname = 'public' AND cardinality(con.conkey) = 1
            ORDER BY pg_relation_size(child.oid) DESC""")
        return [
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM \"{child}\" c WHERE c.\"{column}\" IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM \"{parent}\" p WHERE p.\"{key}\" = c.\"{column}\")) THEN RAISE EXCEPTION "
            f"'foreign key {name}: rows of {child}.{column} point nowhere in {parent}'; END IF; END $$"
            for name, child, column, parent, key in cursor.fetchall()
        ]


def _parallel(url: str, statements: list[str], workers: int) -> None:
    """Run independent statements on `workers` connections at once (index builds, checks, VACUUM)."""
    import queue
    import threading

    import psycopg2

    todo: queue.Queue = queue.Queue()
    for statement in statements:
        todo.put(statement)
    errors: list[BaseException] = []

    def work():
        conn = psycopg2.connect(_libpq(url))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                # One core per statement: the statements themselves run side by side.
                cursor.execute("SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 0; "
                               "SET max_parallel_workers_per_gather = 0")
                while not errors:
                    try:
                        statement = todo.get_nowait()
                    except queue.Empty:
                        return
                    cursor.execute(statement)
        except BaseException as error:  # re-raised below, in the caller's thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _indexes(conn) -> set[tuple[str, str, str]]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        return set(cursor.fetchall())


def _drop_secondary_indexes(conn, tables) -> list[tuple[str, str, str]]:
    """Drop the plain indexes of `tables` (not primary keys, not those behind a constraint); return
    (table, index, its CREATE statement) to put them back exactly as they were."""
    with conn.cursor() as cursor:
        cursor.execute("""
            SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s) AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            ORDER BY pg_relation_size(t.oid) DESC, t.relname, i.relname""", [list(tables)])
        dropped = cursor.fetchall()
        for _, index, _ in dropped:
            cursor.execute(f'DROP INDEX "{index}"')
    return dropped


def _tables_by_size(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public' AND c.relkind = 'r' "
                       "ORDER BY pg_relation_size(c.oid) DESC")
        return [row[0] for row in cursor.fetchall()]


def _facts(conn, n: int, ref: _Reference) -> dict:
    with conn.cursor() as cursor:
        cursor.execute("SELECT t.id, t.number, t.status, (SELECT count(*) FROM tickets_ticketevent e "
                       "WHERE e.ticket_id = t.id) FROM tickets_ticket t WHERE t.id = %s", [n])
        detail_id, detail_number, detail_status, detail_events = cursor.fetchone()
        # An order and its customer from the middle of the year (a closed case with an order).
        cursor.execute("SELECT t.id, t.number, o.external_number, o.platform, c.phone, c.name FROM tickets_ticket t "
                       "JOIN orders_order o ON o.id = t.order_id JOIN customers_customer c ON c.id = t.customer_id "
                       "WHERE t.id >= %s ORDER BY t.id LIMIT 1", [n // 2])
        ticket_id, ticket_number, order_number, platform, phone, customer_name = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE status IN %s", [OPEN_STATUSES])
        open_count = cursor.fetchone()[0]
    return {
        "detail_ticket_id": detail_id, "detail_ticket_number": detail_number, "detail_ticket_status": detail_status,
        "detail_ticket_events": detail_events,
        "order_external_number": order_number, "order_platform": platform, "order_ticket_id": ticket_id,
        "order_ticket_number": ticket_number, "customer_phone": phone, "customer_name": customer_name,
        "search_word": SEARCH_WORD, "search_common_word": SEARCH_COMMON_WORD,
        "supervisor_username": ref.supervisors[0][1], "supervisor_password": PASSWORD,
        "agent_username": ref.agents[0][1], "agent_password": PASSWORD,
        "senior_username": ref.seniors[0][1], "admin_username": "benchadmin", "open_tickets": open_count,
    }


if __name__ == "__main__":
    sys.exit(main())
