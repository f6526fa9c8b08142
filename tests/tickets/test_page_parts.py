"""Parts of every page written by hand for speed (issue 21) say exactly what Django's own way said: the header's
counts (one hand-written query) and the SLA badge's time left (read from a memo by whole minutes)."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import override
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import TicketFactory, make_user
from tickets.context_processors import desk
from tickets.incidents.models import Incident
from tickets.models import Delivery, Message, Notification
from tickets.policies import desk_roles
from tickets.templatetags.desk import time_left

NOW = datetime(2026, 11, 11, 9, 30, 12, 345678, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
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
