"""Who may read the case library: writers and admins everything, department staff the published
articles, the public the published FAQ (the role checks themselves are tickets.policies')."""

from django.db.models import QuerySet
from django.http import Http404

from ..policies import Role, can_write_articles, desk_roles, ensure_article_writer, is_department_staff
from .models import KnowledgeArticle
from .selectors import article_detail, faq_articles


def articles_visible_to(user, queryset: QuerySet[KnowledgeArticle] | None = None) -> QuerySet[KnowledgeArticle]:
    queryset = KnowledgeArticle.objects.all() if queryset is None else queryset
    if can_write_articles(user) or Role.ADMIN in desk_roles(user):
        return queryset
    if is_department_staff(user):
        return queryset.filter(status=KnowledgeArticle.Status.PUBLISHED)
    return queryset.none()


def article_get_for_user(*, user, article_id, for_write: bool = False) -> KnowledgeArticle:
    try:
        article = article_detail(articles_visible_to(user)).get(pk=article_id)
    except (KnowledgeArticle.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if for_write:
        ensure_article_writer(user)
    return article


def faq_article_get(*, article_id) -> KnowledgeArticle:
    """The public page: a published FAQ article; drafts and internal case articles answer 404."""
    try:
        return article_detail(faq_articles()).get(pk=article_id)
    except (KnowledgeArticle.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
