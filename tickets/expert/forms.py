from urllib.parse import parse_qsl, urlencode

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from ..filters import QUEUE_LABELS, TicketFilter
from ..forms import VersionedForm
from ..models import Ticket
from ..replies import placeholders_help
from ..workflow import ACTION_LABELS, MANUAL_ACTIONS
from .models import Macro

# What a saved view may hold: the tab and the queue filter's own parameters (filters, search, sort).
QUEUE_PARAM = "queue"
IGNORED_PARAMS = frozenset({"page"})


def allowed_view_params() -> frozenset[str]:
    return frozenset({QUEUE_PARAM, *TicketFilter.base_filters})


def view_query_pairs(raw: str) -> list[tuple[str, str]]:
    """A query string's parameters in a fixed order, empty values and the page dropped, unchecked: the
    queue compares the page's query so with the saved views' (which were checked when saved)."""
    pairs = [(key, value.strip()) for key, value in parse_qsl(raw.lstrip("?"), keep_blank_values=True)
             if key not in IGNORED_PARAMS]
    return sorted({(key, value) for key, value in pairs if value})


def normalise_view_query(raw: str) -> str:
    """The query string with its parameters in a fixed order and empty values dropped, after checking it
    against the queue's filter: ValidationError for an unknown parameter or a value the filter refuses."""
    pairs = view_query_pairs(raw)
    unknown = sorted({key for key, _value in pairs} - allowed_view_params())
    if unknown:
        raise forms.ValidationError(_("Unknown parameters: %(names)s.") % {"names": ", ".join(unknown)})
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    queue = data.get(QUEUE_PARAM)
    if queue is not None and (len(data.getlist(QUEUE_PARAM)) > 1 or queue not in QUEUE_LABELS):
        raise forms.ValidationError(_("Unknown queue: %(queue)s.") % {"queue": queue})
    filterset = TicketFilter(data, queryset=Ticket.objects.none())
    if not filterset.form.is_valid():
        messages = [f"{filterset.form.fields[name].label}: {' '.join(errors)}"
                    for name, errors in filterset.form.errors.items() if name in filterset.form.fields]
        raise forms.ValidationError(" ".join(messages) or _("These filters are not valid."))
    return urlencode(pairs)


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=1000)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_query(self):
        return normalise_view_query(self.cleaned_data.get("query") or "")


class RenameViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)


class MacroForm(forms.ModelForm):
    action = forms.ChoiceField(label=_("Status action"), required=False)

    class Meta:
        model = Macro
        fields = ["name", "body", "action", "tags", "subtask_department", "subtask_kind", "subtask_description"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4}), "subtask_description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "—"), *((a, ACTION_LABELS[a]) for a in MANUAL_ACTIONS)]
        # Every placeholder the reply and the subtask's text may use (the model's own help lists the first few).
        self.fields["body"].help_text = placeholders_help()

    def clean_tags(self):
        names = [name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()]
        if any(len(name) > 50 for name in names):
            raise forms.ValidationError(_("A tag has at most 50 characters."))
        return ", ".join(dict.fromkeys(names))

    def clean(self):
        data = super().clean()
        parts = [data.get("subtask_department"), data.get("subtask_kind"),
                 (data.get("subtask_description") or "").strip()]
        if any(parts) and not all(parts):
            raise forms.ValidationError(_("A subtask needs a department, a kind and what is needed."))
        if not any(parts) and not data.get("action") and not (data.get("body") or "").strip() \
                and not data.get("tags"):
            raise forms.ValidationError(_("A macro does at least one thing: a reply, tags, a status action or a "
                                          "subtask."))
        return data


class MacroApplyForm(VersionedForm):
    macro = forms.ModelChoiceField(label=_("Macro"), queryset=Macro.objects.all())
