"""Choice labels from a dict built once per field.

Django's get_FOO_display rebuilds and hashes the field's whole choice list on every call; a queue page
calls it about 200 times (a fifth of its rendering time at 1,000,000 tickets, issue 9). The labels stay
lazy translations, so each request still gets its own language.
"""

from functools import cache

from django.db import models
from django.utils.encoding import force_str


@cache
def _labels(field) -> dict:
    return dict(field.flatchoices)


class QuickChoiceLabels(models.Model):
    class Meta:
        abstract = True

    def _get_FIELD_display(self, field):  # noqa: N802 (Django's name)
        value = getattr(self, field.attname)
        try:
            label = _labels(field).get(value, value)
        except TypeError:  # an unhashable value (a list in a JSON field): Django's own way
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)
