"""The lists' filter sets copy their filters shallowly and keep the form fields made for the request
(aftersales/filters.py): what they accept, refuse (with which messages) and select must be what django-filter's
deep copies give, for any query string, and one filter set's filters and fields are never another's."""

import copy

import pytest
import time_machine
from django.http import QueryDict
from django.test import RequestFactory
from django_filters.filterset import filterset_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales import filters as shared
from aftersales.filters import ApiFilterSet
from orders.models import Order
from tickets.api.people import SubtaskFilter
from tickets.filters import TicketFilter
from tickets.models import Subtask, Ticket

OrderFilter = filterset_factory(Order, filterset=ApiFilterSet,
                                fields=["platform", "external_number", "status", "logistics_status", "customer"])
FILTER_SETS = [(TicketFilter, Ticket), (SubtaskFilter, Subtask), (OrderFilter, Order)]
VALUES = st.one_of(
    st.sampled_from(["", "new", "in_progress", "breached", "return_refund", "taobao", "true", "false", "yes", "1",
                     "0", "-1", "99999999999999999999", "2026-11-11", "2026-13-45", "-created_at", "sla_due_at",
                     "nonsense", "包装", "finance"]),
    st.text(max_size=12),
)


def query_strings(filter_set):
    names = st.sampled_from([*filter_set.base_filters, "unknown"])
    return st.lists(st.tuples(names, VALUES), max_size=6)


def outcome(filter_set, model, pairs, user):
    data = QueryDict(mutable=True)
    for name, value in pairs:
        data.appendlist(name, value)
    request = RequestFactory().get("/")
    request.user = user
    instance = filter_set(data, queryset=model.objects.all(), request=request)
    valid = instance.is_valid()
    errors = {name: list(messages) for name, messages in instance.form.errors.items()}
    return valid, errors, str(instance.qs.query) if valid else None


@pytest.mark.django_db
@pytest.mark.parametrize(("filter_set", "model"), FILTER_SETS, ids=lambda value: getattr(value, "__name__", ""))
def test_shallow_copies_filter_as_the_deep_ones(filter_set, model, supervisor):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(pairs=query_strings(filter_set))
    @time_machine.travel("2026-11-11 10:00 +0800", tick=False)  # "overdue" compares with now: the same now twice
    def check(pairs):
        ours = outcome(filter_set, model, pairs, supervisor)
        with pytest.MonkeyPatch.context() as patch:  # django-filter's own way: everything deep-copied
            patch.setattr(shared._SharedFilters, "__deepcopy__", lambda self, memo: copy.deepcopy(dict(self), memo))
            patch.setattr(shared._FreshFields, "__deepcopy__", lambda self, memo: copy.deepcopy(dict(self), memo))
            theirs = outcome(filter_set, model, pairs, supervisor)
        assert ours == theirs

    check()


@pytest.mark.django_db
def test_one_filter_sets_filters_and_fields_are_its_own(supervisor):
    request = RequestFactory().get("/")
    request.user = supervisor
    first = TicketFilter(QueryDict("status=new"), queryset=Ticket.objects.all(), request=request)
    second = TicketFilter(QueryDict("status=resolved"), queryset=Ticket.objects.all(), request=request)
    assert first.is_valid() and second.is_valid()

    for name in TicketFilter.base_filters:
        assert first.filters[name] is not second.filters[name] is not TicketFilter.base_filters[name]
        assert first.filters[name].extra is not TicketFilter.base_filters[name].extra
        assert first.form.fields[name] is not second.form.fields[name]
        made_on_class = vars(TicketFilter.base_filters[name]).get("_field")  # the schema generator makes some
        assert first.form.fields[name] is not made_on_class
    first.filters["assignee"].extra["queryset"] = Ticket.objects.none()  # what a request-dependent queryset does
    assert TicketFilter.base_filters["assignee"].extra["queryset"] is not first.filters["assignee"].extra["queryset"]
    first.form.fields["status"].choices = []
    assert second.form.fields["status"].choices and second.form.cleaned_data["status"] == ["resolved"]
