"""Chinese full-text search for the case library: the article's words (cut by aftersales.words) are
stored in `search_text` when it is saved; PostgreSQL needs only the 'simple' configuration and a GIN
index on `to_tsvector('simple', search_text)` (tickets migration 0003_postgresql). The query below
repeats that expression exactly, or the planner could not use the index. SQLite (the `make run` default) has no text
search: there every word must appear in `search_text`.
"""

from django.db.models import BooleanField, Case, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from aftersales.words import KEYWORD_COUNT, keywords_of, on_postgresql, query_words, search_words  # noqa: F401


def search_text_for(article) -> str:
    """What `search_text` holds: title, text and tag names, cut into words and joined by spaces."""
    tags = " ".join(tag.name for tag in article.tags.all()) if article.pk else ""
    return " ".join(search_words(f"{article.title}\n{article.body}\n{tags}"))


# The indexed expression (tickets migration 0003_postgresql), written out once for every query that should use it.
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
