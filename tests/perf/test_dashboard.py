"""The supervisor dashboard at scale (tickets/dashboard.py): the figures it shows, a constant number of
queries whatever the number of tickets, the 60-second cache of the 14-day charts (live figures stay live:
shared only for one state of the desk),
and on PostgreSQL the indexes of migration 0019 behind each query.
"""

import re
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import TicketFactory
from tickets import dashboard
from tickets.dashboard import dashboard_figures
from tickets.models import RiskLevel, SLAState, Status, Ticket, TicketEvent, TicketType


@pytest.fixture(autouse=True)
def fresh_cache():
    """The chart cache outlives a test (locmem in-process, Redis in CI): each test starts without it."""
    cache.clear()
    yield
    cache.clear()


def _midnight(days_ago: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time.min))


def _ticket(*, created_days_ago: int | None = None, **fields) -> Ticket:
    ticket = TicketFactory(**fields)
    if created_days_ago is not None:  # created_at is auto_now_add: set it afterwards
        created_at = _midnight(created_days_ago) + timedelta(hours=10)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=created_at)
        ticket.created_at = created_at
    return ticket


def _breach_event(ticket: Ticket, days_ago: int) -> None:
    event = TicketEvent.objects.create(ticket=ticket, action="sla_breached")
    TicketEvent.objects.filter(pk=event.pk).update(created_at=_midnight(days_ago) + timedelta(hours=11))


def _evaluate(figures: dict) -> dict:
    for name in ("at_risk", "breached", "escalated_or_high_risk"):
        figures[name] = list(figures[name])
    return figures


def _run(**kwargs) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as ctx:
        figures = _evaluate(dashboard_figures(**kwargs))
    return figures, len(ctx.captured_queries)


# Figures -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_figures_workload_and_totals_count_every_open_ticket_not_just_the_listed_ones(
    agent, supervisor, monkeypatch
):
    monkeypatch.setattr(dashboard, "LIST_LIMIT", 2)
    for _ in range(3):
        _ticket(status=Status.IN_PROGRESS, assignee=agent, sla_state=SLAState.BREACHED, risk_level=RiskLevel.HIGH)
    for _ in range(4):
        _ticket(status=Status.NEW, sla_state=SLAState.WARNING)
    _ticket(status=Status.WAITING_CUSTOMER, assignee=supervisor)
    _ticket(status=Status.CLOSED, assignee=agent, sla_state=SLAState.BREACHED)  # not open: counted nowhere

    figures, _ = _run()

    assert figures["open_total"] == 8
    assert {code: n for _, n, code in figures["by_status"]} == {
        "new": 4, "triaged": 0, "in_progress": 3, "waiting_customer": 1, "waiting_department": 0,
    }
    assert figures["breached_total"] == 3 and len(figures["breached"]) == 2
    assert figures["at_risk_total"] == 4 and len(figures["at_risk"]) == 2
    assert [(r["assignee__username"], r["open"], r["breached"], r["high_risk"]) for r in figures["workload"]] == [
        ("agent1", 3, 3, 3), ("super1", 1, 0, 0),
    ]


@pytest.mark.django_db
def test_lists_keep_their_order():
    # At risk: soonest due first, whichever clock is due (the first response's here, the resolution's there).
    now = timezone.now()
    late = _ticket(status=Status.IN_PROGRESS, sla_state=SLAState.WARNING, resolution_due_at=now + timedelta(hours=2))
    soon = _ticket(status=Status.IN_PROGRESS, sla_state=SLAState.WARNING, resolution_due_at=now + timedelta(days=3),
                   first_response_due_at=now + timedelta(hours=1))
    old = _ticket(status=Status.TRIAGED, sla_state=SLAState.BREACHED, created_days_ago=3)
    new = _ticket(status=Status.TRIAGED, sla_state=SLAState.BREACHED, created_days_ago=1)
    escalated = _ticket(status=Status.TRIAGED, sla_state=SLAState.BREACHED, escalation_level=2, created_days_ago=0)
    high = _ticket(status=Status.NEW, risk_level=RiskLevel.HIGH, created_days_ago=2)
    _ticket(status=Status.RESOLVED, risk_level=RiskLevel.HIGH, escalation_level=3)  # not open

    figures, _ = _run()

    assert [t.pk for t in figures["at_risk"]] == [soon.pk, late.pk]
    assert [t.pk for t in figures["breached"]] == [escalated.pk, old.pk, new.pk]
    assert [t.pk for t in figures["escalated_or_high_risk"]] == [escalated.pk, high.pk]


@pytest.mark.django_db
def test_today_counts_only_todays_intake_and_resolutions():
    _ticket(status=Status.NEW)  # today
    _ticket(status=Status.NEW, created_days_ago=1)
    _ticket(status=Status.RESOLVED, created_days_ago=2, resolved_at=timezone.now())
    _ticket(status=Status.RESOLVED, created_days_ago=2, resolved_at=_midnight(0) - timedelta(minutes=1))

    figures, _ = _run()

    assert figures["today"] == {"intake": 1, "resolved": 1}


@pytest.mark.django_db
def test_charts_give_volume_by_type_first_response_hours_and_breaches_per_day():
    for hours in (1, 3):
        t = _ticket(type=TicketType.EXCHANGE, created_days_ago=2)
        Ticket.objects.filter(pk=t.pk).update(first_response_at=t.created_at + timedelta(hours=hours))
    _ticket(type=TicketType.COMPLAINT, created_days_ago=2)  # no first response yet: not in the average
    _ticket(type="", created_days_ago=0)
    _ticket(type=TicketType.EXCHANGE, created_days_ago=20)  # outside the 14 days
    breached = _ticket(created_days_ago=5)
    _breach_event(breached, 1)
    _breach_event(breached, 1)
    _breach_event(breached, 30)
    TicketEvent.objects.create(ticket=breached, action="sla_warning")

    chart = _run()[0]["chart"]

    assert len(chart["days"]) == 14 and chart["days"][-1] == timezone.localdate().isoformat()
    assert chart["volume"] == {
        "Complaint": [0] * 11 + [1, 0, 0],
        "Exchange": [0] * 11 + [2, 0, 0],
        "Unclassified": [0] * 8 + [1, 0, 0, 0, 0, 1],  # the breached ticket, 5 days ago, and today's
    }
    assert chart["first_response_hours"][11] == 2.0
    assert chart["first_response_hours"][12] is None
    assert chart["breaches"] == [0] * 12 + [2, 0]


# Cache ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_charts_are_cached_but_live_figures_are_not():
    _ticket(status=Status.NEW, type=TicketType.REPAIR)
    first, cold = _run()

    _ticket(status=Status.NEW, type=TicketType.REPAIR)
    second, warm = _run()

    assert warm < cold  # the chart queries were not run again
    assert second["open_total"] == 2 and second["today"]["intake"] == 2  # live
    assert second["chart"] == first["chart"]  # at most CHART_CACHE_SECONDS old
    assert second["chart_updated_at"] == first["chart_updated_at"]

    cache.clear()
    third, _ = _run()
    assert third["chart"]["volume"]["Repair"][-1] == 2


@pytest.mark.django_db
def test_open_figures_are_shared_for_one_state_of_the_desk(settings):
    """With the shared counts on (production), the pass over open tickets is taken once per desk state for
    every supervisor; a change anywhere on the desk (a timeline event) moves the stamp and it is taken again."""
    from tickets.live import desk_stamp

    def figures_and_passes():
        with CaptureQueriesContext(connection) as ctx:
            figures = dashboard_figures(stamp=desk_stamp())
        return figures, sum("FILTER (WHERE" in query["sql"] for query in ctx.captured_queries)

    settings.QUEUE_COUNTS_SECONDS = 3600
    ticket = _ticket(status=Status.NEW, sla_state=SLAState.BREACHED)
    first, passes = figures_and_passes()
    assert passes == 1 and first["breached_total"] == 1
    _ticket(status=Status.NEW, sla_state=SLAState.BREACHED)  # made without an event: the stamp stays
    second, passes = figures_and_passes()
    assert passes == 0 and second["breached_total"] == 1

    TicketEvent.objects.create(ticket=ticket, action="sla_breached")  # what every change of a ticket writes
    third, passes = figures_and_passes()
    assert passes == 1 and third["breached_total"] == third["open_total"] == 2


@pytest.mark.django_db
def test_cached_charts_are_translated_per_request():
    from django.utils import translation

    _ticket(type=TicketType.REPAIR)
    assert "Repair" in _run()[0]["chart"]["volume"]
    with translation.override("zh-hans"):
        volume = _run()[0]["chart"]["volume"]
    assert "Repair" not in volume and len(volume) == 1


@pytest.mark.django_db
def test_a_cache_outage_does_not_take_the_dashboard_down(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(dashboard.cache, "get", down)
    monkeypatch.setattr(dashboard.cache, "set", down)
    _ticket(type=TicketType.REPAIR)

    figures, _ = _run()

    assert figures["chart"]["volume"]["Repair"][-1] == 1


# Query counts --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_query_count_does_not_grow_with_tickets(agent):
    def add(n):
        for i in range(n):
            t = _ticket(status=Status.IN_PROGRESS, assignee=agent, sla_state=SLAState.BREACHED,
                        risk_level=RiskLevel.HIGH, escalation_level=1, created_days_ago=i % 14,
                        type=TicketType.values[i % len(TicketType.values)], resolved_at=timezone.now())
            _breach_event(t, i % 14)

    add(3)
    _, few = _run()
    add(30)
    cache.clear()
    _, many = _run()
    _, cached = _run()

    assert few == many, f"{few} queries for 3 tickets, {many} for 33"
    # open figures, intake, resolved, three lists + volume/first response, breaches
    assert many == 8, many
    assert cached == 6, cached


@pytest.mark.django_db
def test_dashboard_page_shows_totals_and_when_the_charts_were_computed(agent, supervisor, client, monkeypatch):
    monkeypatch.setattr(dashboard, "LIST_LIMIT", 1)
    for _ in range(3):
        _ticket(status=Status.IN_PROGRESS, assignee=agent, sla_state=SLAState.BREACHED)
    client.force_login(supervisor)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    stamp = timezone.localtime(response.context["figures"]["chart_updated_at"]).strftime("%H:%M")
    assert f"Charts updated at {stamp}" in response.text
    # The total links to the complete list (the queue filtered to breached); the card says what it shows.
    assert 'id="breached-total" href="/?queue=open&amp;sla_state=breached&amp;ordering=-sla_due_at"' in response.text
    assert re.search(r'id="breached-total"[^>]*>3</a>', response.text)
    assert "1 of 3 shown: most escalated first, then oldest first." in response.text


def test_dashboard_rows_link_their_ticket_and_reassign_from_one_list_of_workers(agent, senior, supervisor, client):
    breached = _ticket(status=Status.IN_PROGRESS, assignee=agent, sla_state=SLAState.BREACHED, escalation_level=2)
    at_risk = _ticket(status=Status.IN_PROGRESS, assignee=None, sla_state=SLAState.WARNING)
    client.force_login(supervisor)

    page = client.get("/dashboard/").text

    # Each row links its ticket and posts its reassignment to that ticket, then comes back here.
    for ticket in (breached, at_risk):
        assert f'<a href="/tickets/{ticket.pk}/">{ticket.number}</a>' in page
        assert f'action="/tickets/{ticket.pk}/assign/"' in page
    assert page.count('<input type="hidden" name="next" value="/dashboard/">') == page.count('name="assignee"') == 3
    # The workers are listed once (static/js/dashboard.js copies them into each row's select), by name.
    assert page.count(f'<option value="{senior.pk}">') == 1
    assert page.count('data-options="worker-options"') == 3  # breached, at risk, escalated (the same ticket)
    options = re.search(r'<template id="worker-options">(.*?)</template>', page, re.S).group(1)
    assert f'<option value="{agent.pk}">{agent.get_full_name() or agent.username}' in options
    assert f'<option value="{supervisor.pk}">' in options
    assert '<span class="esc" title="Escalation level">↑2</span>' in page


# PostgreSQL plans -----------------------------------------------------------------------------------------

EXPECTED_INDEXES = {
    # a fragment that only one of the dashboard's queries has -> the index its plan must name (the lists order
    # by their columns' places in the SELECT: each is told apart by its filter)
    'COUNT("tickets_ticket"."status") AS "n"': "ticket_open_dash_idx",
    '"tickets_ticket"."resolved_at" >=': "ticket_resolved_idx",
    """"sla_state" = 'warning') ORDER BY CASE""": "ticket_open_warning_due_idx",
    """"sla_state" = 'breached') ORDER BY""": "ticket_open_breached_idx",
    """"risk_level" = 'high')) ORDER BY""": "ticket_open_escalated_idx",
    'FROM "tickets_ticketevent"': "event_sla_breached_idx",
}


@pytest.mark.postgres
@pytest.mark.django_db
def test_each_live_query_and_the_breach_chart_use_their_partial_index(agent):
    # The dashboard's shape: open tickets at risk, breached, escalated; most of the table closed.
    for i in range(5):
        t = _ticket(status=Status.IN_PROGRESS, assignee=agent, sla_state=SLAState.BREACHED,
                    risk_level=RiskLevel.HIGH, escalation_level=1)
        _breach_event(t, i)
        _ticket(status=Status.NEW, sla_state=SLAState.WARNING, sla_next_check_at=timezone.now())
    for _ in range(30):
        _ticket(status=Status.CLOSED, sla_state=SLAState.BREACHED, resolved_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket, tickets_ticketevent")  # plans from stats, not from guesses
    cache.clear()  # every query run here, none answered from what an earlier test shared (charts, open figures)
    with CaptureQueriesContext(connection) as ctx:
        _evaluate(dashboard_figures())
    sqls = [q["sql"] for q in ctx.captured_queries]

    found = {}
    with connection.cursor() as cursor:
        # On a table this small the planner would rightly scan it; priced out, a usable index must show.
        cursor.execute("SET enable_seqscan = off")
        try:
            for fragment, index in EXPECTED_INDEXES.items():
                [sql] = [s for s in sqls if fragment in s]
                cursor.execute("EXPLAIN " + sql)
                found[index] = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")

    for index, plan in found.items():
        # With a handful of rows the planner may prefer another index on the same column (sla_state);
        # what must never happen is reading every ticket. bench/plans/dashboard.txt shows the partial
        # indexes chosen at one million tickets.
        assert index in plan or ("Index" in plan and "Seq Scan on tickets_ticket" not in plan), plan
