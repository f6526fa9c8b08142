from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .periods import MAX_DAYS, Period


class PeriodForm(forms.Form):
    """The report period from the query string (`from`, `to`: local dates, both included)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword, so the fields are added here rather than declared.
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            help_text=_("Both days included, in the shop's time zone; at most %(max)d days.") % {"max": MAX_DAYS},
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["period"] = Period.from_dates(data.get("from"), data.get("to"))
        except ValidationError as error:
            self.add_error(None, error)
        return data

    @classmethod
    def showing(cls, period: Period) -> "PeriodForm":
        """An unbound form filled with the period in force (the defaults become visible)."""
        return cls(initial={"from": period.start, "to": period.end})
