"""Incidents: detection from shared product and category, one agreed reply, bulk actions, proactive contact.

Proactive contact reaches only the incident's own scope (its product's orders placed or shipped in its
affected range, less exclusions), and every customer gets the agreed reply once per incident whatever
clicks twice, runs at once or retries. A resolved incident is read-only.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.threads import run_together
from tickets import services
from tickets.events import EventAction
from tickets.incidents import services as incident_services
from tickets.incidents.detect import incident_detect
from tickets.incidents.services import (
    incident_confirm,
    incident_open_proactive,
    incident_preview,
    incident_reply_all,
    incident_resolve_all,
    incident_set_scope,
    incident_unreached_orders,
    incident_update_exclusions,
    incidents_of_ticket,
)
from tickets.models import Incident, IncidentContact, Message, Ticket, TicketEvent
from tickets.workflow import ticket_transition

pytestmark = pytest.mark.django_db

AGREED = "{customer_name}您好，该批次拉链有问题，我们为您免费换新。"


@pytest.fixture
def jacket():
    return ProductFactory(sku="YRF-8821-BK-M", name="羽绒服 黑色 M")


def complaint(agent, product, *, category="product_quality", start=True, customer=None):
    order = OrderFactory(customer=customer or CustomerFactory())
    item = OrderItemFactory(order=order, product=product)
    ticket = services.ticket_create(
        actor=agent,
        channel="chat",
        description="拉链坏了",
        order=order,
        affected_items=[item],
        type="return_refund",
        category=category,
    )
    if start:
        ticket = ticket_transition(ticket=ticket, action="triage", actor=agent)
        ticket = ticket_transition(ticket=ticket, action="start", actor=agent)
    return ticket


def bought(product, *, hours_ago: float = 2, customer=None, **order_fields) -> Order:
    """An order of `product`, placed `hours_ago` (detection's window is the last 24 hours)."""
    order = OrderFactory(
        customer=customer or CustomerFactory(), placed_at=timezone.now() - timedelta(hours=hours_ago), **order_fields
    )
    OrderItemFactory(order=order, product=product)
    return order


def confirmed_incident(product, supervisor, *, members: int = 5) -> tuple[Incident, list[Ticket]]:
    agent = make_user("agent", username=f"inc_agent_{product.pk}")
    tickets = [complaint(agent, product) for _ in range(members)]
    detected = next(found for found in incident_detect() if found.product_id == product.pk)
    incident = incident_confirm(incident=detected, actor=supervisor, agreed_reply=AGREED, plan="换新")
    return incident, tickets


def sent_counts(incident) -> tuple[int, int]:
    """(tickets in the incident, agreed replies sent on them)."""
    return (
        incident.tickets.count(),
        Message.objects.filter(ticket__incidents=incident, direction="outbound").count(),
    )


# Detection -----------------------------------------------------------------------------------------


def test_five_tickets_on_one_product_and_category_suggest_one_incident_and_detection_is_repeatable(jacket):
    agent = make_user("agent", username="inc_agent")
    tickets = [complaint(agent, jacket) for _ in range(5)]
    complaint(agent, jacket, category="logistics")  # another category: not a member
    complaint(agent, ProductFactory())  # another product: not a member

    found = incident_detect()
    again = incident_detect()

    assert len(found) == 1 and again == found
    incident = found[0]
    assert incident.status == Incident.Status.SUGGESTED
    assert set(incident.tickets.values_list("pk", flat=True)) == {t.pk for t in tickets}
    assert Incident.objects.count() == 1
    # Each member's timeline says, once, which incident it joined.
    joined = TicketEvent.objects.filter(action=EventAction.INCIDENT_JOINED)
    assert sorted(joined.values_list("ticket_id", flat=True)) == sorted(t.pk for t in tickets)
    assert {e.reason for e in joined} == {incident.title}


def test_four_tickets_are_not_yet_an_incident(jacket):
    agent = make_user("agent", username="inc_agent2")
    for _ in range(4):
        complaint(agent, jacket)
    assert incident_detect() == []


# The agreed reply and resolving -------------------------------------------------------------------


def test_the_agreed_reply_goes_to_every_member_and_resolving_reports_refusals(jacket):
    agent = make_user("agent", username="inc_agent3")
    supervisor = make_user("supervisor", username="inc_super")
    tickets = [complaint(agent, jacket) for _ in range(4)] + [complaint(agent, jacket, start=False)]
    incident = incident_detect()[0]
    with pytest.raises(ValidationError, match="agreed reply"):
        incident_reply_all(incident=incident, actor=supervisor)
    with pytest.raises(ValidationError, match="agreed reply"):
        incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")  # only from confirmed

    incident = incident_confirm(incident=incident, actor=supervisor, agreed_reply=AGREED, plan="换新")
    report = incident_reply_all(incident=incident, actor=supervisor)

    assert sorted(report.done) == sorted(t.pk for t in tickets)
    first = Message.objects.filter(ticket=tickets[0], direction="outbound").get()
    assert first.body.startswith(tickets[0].customer.name)
    event = TicketEvent.objects.get(ticket=tickets[0], action=EventAction.INCIDENT_REPLY_SENT)
    assert event.reason == incident.title and event.changes == {"incident": [None, incident.pk]}

    resolved = incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")
    assert len(resolved.done) == 4
    assert list(resolved.refused) == [tickets[-1].pk]  # still new: resolve refused, reported, nothing changed
    assert Ticket.objects.get(pk=tickets[-1].pk).status == "new"
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CONFIRMED and incident.resolved_by is None  # one member still open


def test_a_second_reply_click_sends_nothing_new_and_a_customer_with_two_tickets_gets_it_once(jacket):
    supervisor = make_user("supervisor", username="inc_super_twice")
    incident, tickets = confirmed_incident(jacket, supervisor)
    again = complaint(make_user("agent", username="inc_agent_twice"), jacket, customer=tickets[0].customer)
    incident.tickets.add(again)  # the same customer complained about a second order

    first = incident_reply_all(incident=incident, actor=supervisor)
    tickets_before = Ticket.objects.count()
    second = incident_reply_all(incident=incident, actor=supervisor)

    assert sorted(first.done) == sorted(t.pk for t in tickets)
    assert list(first.skipped) == [again.pk]
    assert second.done == [] and sorted(second.skipped) == sorted([*first.done, again.pk])
    assert sent_counts(incident) == (6, 5) and Ticket.objects.count() == tickets_before
    assert IncidentContact.objects.filter(incident=incident).count() == 5


# Who proactive contact reaches --------------------------------------------------------------------


def test_customers_who_have_not_contacted_us_get_a_proactive_ticket(jacket):
    supervisor = make_user("supervisor", username="inc_super4")
    incident, _ = confirmed_incident(jacket, supervisor)
    silent = bought(jacket, hours_ago=2)

    assert list(incident_unreached_orders(incident=incident)) == [silent]
    report = incident_open_proactive(incident=incident, actor=supervisor)

    ticket = Ticket.objects.get(pk=report.done[0])
    assert ticket.order == silent and ticket.incidents.filter(pk=incident.pk).exists()
    assert ticket.messages.filter(direction="outbound").get().body.startswith(silent.customer.name)
    opened = ticket.events.get(action=EventAction.INCIDENT_PROACTIVE_OPENED)
    assert opened.reason == incident.title and opened.changes == {"incident": [None, incident.pk]}
    assert list(incident_unreached_orders(incident=incident)) == []
    contact = IncidentContact.objects.get(incident=incident, customer=silent.customer)
    assert contact.ticket == ticket and contact.proactive and contact.replied_at is not None


def test_a_customer_who_ordered_outside_the_window_gets_no_proactive_ticket(jacket):
    supervisor = make_user("supervisor", username="inc_super_window")
    incident, _ = confirmed_incident(jacket, supervisor)
    inside = bought(jacket, hours_ago=2)
    bought(jacket, hours_ago=24 * 30)  # the old, good batch (the bug reached back 30 days)
    bought(jacket, hours_ago=-2)  # ordered after the window (the fixed batch)
    bought(jacket, hours_ago=3, status=Order.Status.CANCELLED)  # never reached the customer
    bought(ProductFactory(), hours_ago=2)  # another product

    report = incident_open_proactive(incident=incident, actor=supervisor)

    assert [Ticket.objects.get(pk=pk).order for pk in report.done] == [inside]


def test_the_range_can_match_shipped_time_and_be_widened_by_the_supervisor(jacket):
    supervisor = make_user("supervisor", username="inc_super_scope")
    incident, _ = confirmed_incident(jacket, supervisor)
    now = timezone.now()
    shipped_in_range = bought(jacket, hours_ago=24 * 5, shipped_at=now - timedelta(hours=3))
    placed_in_range_not_shipped = bought(jacket, hours_ago=3)
    placed_last_week = bought(jacket, hours_ago=24 * 6)

    incident_set_scope(incident=incident, actor=supervisor, affected_from=now - timedelta(days=1),
                       affected_to=now, affected_order_time=Incident.OrderTime.SHIPPED)
    assert list(incident_unreached_orders(incident=Incident.objects.get(pk=incident.pk))) == [shipped_in_range]

    incident = incident_set_scope(incident=incident, actor=supervisor, affected_from=now - timedelta(days=7),
                                  affected_to=now, affected_order_time=Incident.OrderTime.PLACED)
    assert set(incident_unreached_orders(incident=incident)) == {
        shipped_in_range, placed_in_range_not_shipped, placed_last_week
    }
    with pytest.raises(ValidationError, match="end before it starts"):
        incident_set_scope(incident=incident, actor=supervisor, affected_from=now, affected_to=now - timedelta(days=1),
                           affected_order_time="placed")


def test_confirming_freezes_the_range_so_later_detection_runs_do_not_widen_it(jacket):
    supervisor = make_user("supervisor", username="inc_super_freeze")
    incident, _ = confirmed_incident(jacket, supervisor)
    assert (incident.affected_from, incident.affected_to) == (incident.window_start, incident.window_end)

    incident_detect(now=timezone.now() + timedelta(hours=3))  # complaints keep coming: the window stretches
    incident.refresh_from_db()
    assert incident.window_end > incident.affected_to
    assert bought(jacket, hours_ago=-1) not in incident_unreached_orders(incident=incident)


def test_excluded_orders_never_get_a_proactive_ticket_and_can_be_included_again(jacket):
    supervisor = make_user("supervisor", username="inc_super_excl")
    incident, _ = confirmed_incident(jacket, supervisor)
    kept, excluded = bought(jacket), bought(jacket)

    incident_update_exclusions(incident=incident, actor=supervisor, exclude=[excluded.pk])
    report = incident_open_proactive(incident=incident, actor=supervisor)

    assert [Ticket.objects.get(pk=pk).order for pk in report.done] == [kept]
    assert not Ticket.objects.filter(order=excluded).exists()
    with pytest.raises(ValidationError, match="Choose orders"):  # not an affected order: nothing to exclude
        incident_update_exclusions(incident=incident, actor=supervisor, exclude=[bought(ProductFactory()).pk])

    incident_update_exclusions(incident=incident, actor=supervisor, include=[excluded.pk])
    assert list(incident_unreached_orders(incident=incident)) == [excluded]


def test_a_customer_with_two_affected_orders_gets_one_proactive_ticket(jacket):
    supervisor = make_user("supervisor", username="inc_super_two_orders")
    incident, _ = confirmed_incident(jacket, supervisor)
    customer = CustomerFactory()
    earlier, _later = bought(jacket, hours_ago=5, customer=customer), bought(jacket, hours_ago=1, customer=customer)

    report = incident_open_proactive(incident=incident, actor=supervisor)

    assert [Ticket.objects.get(pk=pk).order for pk in report.done] == [earlier]
    assert Message.objects.filter(ticket__customer=customer).count() == 1


# Once per customer: second click, retry, two supervisors ------------------------------------------


def test_a_second_proactive_click_or_a_retry_sends_nothing_new(jacket):
    supervisor = make_user("supervisor", username="inc_super_retry")
    incident, _ = confirmed_incident(jacket, supervisor)
    for _ in range(3):
        bought(jacket)

    first = incident_open_proactive(incident=incident, actor=supervisor, limit=2)  # a run cut short
    resumed = incident_open_proactive(incident=incident, actor=supervisor)  # the retry goes on
    after = sent_counts(incident), Ticket.objects.count(), Message.objects.count()
    again = incident_open_proactive(incident=incident, actor=supervisor)

    assert (len(first.done), len(resumed.done), again.done) == (2, 1, [])
    assert after == (sent_counts(incident), Ticket.objects.count(), Message.objects.count())
    assert after[0] == (8, 3)  # five members, three customers reached once each

    replies = incident_reply_all(incident=incident, actor=supervisor)  # then the members
    assert len(replies.done) == 5 and len(replies.skipped) == 3  # the proactive tickets already had it
    assert sent_counts(incident) == (8, 8) and Message.objects.count() == after[2] + 5


def test_the_unique_constraint_not_a_read_before_the_write_stops_a_second_send(jacket, monkeypatch):
    """A run whose list is stale (read before another run committed) still sends nothing twice."""
    supervisor = make_user("supervisor", username="inc_super_stale")
    incident, _ = confirmed_incident(jacket, supervisor)
    silent = bought(jacket)
    incident_open_proactive(incident=incident, actor=supervisor)
    before = Ticket.objects.count(), Message.objects.count()

    monkeypatch.setattr(incident_services, "incident_unreached_orders",
                        lambda *, incident: Order.objects.filter(pk=silent.pk).select_related("customer"))
    monkeypatch.setattr(incident_services, "_still_reachable", lambda incident, order: True)
    stale = incident_open_proactive(incident=incident, actor=supervisor)

    assert stale.done == [] and list(stale.skipped) == [silent.pk]
    assert (Ticket.objects.count(), Message.objects.count()) == before
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentContact.objects.create(incident=incident, customer=silent.customer)


# Preview ------------------------------------------------------------------------------------------


def test_the_preview_counts_affected_in_contact_excluded_and_to_contact(jacket):
    supervisor = make_user("supervisor", username="inc_super_preview")
    incident, tickets = confirmed_incident(jacket, supervisor)  # members' orders: 3 days ago, outside
    bought(jacket, customer=tickets[0].customer)  # a member's customer bought again inside: in contact
    bought(jacket), bought(jacket)  # two silent customers
    twice = CustomerFactory()
    bought(jacket, customer=twice), bought(jacket, customer=twice)  # one customer, two orders
    excluded = bought(jacket)
    bought(jacket, hours_ago=24 * 5)  # outside
    bought(jacket, status=Order.Status.CANCELLED)
    bought(ProductFactory())
    incident_update_exclusions(incident=incident, actor=supervisor, exclude=[excluded.pk])

    preview = incident_preview(incident=incident)

    assert (preview.orders, preview.customers) == (6, 5)
    assert (preview.in_contact_customers, preview.excluded_orders) == (1, 1)
    assert (preview.to_contact_customers, preview.to_contact_orders) == (3, 4)
    assert (preview.replied_customers, preview.proactive_tickets) == (0, 0)
    assert (preview.affected_from, preview.affected_to) == (incident.affected_from, incident.affected_to)

    report = incident_open_proactive(incident=incident, actor=supervisor)
    after = incident_preview(incident=incident)
    assert len(report.done) == preview.to_contact_customers
    assert (after.in_contact_customers, after.to_contact_customers, after.excluded_orders) == (4, 0, 1)
    assert (after.replied_customers, after.proactive_tickets) == (3, 3)


# Resolving ----------------------------------------------------------------------------------------


def test_resolving_records_who_and_when_writes_events_and_makes_the_incident_read_only(jacket):
    supervisor = make_user("supervisor", username="inc_super_resolve")
    incident, tickets = confirmed_incident(jacket, supervisor)
    silent = bought(jacket)

    report = incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")

    incident.refresh_from_db()
    assert sorted(report.done) == sorted(t.pk for t in tickets) and report.refused == {}
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_by == supervisor and incident.resolved_at is not None
    for ticket in tickets:
        assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
        assert ticket.events.filter(action=EventAction.INCIDENT_RESOLVED, reason=incident.title).count() == 1
    before = Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()
    refusals = [
        lambda: incident_confirm(incident=incident, actor=supervisor, agreed_reply="改口径"),
        lambda: incident_reply_all(incident=incident, actor=supervisor),
        lambda: incident_open_proactive(incident=incident, actor=supervisor),
        lambda: incident_resolve_all(incident=incident, actor=supervisor, reason="again"),
        lambda: incident_update_exclusions(incident=incident, actor=supervisor, exclude=[silent.pk]),
        lambda: incident_set_scope(incident=incident, actor=supervisor, affected_from=None, affected_to=None,
                                   affected_order_time="shipped"),
    ]
    for refused in refusals:
        with pytest.raises(ValidationError, match="resolved: it can no longer be changed"):
            refused()
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == before
    assert not incident.excluded_orders.exists()
    assert Incident.objects.get(pk=incident.pk).affected_order_time == "placed"


# The ticket page's incident badge -----------------------------------------------------------------


def test_a_ticket_knows_its_incidents_in_one_query_and_the_badge_links_for_supervisors_only(
    jacket, django_assert_num_queries
):
    supervisor = make_user("supervisor", username="inc_super_badge")
    incident, tickets = confirmed_incident(jacket, supervisor)

    with django_assert_num_queries(1):
        found = incidents_of_ticket(tickets[0])
    assert found == [incident]

    url = f"/incidents/{incident.pk}/"
    for_supervisor = render_to_string("tickets/partials/_incident_badge.html",
                                      {"ticket_incidents": found, "is_supervisor": True})
    for_agent = render_to_string("tickets/partials/_incident_badge.html",
                                 {"ticket_incidents": found, "is_supervisor": False})
    assert url in for_supervisor and incident.title in for_supervisor
    assert url not in for_agent and incident.title in for_agent
    assert render_to_string("tickets/partials/_incident_badge.html", {"ticket_incidents": []}).strip() == ""


# Browser and API ----------------------------------------------------------------------------------


def test_supervisors_work_incidents_in_the_browser_and_agents_are_refused(client, jacket):
    agent = make_user("agent", username="inc_agent5")
    supervisor = make_user("supervisor", username="inc_super5")
    tickets = [complaint(agent, jacket) for _ in range(5)]
    incident = incident_detect()[0]

    client.force_login(agent)
    assert client.get("/incidents/").status_code == 403
    assert client.post(f"/incidents/{incident.pk}/act/", {"action": "reply"}).status_code == 403

    client.force_login(supervisor)
    assert client.get("/incidents/").status_code == 200
    assert jacket.name in client.get(f"/incidents/{incident.pk}/").content.decode()
    client.post(f"/incidents/{incident.pk}/act/", {"action": "confirm", "agreed_reply": "您好，统一换新。", "plan": ""})
    response = client.post(f"/incidents/{incident.pk}/act/", {"action": "reply"}, follow=True)
    assert response.status_code == 200
    assert all(Message.objects.filter(ticket=t, direction="outbound").exists() for t in tickets)


@pytest.mark.parametrize("role, department", [("agent", None), ("senior_agent", None),
                                              ("department_staff", "warehouse")])
def test_everyone_but_supervisors_is_refused_on_incident_pages_and_api(client, jacket, role, department):
    supervisor = make_user("supervisor", username=f"inc_super_403_{role}")
    incident, _ = confirmed_incident(jacket, supervisor)
    order = bought(jacket)
    user = make_user(role, username=f"inc_refused_{role}", department=department)
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user=user)
    before = Ticket.objects.count(), Message.objects.count()

    assert client.get("/incidents/").status_code == 403
    assert client.get(f"/incidents/{incident.pk}/").status_code == 403
    for data in ({"action": "reply"}, {"action": "proactive"}, {"action": "resolve"},
                 {"action": "exclude", "orders": [order.pk]},
                 {"action": "scope", "affected_from": "2020-01-01T00:00", "affected_to": "2030-01-01T00:00",
                  "affected_order_time": "placed"}):
        assert client.post(f"/incidents/{incident.pk}/act/", data).status_code == 403, data
    assert api.get("/api/v1/incidents/").status_code == 403
    assert api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 403
    assert api.get(f"/api/v1/incidents/{incident.pk}/preview/").status_code == 403
    assert api.patch(f"/api/v1/incidents/{incident.pk}/", {"affected_order_time": "shipped"},
                     format="json").status_code == 403
    assert api.post(f"/api/v1/incidents/{incident.pk}/exclusions/", {"exclude": [order.pk]},
                    format="json").status_code == 403
    assert api.post(f"/api/v1/incidents/{incident.pk}/act/", {"action": "proactive"},
                    format="json").status_code == 403

    incident.refresh_from_db()
    assert (Ticket.objects.count(), Message.objects.count()) == before
    assert incident.affected_order_time == "placed" and not incident.excluded_orders.exists()


def test_the_incident_page_shows_the_preview_and_edits_range_and_exclusions(client, jacket):
    supervisor = make_user("supervisor", username="inc_super_page")
    incident, _ = confirmed_incident(jacket, supervisor)
    recent, old = bought(jacket), bought(jacket, hours_ago=24 * 4)
    client.force_login(supervisor)

    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert recent.external_number in page and old.external_number not in page
    assert 'id="preview-to-contact">1<' in page

    local = timezone.localtime(timezone.now())
    client.post(f"/incidents/{incident.pk}/act/", {
        "action": "scope", "affected_order_time": "placed",
        "affected_from": (local - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "affected_to": local.strftime("%Y-%m-%dT%H:%M"),
    })
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert old.external_number in page and 'id="preview-to-contact">2<' in page

    client.post(f"/incidents/{incident.pk}/act/", {"action": "exclude", "orders": [old.pk]})
    assert 'id="preview-excluded">1<' in client.get(f"/incidents/{incident.pk}/").content.decode()
    client.post(f"/incidents/{incident.pk}/act/", {"action": "proactive"})
    client.post(f"/incidents/{incident.pk}/act/", {"action": "proactive"})  # a second click
    assert Ticket.objects.filter(order=recent).count() == 1 and not Ticket.objects.filter(order=old).exists()

    client.post(f"/incidents/{incident.pk}/act/", {"action": "include", "orders": [old.pk]})
    assert list(incident.excluded_orders.all()) == []


def test_a_resolved_incident_refuses_in_the_browser_with_a_message_and_in_the_api_with_400(client, jacket):
    supervisor = make_user("supervisor", username="inc_super_closed")
    incident, _ = confirmed_incident(jacket, supervisor)
    order = bought(jacket)
    incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")
    before = Ticket.objects.count(), Message.objects.count()
    client.force_login(supervisor)
    api = APIClient()
    api.force_authenticate(user=supervisor)

    page = client.post(f"/incidents/{incident.pk}/act/", {"action": "proactive"}, follow=True).content.decode()
    assert "it can no longer be changed" in page
    assert 'name="action" value="confirm"' not in page  # the page no longer offers the forms
    for response in (
        api.post(f"/api/v1/incidents/{incident.pk}/act/", {"action": "reply"}, format="json"),
        api.post(f"/api/v1/incidents/{incident.pk}/act/", {"action": "confirm", "agreed_reply": "x"}, format="json"),
        api.patch(f"/api/v1/incidents/{incident.pk}/", {"affected_order_time": "shipped"}, format="json"),
        api.post(f"/api/v1/incidents/{incident.pk}/exclusions/", {"exclude": [order.pk]}, format="json"),
    ):
        assert response.status_code == 400 and "status" in response.json()["errors"], response.json()
    assert (Ticket.objects.count(), Message.objects.count()) == before


def test_supervisors_scope_preview_exclude_and_contact_through_the_api(jacket):
    supervisor = make_user("supervisor", username="inc_super_api")
    incident, _ = confirmed_incident(jacket, supervisor)
    recent, old = bought(jacket), bought(jacket, hours_ago=24 * 4)
    api = APIClient()
    api.force_authenticate(user=supervisor)
    url = f"/api/v1/incidents/{incident.pk}/"

    assert api.get(f"{url}preview/").json()["to_contact_customers"] == 1
    widened = api.patch(url, {"affected_from": (timezone.now() - timedelta(days=5)).isoformat()}, format="json")
    assert widened.status_code == 200, widened.json()
    assert widened.json()["affected_order_time"] == "placed"  # left out: kept
    assert api.get(f"{url}preview/").json()["to_contact_customers"] == 2
    bad = api.patch(url, {"affected_to": (timezone.now() - timedelta(days=30)).isoformat()}, format="json")
    assert bad.status_code == 400 and "affected_to" in bad.json()["errors"]

    excluded = api.post(f"{url}exclusions/", {"exclude": [old.pk]}, format="json")
    assert excluded.status_code == 200 and excluded.json()["excluded_orders"] == [old.pk]
    first = api.post(f"{url}act/", {"action": "proactive"}, format="json").json()
    second = api.post(f"{url}act/", {"action": "proactive"}, format="json").json()

    assert [Ticket.objects.get(pk=pk).order for pk in first["done"]] == [recent]
    assert second == {"done": [], "refused": {}, "skipped": {}}
    assert Ticket.objects.filter(order__in=[recent, old]).count() == 1


# PostgreSQL: real row locks and a real unique index -----------------------------------------------

ROUNDS = 5


def _fresh_incident(round_: int, supervisor) -> tuple[Incident, list[Order]]:
    product = ProductFactory(sku=f"PG-RACE-{round_}-{timezone.now().timestamp()}")
    incident, _ = confirmed_incident(product, supervisor, members=5)
    return incident, [bought(product) for _ in range(3)]


@pytest.mark.parametrize("run", ["proactive", "reply"])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_supervisors_at_once_reach_each_customer_once_on_postgres(settings, run):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    first, second = make_user("supervisor", username="pg_inc_sup1"), make_user("supervisor", username="pg_inc_sup2")
    service = incident_open_proactive if run == "proactive" else incident_reply_all

    for round_ in range(ROUNDS):
        incident, silent = _fresh_incident(round_, first)
        results = run_together(
            lambda incident=incident: service(incident=incident, actor=first),
            lambda incident=incident: service(incident=incident, actor=second),
        )

        assert not [r for r in results if isinstance(r, Exception)], (round_, results)
        done = [pk for report in results for pk in report.done]
        expected = 3 if run == "proactive" else 5
        assert len(done) == len(set(done)) == expected, (round_, results)
        customers = 8 if run == "proactive" else 5
        assert sent_counts(incident) == (customers, expected), round_
        assert IncidentContact.objects.filter(incident=incident).count() == expected, round_
        if run == "proactive":
            assert Ticket.objects.filter(order__in=silent).count() == 3, round_


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_resolving_locks_the_incident_so_nothing_is_sent_after_it_is_resolved_on_postgres(settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    supervisor, other = make_user("supervisor", username="pg_inc_res1"), make_user("supervisor", username="pg_inc_res2")

    for round_ in range(ROUNDS):
        incident, _ = _fresh_incident(round_, supervisor)
        results = run_together(
            lambda incident=incident: incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新"),
            lambda incident=incident: incident_open_proactive(incident=incident, actor=other),
        )

        incident.refresh_from_db()
        if incident.status == Incident.Status.RESOLVED:
            # resolved first: the proactive run found it resolved and sent nothing after
            assert isinstance(results[1], ValidationError), (round_, results)
            assert not Message.objects.filter(ticket__incidents=incident, created_at__gt=incident.resolved_at).exists()
        else:
            # the proactive tickets came first: they are new, so the incident cannot be resolved yet
            assert results[0].refused and len(results[1].done) == 3, (round_, results)

    with CaptureQueriesContext(connection) as queries:
        incident, _ = _fresh_incident(ROUNDS, supervisor)
        incident_resolve_all(incident=incident, actor=supervisor, reason="统一换新")
    locks = [q["sql"] for q in queries if 'FROM "tickets_incident"' in q["sql"] and "FOR UPDATE" in q["sql"]]
    assert locks, "resolving must lock the incident row"
