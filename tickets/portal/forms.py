from django import forms
from django.utils.translation import gettext_lazy as _


class EvidenceForm(forms.Form):
    text = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           max_length=5000)
    file = forms.FileField(label=_("Photo or document"), required=False)


class SurveyForm(forms.Form):
    solved = forms.TypedChoiceField(
        label=_("Is your problem solved?"), coerce=lambda v: v == "yes", widget=forms.RadioSelect,
        choices=[("yes", _("Yes, it is solved")), ("no", _("No, it is not solved"))],
    )
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with our service?"), coerce=int, empty_value=None, required=False,
        widget=forms.RadioSelect, choices=[(i, "★" * i) for i in range(1, 6)],
    )
    comment = forms.CharField(label=_("Anything else you want to tell us?"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        if data.get("solved") is False and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Please tell us what is still wrong."))
        return data
