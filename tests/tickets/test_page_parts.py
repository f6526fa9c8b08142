"""Parts of pages made cheaper (issue 21) show exactly what they showed before: the header's counts (one
hand-written query), the SLA badge's time left (read from a memo by whole minutes) and the queue's rows
(rendered once for what they show, tickets/fragments.py) and the filter bar's options (kept by their words, a
whole table's shared for half a minute)."""

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as settings_module
from django.core.cache import cache
from django.db import connection
from django.forms.models import ModelChoiceIterator
from django.http import QueryDict
from django.template.loader import get_template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape, format_html_join
from django.utils.timesince import timeuntil
from django.utils.translation import override
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from markupsafe import Markup

from tests.factories import TicketFactory, make_user
from tickets import fragments
from tickets.context_processors import desk
from tickets.filters import TicketFilter
from tickets.fragments import rows_html
from tickets.incidents.models import Incident
from tickets.models import Delivery, Message, Notification, Tag, Ticket
from tickets.policies import desk_roles
from tickets.selectors import ticket_rows
from tickets.sla.stops import ClockStop
from tickets.templatetags.desk import filter_options, time_left, worker_options

NOW = datetime(2026, 11, 11, 9, 30, 12, 345678, tzinfo=UTC)


@hypothesis_settings(max_examples=300, deadline=None)
@given(seconds=st.integers(min_value=-3 * 86400, max_value=60 * 86400), language=st.sampled_from(["zh-hans", "en"]))
def test_time_left_says_what_timeuntil_says(seconds, language):
    due = NOW + timedelta(seconds=seconds, microseconds=seconds % 7 * 100_000)
    with override(language), mock.patch("django.utils.timezone.now", return_value=NOW), \
            mock.patch("tickets.templatetags.desk.timeuntil", wraps=lambda d, now=None: timeuntil(d, now or NOW)):
        assert time_left(due) == timeuntil(due, NOW)


def test_time_left_is_in_the_active_language():
    due = NOW + timedelta(hours=2, minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        with override("en"):
            assert time_left(due) == "2\xa0hours, 5\xa0minutes"
        with override("zh-hans"):
            assert time_left(due) == timeuntil(due, NOW) != "2\xa0hours, 5\xa0minutes"


def _header(user, rf):
    request = rf.get("/")
    request.user = user
    desk_roles(user)  # read once per request, kept on the user: not the header's query
    with CaptureQueriesContext(connection) as queries:
        context = desk(request)
    return (context["desk_unread"], context["desk_suggested_incidents"], context["desk_undelivered"]), len(queries)


@pytest.mark.django_db
def test_the_header_counts_are_the_orms_in_one_query(rf):
    supervisor, agent = make_user("supervisor", username="hdr_sup"), make_user("agent", username="hdr_agent")
    ticket = TicketFactory()
    for recipient, read in ((supervisor, False), (supervisor, False), (supervisor, True), (agent, False)):
        Notification.objects.create(recipient=recipient, kind=Notification.Kind.SLA_WARNING, ticket=ticket,
                                    dedupe_key=f"hdr:{recipient.pk}:{Notification.objects.count()}",
                                    read_at=timezone.now() if read else None)
    for status in ("suggested", "suggested", "confirmed", "dismissed"):
        Incident.objects.create(title=status, cause="other", status=status, window_start=timezone.now(),
                                window_end=timezone.now())
    for state in Delivery.State.values:  # a reply's delivery per channel: one reply for each
        message = Message.objects.create(ticket=ticket, direction=Message.Direction.OUTBOUND, body="回复")
        Delivery.objects.create(message=message, channel="email", state=state)

    undelivered = Delivery.objects.filter(state__in=["dead", "no_channel"]).count()
    assert _header(supervisor, rf) == ((2, 2, undelivered), 1)
    assert undelivered == 2
    # Agents see their unread notices only; the supervisors' figures are neither read nor shown.
    assert _header(agent, rf) == ((1, 0, 0), 1)
    Notification.objects.filter(recipient=supervisor).update(read_at=timezone.now())
    Incident.objects.filter(status="suggested").update(status="confirmed")
    Delivery.objects.filter(state__in=["dead", "no_channel"]).update(state="delivered")
    assert _header(supervisor, rf) == ((0, 0, 0), 1)


# The queue's rows: rendered once for what they show ----------------------------------------------------------

ROW = "tickets/partials/_queue_row.html"


def _rows(tickets, **shared):
    return str(rows_html(tickets, ROW, **shared))


def _listed(*tickets):
    return ticket_rows(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by("pk"))


@pytest.fixture
def rows_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_a_row_is_rendered_once_and_a_changed_ticket_is_rendered_again(rows_cache):
    first, second = TicketFactory(status="new"), TicketFactory(status="new")
    with mock.patch("django.template.backends.jinja2.Template.render", autospec=True,
                    side_effect=lambda self, context=None, request=None: f"<tr>{context['t'].pk}:"
                                                                          f"{context['t'].status}</tr>") as render:
        assert _rows(_listed(first, second)) == f"<tr>{first.pk}:new</tr><tr>{second.pk}:new</tr>"
        assert render.call_count == 2
        assert _rows(_listed(first, second)) == f"<tr>{first.pk}:new</tr><tr>{second.pk}:new</tr>"
        assert render.call_count == 2  # both rows from the cache
        Ticket.objects.filter(pk=second.pk).update(status="in_progress")  # no version bump, no event: still seen
        assert _rows(_listed(first, second)) == f"<tr>{first.pk}:new</tr><tr>{second.pk}:in_progress</tr>"
        assert render.call_count == 3


@pytest.mark.django_db
def test_rows_follow_the_language_the_minute_the_clock_stop_and_what_is_shared(rows_cache):
    ticket = TicketFactory(status="new")
    with override("en"):
        english = _rows(_listed(ticket))
    with override("zh-hans"):
        chinese = _rows(_listed(ticket))
    assert ">New<" in english and ">新建<" in chinese
    assert "pick" in _rows(_listed(ticket), bulk=True) and "pick" not in _rows(_listed(ticket), bulk=False)

    seen = []
    with mock.patch("django.template.backends.jinja2.Template.render", autospec=True,
                    side_effect=lambda self, context=None, request=None: seen.append(1) or "<tr></tr>"):
        with mock.patch("tickets.fragments.time.time", return_value=1_800_000_000):
            _rows(_listed(ticket))
            _rows(_listed(ticket))
        assert len(seen) == 1
        with mock.patch("tickets.fragments.time.time", return_value=1_800_000_060):  # the next minute
            _rows(_listed(ticket))
        assert len(seen) == 2
        listed = _listed(ticket)
        listed[0].clock_stop = ClockStop(kind="closed", holiday_name="", resumes_at=NOW)
        with mock.patch("tickets.fragments.time.time", return_value=1_800_000_060):
            _rows(listed)
        assert len(seen) == 3


@pytest.mark.django_db
def test_a_changed_row_template_renders_its_rows_again(rows_cache):
    ticket = TicketFactory()
    assert fragments.template_digest(ROW, using="jinja2") == hashlib.sha1(
        (Path(settings_module.BASE_DIR) / "templates" / "jinja2" / ROW).read_bytes()).hexdigest()[:12]
    with mock.patch("django.template.backends.jinja2.Template.render", autospec=True,
                    return_value="<tr></tr>") as render:
        _rows(_listed(ticket))
        _rows(_listed(ticket))
        assert render.call_count == 1
        with mock.patch("tickets.fragments.template_digest", return_value="edited"):  # the file changed
            _rows(_listed(ticket))
        assert render.call_count == 2


@pytest.mark.django_db
@pytest.mark.parametrize("template", [ROW, "tickets/partials/_dashboard_row.html"])
def test_a_listed_ticket_renders_its_row_as_the_ticket_read_whole_does(rows_cache, template):
    agent = make_user("agent", username="row<agent>")
    whole_tickets = [TicketFactory(status="in_progress", assignee=agent, escalation_level=1),
                     TicketFactory(status="new", order=None, assignee=None)]
    listed = _listed(*whole_tickets)
    with CaptureQueriesContext(connection) as built:
        tickets = [row.ticket() for row in listed]
        drawn = [get_template(template, using="jinja2").render({"t": t}) for t in tickets]
    assert len(built.captured_queries) == 0  # everything the row shows was read with the list
    for ticket, html in zip(Ticket.objects.select_related("customer", "order", "assignee").filter(
            pk__in=[t.pk for t in whole_tickets]).order_by("pk"), drawn, strict=True):
        assert html == get_template(template, using="jinja2").render({"t": ticket})
    assert tickets[1].order is None and tickets[1].assignee is None and "row&lt;agent&gt;" in drawn[0]
    with CaptureQueriesContext(connection) as deferred:
        assert tickets[0].description == whole_tickets[0].description  # not listed: read on first use
    assert len(deferred.captured_queries) == 1


@pytest.mark.django_db
def test_a_row_found_rendered_is_not_built_into_a_ticket(rows_cache):
    listed = _listed(TicketFactory(), TicketFactory())
    with mock.patch("tickets.fragments.ListedTicket.ticket", autospec=True,
                    side_effect=lambda row: Ticket.objects.select_related("customer", "order", "assignee").get(
                        pk=row.pk)) as built:
        first = _rows(listed)
        assert built.call_count == 2
        assert _rows(_listed(*listed)) == first
        assert built.call_count == 2  # the second list was only read: both rows came from the cache


# The filter bar's options ----------------------------------------------------------------------------------


def _reference_options(field):
    """filter_options as it was written before its options were kept (Django's own format_html_join)."""
    current = field.value()
    values = current if isinstance(current, list | tuple) else [current]
    chosen = {str(value) for value in values if value is not None}
    choices = field.field.choices
    if isinstance(choices, ModelChoiceIterator):
        choices = [choices.choice(item) for item in field.field.queryset]
    return format_html_join("", '<option value="{}"{}>{}</option>', (
        (value, " selected" if str(value) in chosen else "", label) for value, label in choices if value != ""))


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "status=new&status=in_progress&priority=P1&tags=<b>&assignee={agent}",
                                   "type=exchange&ordering=-created_at&channel=email&tags=a%26b"])
def test_the_filter_bars_options_are_what_the_fields_choices_say(rows_cache, rf, query, settings):
    settings.SHARED_CHOICES_SECONDS = 30  # the second pass reads what the first kept
    agent = make_user("agent", username="opt<agent>")
    for name in ("<b>", "a&b", "普通"):
        Tag.objects.create(name=name)
    request = rf.get("/")
    request.user = agent
    for language in ("zh-hans", "en"):
        with override(language):
            for _ in range(2):  # the second time from what was kept
                form = TicketFilter(QueryDict(query.format(agent=agent.pk)), queryset=Ticket.objects.all(),
                                    request=request).form
                for field in form:
                    if field.name not in ("q", "created_after", "created_before"):
                        assert str(filter_options(field)) == str(_reference_options(field)), field.name


@pytest.mark.django_db
def test_a_new_tag_shows_in_the_bar_once_its_shared_list_is_taken_again(rows_cache, rf, settings):
    settings.SHARED_CHOICES_SECONDS = 30
    Tag.objects.create(name="旧标签")
    request = rf.get("/")
    request.user = make_user("agent", username="opt_tags")

    def tag_options():
        return str(filter_options(TicketFilter(QueryDict(""), queryset=Ticket.objects.all(), request=request)
                                  .form["tags"]))

    with mock.patch("tickets.live.time.time", return_value=1_800_000_000):  # a 30 s window's first moment
        assert "旧标签" in tag_options()
        Tag.objects.create(name="新标签")
        with CaptureQueriesContext(connection) as queries:
            assert "新标签" not in tag_options()  # shared for SHARED_CHOICES_SECONDS
        assert len(queries) == 0
    with mock.patch("tickets.live.time.time", return_value=1_800_000_030):  # the next window
        assert "新标签" in tag_options()


@pytest.mark.django_db
def test_a_shared_row_gets_each_pages_own_fill(rows_cache):
    ticket = TicketFactory()
    template = "tickets/partials/_dashboard_row.html"
    mine = str(rows_html(_listed(ticket), template, fill={"reassign": Markup('<input name="csrfmiddlewaretoken" '
                                                                             'value="mine">')}))
    with mock.patch("django.template.backends.jinja2.Template.render", autospec=True) as render:
        theirs = str(rows_html(_listed(ticket), template, fill={"reassign": Markup('<input value="theirs">')}))
    assert render.call_count == 0  # the row was shared
    assert 'value="mine"' in mine and "theirs" not in mine and "<!--fill" not in mine
    assert 'value="theirs"' in theirs and "mine" not in theirs
    assert f'action="/tickets/{ticket.pk}/assign/"' in theirs


@pytest.mark.django_db
def test_the_workers_options_name_each_worker_as_colleagues_know_them(rows_cache, settings):
    named = make_user("agent", username="w_named")
    named.first_name, named.last_name = "<王>", "芳"
    named.save()
    plain = make_user("supervisor", username="w_plain")
    gone = make_user("agent", username="w_gone")
    gone.is_active = False
    gone.save()
    make_user("department_staff", username="w_wh", department="warehouse")
    options = str(worker_options())
    assert f'<option value="{named.pk}">{escape(named.get_full_name())} (w_named)</option>' in options
    assert f'<option value="{plain.pk}">w_plain</option>' in options
    assert "w_gone" not in options and "w_wh" not in options
    assert "<王>" not in options  # escaped

    settings.SHARED_CHOICES_SECONDS = 30
    with mock.patch("tickets.live.time.time", return_value=1_800_000_000):
        shared = str(worker_options())
        make_user("agent", username="w_new")
        assert str(worker_options()) == shared  # shared for SHARED_CHOICES_SECONDS
    settings.SHARED_CHOICES_SECONDS = 0
    assert "w_new" in str(worker_options())
