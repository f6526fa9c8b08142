"""Reads of the case library: search, the public FAQ, and what to suggest on a ticket page.

Access is not decided here: views and the API narrow these querysets with
`tickets.knowledge.policies.articles_visible_to` (or use `faq_articles` for the public page).
"""

import hashlib

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from ..live import desk_shared
from ..models import Category, ReplyTemplate, Ticket
from ..replies import templates_for
from .models import KnowledgeArticle
from .search import any_word_condition, articles_matching, keywords_of, query_words, relevance_to, search_words

EXCERPT_CHARS = 80


def article_list(queryset: QuerySet[KnowledgeArticle] | None = None) -> QuerySet[KnowledgeArticle]:
    """A list page's rows: author and tags fetched up front (constant queries per page)."""
    queryset = KnowledgeArticle.objects.all() if queryset is None else queryset
    return queryset.select_related("author").prefetch_related("tags")


def article_detail(queryset: QuerySet[KnowledgeArticle] | None = None) -> QuerySet[KnowledgeArticle]:
    return article_list(queryset).select_related("source_ticket")


def faq_articles(*, language: str | None = None) -> QuerySet[KnowledgeArticle]:
    """What the public FAQ may show: published articles marked FAQ (drafts and internal cases never)."""
    queryset = KnowledgeArticle.objects.filter(status=KnowledgeArticle.Status.PUBLISHED, is_faq=True)
    return queryset.filter(language=language) if language else queryset


def articles_search(
    *,
    query: str,
    language: str | None = None,
    category: str = "",
    faq_only: bool = False,
    published_only: bool = True,
    status: str = "",
) -> QuerySet[KnowledgeArticle]:
    """Articles holding every word of `query` (cut by jieba), best match first on PostgreSQL,
    most recently updated first otherwise. Empty filters do not filter."""
    queryset = article_list()
    if published_only:
        queryset = queryset.filter(status=KnowledgeArticle.Status.PUBLISHED)
    elif status:
        queryset = queryset.filter(status=status)
    if language:
        queryset = queryset.filter(language=language)
    if category:
        queryset = queryset.filter(category=category)
    if faq_only:
        queryset = queryset.filter(is_faq=True)
    return articles_matching(queryset, query_words(query or ""))


def faq_by_category(*, language: str, query: str = "") -> list[tuple[str, str, list[KnowledgeArticle]]]:
    """The public FAQ in one language, grouped by category in the desk's category order:
    [(category, label, articles)], articles uncategorised last under "General"."""
    articles = articles_search(query=query, language=language, faq_only=True)
    if not query_words(query or ""):
        articles = articles.order_by("title", "id")
    order = {value: index for index, value in enumerate(Category.values)}
    groups: dict[str, list[KnowledgeArticle]] = {}
    for article in articles:
        groups.setdefault(article.category, []).append(article)
    return [
        (category, Category(category).label if category else _("General"), groups[category])
        for category in sorted(groups, key=lambda value: order.get(value, len(order)))
    ]


# The keywords of a case are in its first lines: reading more would make the ticket page's cost grow
# with whatever was pasted into the description.
KEYWORD_TEXT_CHARS = 2_000


def _keyword_text(ticket: Ticket) -> str:
    return f"{ticket.symptom}\n{ticket.description}"[:KEYWORD_TEXT_CHARS]


def _ticket_keywords(ticket: Ticket) -> list[str]:
    # Kept on the instance: the ticket page asks twice (articles, templates) and jieba's TF-IDF is not free.
    text = _keyword_text(ticket)
    cached = getattr(ticket, "_keywords", None)
    if cached is None or cached[0] != text:
        ticket._keywords = cached = (text, keywords_of(text))
    return cached[1]


def _indexed_forms(keywords: list[str]) -> list[str]:
    """Each keyword cut the way search_text was cut, so a word jieba guessed (HMM) still finds its
    pieces; single characters are dropped (拉不上 -> 拉 / 不 / 上 would match nearly anything)."""
    forms = (" ".join(word for word in search_words(keyword) if len(word) > 1) for keyword in keywords)
    return list(dict.fromkeys(form for form in forms if form))


def _same_kind(ticket: Ticket):
    """1 for each of category and type the article shares with the ticket (so 2 is the closest kin)."""
    score = Value(0, output_field=IntegerField())
    for field, value in (("category", ticket.category), ("ticket_type", ticket.type)):
        if value:
            score = score + Case(When(**{field: value}, then=Value(1)), default=Value(0), output_field=IntegerField())
    return score


def articles_similar_to(*, ticket: Ticket, language: str, limit: int = 5) -> list[KnowledgeArticle]:
    """Published articles for the agent on a ticket page: the same category and type first, then by
    how many of the ticket's keywords (jieba TF-IDF over the customer's words and the symptom) they
    hold. One query; each row carries `excerpt` (the text's first characters) for the list.

    Shared by every page of a ticket with the same words, category, type and language for
    SHARED_CHOICES_SECONDS (live.desk_shared): an article published is suggested within that time, and a
    ticket page spares the keyword extraction and the query."""
    key = (f"kb-suggested:{language}:{ticket.category}:{ticket.type}:{limit}:"
           f"{hashlib.sha1(_keyword_text(ticket).encode()).hexdigest()}")
    return desk_shared(key, lambda: _articles_similar_to(ticket, language, limit),
                       seconds=settings.SHARED_CHOICES_SECONDS)


def _articles_similar_to(ticket: Ticket, language: str, limit: int) -> list[KnowledgeArticle]:
    words = _indexed_forms(_ticket_keywords(ticket))
    candidates = Q()
    if words:
        candidates |= any_word_condition(words)
    if ticket.category:
        candidates |= Q(category=ticket.category)
    if ticket.type:
        candidates |= Q(ticket_type=ticket.type)
    if not candidates:
        return []
    queryset = (
        KnowledgeArticle.objects.filter(candidates, status=KnowledgeArticle.Status.PUBLISHED, language=language)
        .defer("body", "search_text")
        .annotate(
            same_kind=_same_kind(ticket),
            relevance=relevance_to(words) if words else Value(0, output_field=IntegerField()),
            # One character more than shown, so the template knows to add "…".
            excerpt=Substr("body", 1, EXCERPT_CHARS + 1),
        )
        .order_by("-same_kind", "-relevance", "-published_at", "-id")
    )
    return list(queryset[:limit])


def reply_templates_similar_to(*, ticket: Ticket, language: str, limit: int = 5,
                               templates: list[ReplyTemplate] | None = None) -> list[ReplyTemplate]:
    """Active reply templates in `language` made for the ticket's type and category (or general),
    those sharing most keywords with the customer's words first, specific before general. Ranked here
    from `templates` (templates_for's list, which the ticket page reads anyway), else one query."""
    if templates is None:
        templates = list(templates_for(ticket, language))
    keywords = [word.lower() for word in _ticket_keywords(ticket)]

    def overlap(template: ReplyTemplate) -> int:
        text = f"{template.name}\n{template.body}".lower()
        return sum(1 for word in keywords if word in text)

    # sorted() is stable: templates_for's order (specific before general, then name) breaks the ties.
    return sorted(templates, key=overlap, reverse=True)[:limit]
