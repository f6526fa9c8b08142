from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.states import StatusFlow

from ..models import Category, Tag, TicketType


class KnowledgeArticle(models.Model):
    """What the desk learned from a case, written for the next agent (and, marked FAQ, for customers)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")  # visible to staff only, being edited
        PUBLISHED = "published", _("Published")  # suggested on tickets; on the public FAQ when is_faq

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    ticket_type = models.CharField(_("type"), max_length=20, choices=TicketType.choices, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles", verbose_name=_("tags"))
    is_faq = models.BooleanField(_("show on the public FAQ"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_flow = StatusFlow({Status.PUBLISHED: [Status.DRAFT], Status.DRAFT: [Status.PUBLISHED]})
    source_ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="articles",
        verbose_name=_("drawn from ticket"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("author")
    )
    # Title, text and tags cut into words (jieba) and joined by spaces, kept by the service on every
    # save: PostgreSQL's 'simple' text search then finds a two-character Chinese word.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "language", "is_faq"], name="article_published_idx"),
            models.Index(fields=["category", "status"], name="article_category_idx"),
        ]

    def __str__(self):
        return self.title
