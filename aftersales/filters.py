"""Filter pieces shared by every list of the API (and the browser queue's ticket filter)."""

import copy

import django_filters
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from django_filters.rest_framework import DjangoFilterBackend

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1  # what a database id column holds


class AnyIdField(ModelChoiceField):
    """A well-formed id that names no row filters to nothing instead of being refused: "the tickets of
    user 0" is an empty list, as "the tickets in status archived" is when there are none."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            try:
                pk = int(value)
            except (TypeError, ValueError):
                pk = None
            if pk is None or not BIGINT_MIN <= pk <= BIGINT_MAX:
                raise
            return self.queryset.model(pk=pk)


class AnyIdFilter(django_filters.ModelChoiceFilter):
    field_class = AnyIdField


MULTIPLE_VALUE_FILTERS = (
    django_filters.MultipleChoiceFilter, django_filters.ModelMultipleChoiceFilter, django_filters.filters.BaseCSVFilter,
)


# Every list request makes a filter set: django-filter deep-copies the class's filters, makes a form field
# for each, a form class of them, and the form deep-copies those fields again (1.1 ms of CPU for the tickets'
# filter, a tenth of an API list). A filter's own state is its attributes and its `extra` (the field's
# arguments, which a request-dependent queryset rewrites) and the FilterMethod bound to it: copies of those
# make it as separate as the deep copy. The form's fields were made for this request: the form keeps them as they are.
# tests/test_filters_shared.py holds both to what the deep copies give.

class _SharedFilters(dict):
    def __deepcopy__(self, memo):
        copies = {}
        for name, filter_ in self.items():
            copied = copy.copy(filter_)
            copied.extra = dict(filter_.extra)
            copied.__dict__.pop("_field", None)  # made per filter set, from its own extra
            if copied.method is not None:  # its FilterMethod is bound to the filter it was made for
                copied.method = filter_.method
            copies[name] = copied
        return copies


class _FreshFields(dict):
    def __deepcopy__(self, memo):
        return dict(self)


class ApiFilterSet(django_filters.FilterSet):
    """The lists' filter rules, as the schema states them (aftersales.api.document_input_rules):
    an empty value means "not given" (what a browser form sends for an unset filter), a filter that takes
    one value refuses two, a yes/no filter takes `true` or `false`, and foreign keys filter with AnyIdFilter."""

    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: {**FILTER_FOR_DBFIELD_DEFAULTS[models.ForeignKey], "filter_class": AnyIdFilter},
        models.OneToOneField: {**FILTER_FOR_DBFIELD_DEFAULTS[models.OneToOneField], "filter_class": AnyIdFilter},
    }


    def __init__(self, data=None, *args, **kwargs):
        if data is not None and hasattr(data, "getlist"):
            data = data.copy()
            for key in list(data.keys()):
                given = [value for value in data.getlist(key) if value != ""]
                if given:
                    data.setlist(key, given)
                else:
                    del data[key]
        super().__init__(data, *args, **kwargs)

    @classmethod
    def get_filters(cls):
        return _SharedFilters(super().get_filters())

    def get_form_class(self):
        form_class = super().get_form_class()
        form_class.base_fields = _FreshFields(form_class.base_fields)
        return form_class

    def is_valid(self):
        valid = super().is_valid()
        for name, message in self._misgiven():
            self.form.add_error(name, message)
            valid = False
        return valid

    def _misgiven(self):
        if not hasattr(self.data, "getlist"):
            return
        for name, filter_ in self.filters.items():
            given = self.data.getlist(name)
            if len(given) > 1 and not isinstance(filter_, MULTIPLE_VALUE_FILTERS):
                yield name, _("Give one value.")
            elif given and isinstance(filter_, django_filters.BooleanFilter) and given[0] not in ("true", "false"):
                yield name, _("Give true or false.")


class FilterBackend(DjangoFilterBackend):
    """The API's filter backend: lists declared with `filterset_fields` get ApiFilterSet's defaults."""

    filterset_base = ApiFilterSet
