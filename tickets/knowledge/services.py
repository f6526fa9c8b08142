"""Every write to the case library. Each keeps `search_text` (tickets/knowledge/search.py) in step
with the title, text and tags, in the same transaction as the change.

Access is checked by the caller (tickets.policies); these only enforce the library's own rules:
a draft from a case needs a finished case with its summary, and it leaves no customer data behind.
"""

import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import Status, Tag, Ticket
from .models import KnowledgeArticle
from .search import search_text_for

EDITABLE_FIELDS = ("title", "body", "language", "category", "ticket_type", "is_faq")
DRAFTABLE_STATUSES = (Status.CLOSED, Status.ARCHIVED)  # the case is over and its outcome is known

# A draft is written in the article's language, whatever language the agent's screen is in, so
# the words it puts in the text are chosen by that language here (they are article content).
_DRAFT_WORDS = {
    "zh-hans": {
        "problem": "问题", "root_cause": "原因", "summary": "处理经过", "what_worked": "有效做法",
        "customer": "顾客", "order": "[订单号]", "phone": "[手机号]", "email": "[邮箱]", "address": "[地址]",
        "account": "[买家账号]", "case": "案例", "separator": " · ", "heading": "【{}】",
    },
    "en": {
        "problem": "Problem", "root_cause": "Root cause", "summary": "What was done", "what_worked": "What worked",
        "customer": "the customer", "order": "[order number]", "phone": "[phone]", "email": "[e-mail]",
        "address": "[address]", "account": "[buyer account]", "case": "Case", "separator": " · ", "heading": "{}:",
    },
}
# Mainland mobile numbers, also written 138-1234-5678 or 138 1234 5678; not inside a longer number.
MOBILE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Platform order numbers are long digit runs (Taobao's are 18-19 digits): any other order the customer named.
LONG_NUMBER = re.compile(r"(?<!\d)\d{12,}(?!\d)")


def _tags_named(names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({name.strip() for name in names if name and name.strip()})
    Tag.objects.bulk_create([Tag(name=name) for name in cleaned], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=cleaned))


def _refresh_search_text(article: KnowledgeArticle) -> None:
    article.search_text = search_text_for(article)
    KnowledgeArticle.objects.filter(pk=article.pk).update(search_text=article.search_text)


@transaction.atomic
def article_create(
    *,
    author,
    title: str,
    body: str,
    language: str,
    category: str = "",
    ticket_type: str = "",
    tags: Iterable[str] = (),
    is_faq: bool = False,
    source_ticket: Ticket | None = None,
) -> KnowledgeArticle:
    """A new draft; publishing is a separate, deliberate step."""
    article = KnowledgeArticle(
        author=author, title=title.strip(), body=body.strip(), language=language, category=category,
        ticket_type=ticket_type, is_faq=is_faq, source_ticket=source_ticket,
    )
    article.full_clean(exclude=["author", "source_ticket"])
    article.save()
    article.tags.set(_tags_named(tags))
    _refresh_search_text(article)
    return article


@transaction.atomic
def article_update(
    *, article: KnowledgeArticle, actor, tags: Iterable[str] | None = None, **fields
) -> KnowledgeArticle:
    """Edit title, text, language, category, type, FAQ flag and tags (None leaves the tags alone)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    article = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
    for name, value in fields.items():
        setattr(article, name, value.strip() if name in ("title", "body") else value)
    article.full_clean(exclude=["author", "source_ticket"])
    article.save()
    if tags is not None:
        article.tags.set(_tags_named(tags))
    _refresh_search_text(article)
    return article


@transaction.atomic
def article_publish(*, article: KnowledgeArticle, actor) -> KnowledgeArticle:
    """Visible to department staff, suggested on tickets and, if marked FAQ, on the public page."""
    article = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
    if article.status == KnowledgeArticle.Status.PUBLISHED:
        return article
    article.full_clean(exclude=["author", "source_ticket"])  # nothing half-written goes out
    KnowledgeArticle.status_flow.move(article, KnowledgeArticle.Status.PUBLISHED, published_at=timezone.now())
    _refresh_search_text(article)
    return article


@transaction.atomic
def article_unpublish(*, article: KnowledgeArticle, actor) -> KnowledgeArticle:
    """Back to draft: off the FAQ and out of the suggestions at once."""
    article = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
    if article.status == KnowledgeArticle.Status.DRAFT:
        return article
    KnowledgeArticle.status_flow.move(article, KnowledgeArticle.Status.DRAFT)
    _refresh_search_text(article)
    return article


def _replacements(ticket: Ticket, words: dict[str, str]) -> list[tuple[str, str]]:
    """The case's own personal data, each with what stands in for it, longest first (an address
    may contain a shorter value)."""
    customer = ticket.customer
    pairs = [
        (customer.address, words["address"]),
        (ticket.order.shipping_address if ticket.order_id else "", words["address"]),
        (ticket.order.external_number if ticket.order_id else "", words["order"]),
        (customer.email, words["email"]),
        (customer.phone, words["phone"]),
        (customer.platform_account, words["account"]),
        (customer.name, words["customer"]),
    ]
    # A one-character value (a bare surname) would blank out that character everywhere in the text.
    found = [(value.strip(), stand_in) for value, stand_in in pairs if value and len(value.strip()) >= 2]
    return sorted(found, key=lambda pair: len(pair[0]), reverse=True)


def anonymise(text: str, *, ticket: Ticket, language: str) -> str:
    """Take the customer out of `text`: their name, phone, e-mail, address, platform account and the
    order number, then any mobile number, e-mail address or long order-like number left."""
    words = _DRAFT_WORDS.get(language, _DRAFT_WORDS["en"])
    for value, stand_in in _replacements(ticket, words):
        pattern = re.escape(value)
        if value.isascii():  # "Li" the name, not the "li" in "delivery"
            pattern = rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"
        text = re.sub(pattern, stand_in, text, flags=re.IGNORECASE)
    text = EMAIL.sub(words["email"], text)
    text = LONG_NUMBER.sub(words["order"], text)
    return MOBILE.sub(words["phone"], text)


def _draft_title(ticket: Ticket, language: str, words: dict[str, str]) -> str:
    items = list(ticket.affected_items.all())
    product = items[0].product.name if items else ticket.product_model
    with translation.override(language):
        parts = [str(label) for label in (
            ticket.get_type_display() if ticket.type else "",
            ticket.get_category_display() if ticket.category else "",
        ) if label]
    if product:
        parts.append(anonymise(product, ticket=ticket, language=language))
    title = words["separator"].join(parts) or f"{words['case']} {ticket.number or ticket.pk}"
    return title[: KnowledgeArticle._meta.get_field("title").max_length]


def can_draft_from(ticket: Ticket) -> bool:
    """A finished case with its summary written can become a knowledge article."""
    return ticket.status in DRAFTABLE_STATUSES and bool(ticket.summary.strip())


@transaction.atomic
def article_draft_from_ticket(*, ticket: Ticket, actor, language: str) -> KnowledgeArticle:
    """A draft article from a finished case (closed or archived, with its summary), anonymised:
    the agent reviews it, completes it and publishes it."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the desk's languages.")})
    ticket = Ticket.objects.select_related("customer", "order").prefetch_related(
        "tags", "affected_items__product"
    ).get(pk=ticket.pk)
    if not can_draft_from(ticket):
        if ticket.status not in DRAFTABLE_STATUSES:
            raise ValidationError({"ticket": _("Only a closed or archived case can become an article.")})
        raise ValidationError({"ticket": _("The case has no summary of what was done yet; write it first.")})
    words = _DRAFT_WORDS[language]
    sections = [
        ("problem", ticket.symptom or ticket.description),
        ("root_cause", ticket.root_cause),
        ("summary", ticket.summary),
        ("what_worked", ticket.what_worked),
    ]
    body = "\n\n".join(
        words["heading"].format(words[key]) + "\n" + anonymise(text.strip(), ticket=ticket, language=language)
        for key, text in sections
        if text and text.strip()
    )
    return article_create(
        author=actor, title=_draft_title(ticket, language, words), body=body, language=language,
        category=ticket.category, ticket_type=ticket.type, tags=[tag.name for tag in ticket.tags.all()],
        source_ticket=ticket,
    )
