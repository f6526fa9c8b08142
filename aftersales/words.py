"""Chinese word cutting, shared by every search of the desk (the queue's, the case library's).

Chinese has no spaces, so PostgreSQL's parser alone would see a whole sentence as one "word" and never
find 退款 inside 申请退款. jieba cuts the text into words once, when the row is saved (a `search_text`
column: words joined by spaces); the query is cut the same way. PostgreSQL then needs only the 'simple'
configuration and a GIN index on `to_tsvector('simple', search_text)` (the queue's: on that vector stored
in the row, tickets/search.py); SQLite (the `make run` default) has no text search, and there every word
must appear in `search_text`.
"""

import logging
import re
import threading

import jieba
import jieba.analyse
from django.db import connection

# After-sales words jieba's general dictionary cuts badly (双十一 -> 双十 / 一, 价保退差 -> 价保退 / 差);
# in the dictionary they come out whole, the same way in an article and in a query.
DOMAIN_WORDS = (
    "双十一", "双11", "双十二", "618", "大促", "预售", "尾款", "无理由", "七天无理由", "价保", "保价", "退差",
    "退差价", "补寄", "补发", "漏发", "错发", "少件", "仅退款", "退货退款", "换货", "运费险", "爆仓", "揽收",
    "签收", "拒签", "破损", "快递停滞", "统一口径", "留证", "差评", "品控", "质检", "瑕疵品", "到账", "原路退回",
    "运费", "退货地址", "开箱视频", "面单", "催件", "延迟发货",
)
KEYWORD_COUNT = 8  # keywords drawn from a ticket's description for "similar articles"

_setup_lock = threading.Lock()
_ready = False
_WORD = re.compile(r"\w")  # a token with no letter, digit or CJK character is punctuation or space


def _jieba():
    """Load the dictionary once per process, quietly (jieba logs its start-up at DEBUG by default)."""
    global _ready
    if not _ready:
        with _setup_lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in DOMAIN_WORDS:
                    jieba.add_word(word, freq=20000)
                _ready = True
    return jieba


def search_words(text: str) -> list[str]:
    """The words of `text` as search sees them: jieba's search cut, lower-cased, punctuation dropped.

    The HMM guesser is off: it glues unknown characters into different "words" depending on their
    neighbours (货后 here, 货 there), and a query must cut exactly as the article did.
    """
    if not text:
        return []
    words = (word.strip().lower() for word in _jieba().cut_for_search(text, HMM=False))
    return [word for word in words if word and _WORD.search(word)]


def query_words(text: str) -> list[str]:
    """The distinct words of a query, in order."""
    return list(dict.fromkeys(search_words(text)))


def keywords_of(text: str, *, count: int = KEYWORD_COUNT) -> list[str]:
    """The words that say most about a text (TF-IDF), for finding articles like a ticket."""
    if not text.strip():
        return []
    _jieba()
    return [word.lower() for word in jieba.analyse.extract_tags(text, topK=count) if _WORD.search(word)]


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"
