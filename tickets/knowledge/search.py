"""Chinese full-text search for the case library.

Chinese has no spaces, so PostgreSQL's parser alone would see a whole sentence as one "word" and
never find 退款 inside 申请退款. jieba cuts the text into words once, when the article is saved
(`search_text`: words joined by spaces); the query is cut the same way. PostgreSQL then needs
only the 'simple' configuration (no stemming, lower-casing) and a GIN index on
`to_tsvector('simple', search_text)` (migration 0016). The query below repeats that expression
exactly, or the planner could not use the index. SQLite (the `make run` default) has no text
search: there every word must appear in `search_text`.
"""

import logging
import re
import threading

import jieba
import jieba.analyse
from django.db import connection
from django.db.models import BooleanField, Case, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

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


def search_text_for(article) -> str:
    """What `search_text` holds: title, text and tag names, cut into words and joined by spaces."""
    tags = " ".join(tag.name for tag in article.tags.all()) if article.pk else ""
    return " ".join(search_words(f"{article.title}\n{article.body}\n{tags}"))


def keywords_of(text: str, *, count: int = KEYWORD_COUNT) -> list[str]:
    """The words that say most about a text (TF-IDF), for finding articles like a ticket."""
    if not text.strip():
        return []
    _jieba()
    return [word.lower() for word in jieba.analyse.extract_tags(text, topK=count) if _WORD.search(word)]


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


# The indexed expression (migration 0016), written out once for every query that should use it.
_VECTOR = "to_tsvector('simple', \"tickets_knowledgearticle\".\"search_text\")"


def articles_matching(queryset: QuerySet, words: list[str]) -> QuerySet:
    """Articles that contain every word; on PostgreSQL ranked by ts_rank, best first."""
    if not words:
        return queryset
    if on_postgresql():
        text = " ".join(words)
        matches = RawSQL(f"{_VECTOR} @@ plainto_tsquery('simple', %s)", [text], output_field=BooleanField())
        rank = RawSQL(f"ts_rank({_VECTOR}, plainto_tsquery('simple', %s))", [text], output_field=FloatField())
        return queryset.filter(matches).annotate(search_rank=rank).order_by("-search_rank", "-updated_at", "-id")
    condition = Q()
    for word in words:
        condition &= Q(search_text__icontains=word)
    return queryset.filter(condition)


def _any_query(words: list[str]) -> str:
    # tsquery || tsquery is OR; one plainto_tsquery per word keeps every word a bound parameter.
    return "(" + " || ".join(["plainto_tsquery('simple', %s)"] * len(words)) + ")"


def any_word_condition(words: list[str]) -> Q:
    """Articles holding at least one of `words` (each a segmented word or phrase); index-served on PostgreSQL."""
    if on_postgresql():
        return Q(RawSQL(f"{_VECTOR} @@ {_any_query(words)}", list(words), output_field=BooleanField()))
    condition = Q()
    for word in words:
        condition |= Q(search_text__icontains=word)
    return condition


def relevance_to(words: list[str]):
    """How much an article has to do with `words`, higher is closer: ts_rank on PostgreSQL, the
    number of words it contains on SQLite. Compare it only between rows of one query."""
    if on_postgresql():
        return RawSQL(f"ts_rank({_VECTOR}, {_any_query(words)})", list(words), output_field=FloatField())
    total = Value(0, output_field=IntegerField())
    for word in words:
        total = total + Case(When(search_text__icontains=word, then=Value(1)), default=Value(0),
                             output_field=IntegerField())
    return total
