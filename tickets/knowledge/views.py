"""The case library's pages (staff, behind login) and the public FAQ (no login).

Views: access function, form, one service call, redirect or render. A refusal from a service
comes back as a message or a form error; nothing was changed.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..policies import can_write_articles, desk_required, ensure_article_writer, ticket_get_for_user
from ..replies import render_reply, reply_placeholders
from . import services
from .forms import ArticleForm, ArticleSearchForm, DraftFromTicketForm, FaqSearchForm, PublishForm
from .policies import article_get_for_user, articles_visible_to, faq_article_get
from .selectors import articles_search, articles_similar_to, faq_by_category, reply_templates_similar_to

PAGE_SIZE = 25


def _form_errors(form, error: ValidationError) -> None:
    """A service's refusal shown on the form, under the field it names when the form has that field."""
    if hasattr(error, "error_dict"):
        for field, texts in error.message_dict.items():
            form.add_error(field if field in form.fields else None, texts)
    else:
        form.add_error(None, error.messages)


def _active_language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return settings.LANGUAGE_CODE


# Staff pages -----------------------------------------------------------------------------------------

@desk_required
def article_list(request):
    """Search (Chinese words found inside sentences), filters kept in the URL, 25 a page."""
    form = ArticleSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    articles = articles_visible_to(request.user, articles_search(
        query=data.get("q", ""), language=data.get("language") or None, category=data.get("category", ""),
        published_only=False, status=data.get("status", ""),
    ))
    page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "knowledge/list.html", {
        "page": page, "form": form, "query": query.urlencode(), "can_write": can_write_articles(request.user),
    })


@desk_required
def article_detail(request, pk):
    article = article_get_for_user(user=request.user, article_id=pk)
    return render(request, "knowledge/detail.html", {
        "article": article, "can_write": can_write_articles(request.user),
    })


@desk_required
def article_new(request):
    ensure_article_writer(request.user)
    form = ArticleForm(request.POST or None, initial={"language": _active_language()})
    if form.is_valid():
        try:
            article = services.article_create(author=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Draft saved. Publish it when it is ready."))
            return redirect("tickets:kb_detail", pk=article.pk)
    return render(request, "knowledge/form.html", {"form": form, "article": None})


@desk_required
def article_edit(request, pk):
    article = article_get_for_user(user=request.user, article_id=pk, for_write=True)
    form = ArticleForm(request.POST or None, initial=ArticleForm.initial_for(article))
    if form.is_valid():
        try:
            services.article_update(article=article, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Article saved."))
            return redirect("tickets:kb_detail", pk=article.pk)
    return render(request, "knowledge/form.html", {"form": form, "article": article})


@require_POST
@desk_required
def article_publish(request, pk):
    """Publish or unpublish (the `action` field says which)."""
    article = article_get_for_user(user=request.user, article_id=pk, for_write=True)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
        return redirect("tickets:kb_detail", pk=pk)
    publish = form.cleaned_data["action"] == "publish"
    try:
        if publish:
            services.article_publish(article=article, actor=request.user)
        else:
            services.article_unpublish(article=article, actor=request.user)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Published.") if publish else _("Back to draft."))
    return redirect("tickets:kb_detail", pk=pk)


@require_POST
@desk_required
def article_from_ticket(request, pk):
    """An anonymised draft from a finished case; the agent reviews it on the edit page."""
    ensure_article_writer(request.user)
    ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
    form = DraftFromTicketForm(request.POST)
    language = (form.cleaned_data.get("language") if form.is_valid() else "") or _active_language()
    try:
        article = services.article_draft_from_ticket(ticket=ticket, actor=request.user, language=language)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return redirect("tickets:detail", pk=ticket.pk)
    messages.success(request, _("Draft created from the case. Check that nothing personal is left, then publish."))
    return redirect("tickets:kb_edit", pk=article.pk)


def ticket_suggestions_context(*, ticket, user, language: str, editable: bool, placeholders: dict | None = None,
                               templates: list | None = None) -> dict:
    """For the ticket page (templates/knowledge/partials/_suggested.html): published articles like
    this case, reply templates with their placeholders filled (only when the user may reply), and
    whether to offer "draft an article from this case". Two queries, fewer when the page has read the
    placeholders and the language's templates already (`placeholders`, `templates`)."""
    suggested_templates = []
    if editable:
        values = placeholders if placeholders is not None else reply_placeholders(ticket, user)
        suggested_templates = [
            {"name": template.name, "body": render_reply(template.body, values)}
            for template in reply_templates_similar_to(ticket=ticket, language=language, templates=templates)
        ]
    return {
        "suggested_articles": articles_similar_to(ticket=ticket, language=language),
        "suggested_templates": suggested_templates,
        "can_draft_article": (
            can_write_articles(user) and services.can_draft_from(ticket)
        ),
    }


# Public FAQ (no login) -------------------------------------------------------------------------------

def faq(request):
    """Published FAQ articles in the visitor's language, grouped by category, with a search box."""
    form = FaqSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    language = _active_language()
    return render(request, "knowledge/faq.html", {
        "form": form, "query": query, "groups": faq_by_category(language=language, query=query),
        "faq_language": language,
    })


def faq_article(request, pk):
    article = faq_article_get(article_id=pk)
    return render(request, "knowledge/faq_article.html", {"article": article})
