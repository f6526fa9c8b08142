from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .periods import MAX_DAYS, Period


class PeriodQuerySerializer(serializers.Serializer):
    """Query parameters `from` and `to` (a Python keyword, hence get_fields)."""

    def get_fields(self):
        return {
            "from": serializers.DateField(
                required=False, help_text=_("First local day (YYYY-MM-DD); default: 29 days before `to`.")
            ),
            "to": serializers.DateField(
                required=False,
                help_text=_("Last local day, included (YYYY-MM-DD); default: today. At most %(max)d days in all.")
                % {"max": MAX_DAYS},
            ),
        }

    def validate(self, attrs):
        try:
            attrs["period"] = Period.from_dates(attrs.get("from"), attrs.get("to"))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


class ReportPeriodSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "from": serializers.DateField(help_text=_("First local day.")),
            "to": serializers.DateField(help_text=_("Last local day, included.")),
            "start": serializers.DateTimeField(help_text=_("Start instant (included).")),
            "end": serializers.DateTimeField(help_text=_("End instant (excluded): midnight after `to`.")),
            "days": serializers.IntegerField(),
            "time_zone": serializers.CharField(help_text=_("The shop's time zone the days are read in.")),
        }


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("Stable machine name of the column."))
    label = serializers.CharField(help_text=_("Translated heading."))
    kind = serializers.ChoiceField(
        choices=["text", "count", "percent", "hours", "score"],
        help_text=_("text; count; percent (0–100, one decimal); hours (one decimal); score (1–5 average)."),
    )


class ReportSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    scope = serializers.CharField(help_text=_("What is counted: tickets created, or surveys answered, in the period."))
    period = ReportPeriodSerializer()
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text=_("One list per row, values in column order (text, numbers or null)."),
    )
