"""Forms of the case library: they validate and hand `cleaned_data` to a service."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import Category, TicketType
from .models import KnowledgeArticle

ANY = _("Any")


def _blank(choices, label=ANY):
    return [("", label), *choices]


class ArticleSearchForm(forms.Form):
    """The staff list's search box and filters (kept in the URL)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=_blank(Category.choices))
    language = forms.ChoiceField(label=_("Language"), required=False, choices=_blank(settings.LANGUAGES))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(KnowledgeArticle.Status.choices))


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 14}))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=_blank(Category.choices, "—"))
    ticket_type = forms.ChoiceField(label=_("Type"), required=False, choices=_blank(TicketType.choices, "—"))
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=500, help_text=_("Separate tags with commas."),
    )
    is_faq = forms.BooleanField(label=_("Show on the public FAQ"), required=False)

    def clean_tags(self) -> list[str]:
        # Chinese and Latin commas both: agents type either.
        raw = self.cleaned_data["tags"].replace("，", ",")
        names = [name.strip() for name in raw.split(",") if name.strip()]
        if any(len(name) > 50 for name in names):
            raise forms.ValidationError(_("A tag has at most 50 characters."))
        return names

    @classmethod
    def initial_for(cls, article: KnowledgeArticle) -> dict:
        return {
            "title": article.title, "body": article.body, "language": article.language,
            "category": article.category, "ticket_type": article.ticket_type, "is_faq": article.is_faq,
            "tags": ", ".join(tag.name for tag in article.tags.all()),
        }


class PublishForm(forms.Form):
    """The publish / unpublish toggle on the article page."""

    action = forms.ChoiceField(choices=[("publish", _("Publish")), ("unpublish", _("Unpublish"))])


class DraftFromTicketForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, required=False)


class FaqSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the FAQ"), required=False, max_length=200)
