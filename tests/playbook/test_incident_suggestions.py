"""Supervisors hear of suggested incidents (a notification once per suggestion, a badge on the incidents
link), open an incident by hand from tickets chosen on the queue, and the trend rule suggests products
whose fault tickets rise week on week."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tickets import services
from tickets.events import EventAction
from tickets.incidents.detect import incident_detect, incident_detect_trends
from tickets.incidents.services import incident_add_tickets, incident_open_from_tickets
from tickets.models import Incident, Notification, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def jacket():
    return ProductFactory(sku="YRF-8821-BK-M", name="羽绒服 黑色 M")


@pytest.fixture
def agent():
    return make_user("agent", username="sugg_agent")


def complaint(agent, product, *, category="product_quality", days_ago: float = 0):
    order = OrderFactory(customer=CustomerFactory())
    item = OrderItemFactory(order=order, product=product)
    ticket = services.ticket_create(actor=agent, channel="chat", description="拉链坏了", order=order,
                                    affected_items=[item], type="return_refund", category=category)
    if days_ago:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        ticket.refresh_from_db()
    return ticket


# Told once per suggestion ---------------------------------------------------------------------------


def test_every_supervisor_is_told_once_per_suggestion_not_again_when_it_is_extended(jacket, agent):
    supervisors = [make_user("supervisor", username=f"sugg_super{i}") for i in range(2)]
    for _ in range(7):
        complaint(agent, jacket)

    incident = incident_detect()[0]
    complaint(agent, jacket)
    assert incident_detect()[0] == incident  # the next run extends the same suggestion

    notices = Notification.objects.filter(kind=Notification.Kind.INCIDENT_SUGGESTED)
    assert sorted(notices.values_list("recipient_id", flat=True)) == sorted(s.pk for s in supervisors)
    assert not notices.filter(recipient=agent).exists()
    notice = notices.first()
    assert notice.data["incident"] == incident.pk
    with override("zh-hans"):
        assert notice.text == "疑似批量问题：YRF-8821-BK-M 羽绒服 黑色 M 24 小时内 7 张商品质量工单"
    with override("en"):
        assert "7 Product quality tickets within 24 hours" in notice.text


def test_the_notice_opens_the_incident_and_the_badge_counts_suggested_incidents(client, jacket, agent):
    supervisor = make_user("supervisor", username="sugg_badge")
    for _ in range(5):
        complaint(agent, jacket)
    incident = incident_detect()[0]
    confirmed = Incident.objects.create(title="已确认", cause="other", status="confirmed",
                                        window_start=timezone.now(), window_end=timezone.now())
    assert confirmed.status == "confirmed"

    client.force_login(supervisor)
    page = client.get("/incidents/").content.decode()
    assert 'id="suggested-incidents"' in page and ">1</span>" in page.split('id="suggested-incidents"')[1][:120]
    notice = Notification.objects.get(recipient=supervisor)
    response = client.post(f"/notifications/{notice.pk}/open/")
    assert response.status_code == 302 and response.url == f"/incidents/{incident.pk}/"

    client.force_login(agent)
    assert 'id="suggested-incidents"' not in client.get("/").content.decode()


def test_the_badge_is_read_in_the_header_query_no_extra_one(client, jacket, agent, django_assert_max_num_queries):
    supervisor = make_user("supervisor", username="sugg_badge_q")
    client.force_login(supervisor)
    client.get("/incidents/")
    with django_assert_max_num_queries(6):  # the pinned count of the page (tests/test_list_page_queries.py)
        client.get("/incidents/")


# Opened by hand ---------------------------------------------------------------------------------------


def test_a_supervisor_opens_an_incident_from_chosen_tickets_and_each_timeline_says_so(jacket, agent):
    supervisor = make_user("supervisor", username="sugg_hand")
    tickets = [complaint(agent, jacket) for _ in range(3)]

    incident, report = incident_open_from_tickets(ticket_ids=[t.pk for t in tickets], actor=supervisor)

    assert incident.origin == Incident.Origin.MANUAL and incident.status == Incident.Status.SUGGESTED
    assert incident.product == jacket and incident.category == "product_quality"
    assert incident.title == "YRF-8821-BK-M 羽绒服 黑色 M"
    assert set(incident.tickets.values_list("pk", flat=True)) == {t.pk for t in tickets}
    assert sorted(report.done) == sorted(t.pk for t in tickets) and not report.refused
    joined = TicketEvent.objects.filter(action=EventAction.INCIDENT_JOINED, ticket__in=tickets)
    assert joined.count() == 3 and all(e.actor == supervisor for e in joined)


def test_tickets_in_another_incident_are_reported_and_left_alone(jacket, agent):
    supervisor = make_user("supervisor", username="sugg_hand2")
    other = ProductFactory(sku="MUG-1", name="马克杯")
    first = [complaint(agent, other) for _ in range(2)]
    earlier, _report = incident_open_from_tickets(ticket_ids=[t.pk for t in first], actor=supervisor)
    fresh = [complaint(agent, jacket) for _ in range(2)]

    incident, report = incident_open_from_tickets(ticket_ids=[first[0].pk, *(t.pk for t in fresh)],
                                                  actor=supervisor)

    assert list(report.refused) == [first[0].pk] and earlier.title in report.refused[first[0].pk]
    assert set(incident.tickets.values_list("pk", flat=True)) == {t.pk for t in fresh}
    assert list(first[0].incidents.all()) == [earlier]

    added = complaint(agent, jacket)
    report = incident_add_tickets(incident=incident, ticket_ids=[added.pk, fresh[0].pk, first[1].pk],
                                  actor=supervisor)
    assert report.done == [added.pk] and list(report.skipped) == [fresh[0].pk]
    assert list(report.refused) == [first[1].pk]
    assert TicketEvent.objects.filter(ticket=added, action=EventAction.INCIDENT_JOINED).count() == 1


def test_the_queue_bulk_form_opens_an_incident_and_refuses_everyone_but_supervisors(client, jacket, agent):
    supervisor = make_user("supervisor", username="sugg_bulk")
    tickets = [complaint(agent, jacket) for _ in range(3)]
    ids = ",".join(str(t.pk) for t in tickets)

    for role in ("agent", "senior_agent"):
        client.force_login(make_user(role))
        assert "incident_new" not in client.get("/?queue=all").content.decode()
        assert client.post("/tickets/bulk/", {"tickets": ids, "action": "incident_new"}).status_code == 403
    assert not Incident.objects.exists()

    client.force_login(supervisor)
    assert "incident_new" in client.get("/?queue=all").content.decode()
    response = client.post("/tickets/bulk/", {"tickets": ids, "action": "incident_new"})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == f"/incidents/{incident.pk}/"
    assert incident.tickets.count() == 3

    response = client.post(f"/incidents/{incident.pk}/act/", {"action": "edit", "title": "拉链批次问题",
                                                              "product": jacket.pk})
    assert Incident.objects.get().title == "拉链批次问题"

    # "Add to incident" needs an incident; nothing changes without one.
    more = complaint(agent, jacket)
    client.post("/tickets/bulk/", {"tickets": str(more.pk), "action": "incident_add"})
    assert incident.tickets.count() == 3
    client.post("/tickets/bulk/", {"tickets": str(more.pk), "action": "incident_add", "incident": incident.pk})
    assert incident.tickets.count() == 4


# The trend rule --------------------------------------------------------------------------------------

# (tickets in the earlier week, in the last week, an open suggestion already, suggested?)
TREND_CASES = {
    "flat": (6, 6, False, False),
    "rising": (2, 6, False, True),
    "rising from nothing": (0, 5, False, True),
    "rising but below the minimum": (1, 4, False, False),
    "already suggested": (2, 6, True, False),
}


@pytest.mark.parametrize("before, recent, open_already, suggested", TREND_CASES.values(), ids=TREND_CASES.keys())
def test_the_trend_rule(jacket, agent, before, recent, open_already, suggested):
    make_user("supervisor", username="sugg_trend")
    for i in range(before):
        complaint(agent, jacket, days_ago=8 + i * 0.5)
    for i in range(recent):
        complaint(agent, jacket, days_ago=1 + i * 0.8)  # spread over the week: no 24-hour burst
    complaint(agent, jacket, category="logistics", days_ago=2)  # not a fault ticket: never counted
    if open_already:
        Incident.objects.create(title="已建议", cause="product_defect", product=jacket, category="product_quality",
                                window_start=timezone.now(), window_end=timezone.now())

    found = incident_detect_trends()

    assert bool(found) == suggested
    assert Incident.objects.filter(origin="trend").count() == int(suggested)
    if suggested:
        incident = found[0]
        assert [p["count"] for p in incident.evidence["periods"]] == [before, recent]
        assert incident.tickets.count() == recent
        assert Notification.objects.filter(kind="incident_suggested", data__incident=incident.pk).count() == 1
        assert incident_detect_trends() == []  # the next run finds it open: no duplicate


def test_the_trend_rule_reads_every_product_in_one_grouped_query(jacket, agent, django_assert_num_queries):
    for product in (jacket, ProductFactory(), ProductFactory()):
        complaint(agent, product, days_ago=9)
        complaint(agent, product, days_ago=2)
    with django_assert_num_queries(1):
        assert incident_detect_trends() == []


def test_the_incident_page_says_why_a_trend_was_suggested(client, jacket, agent):
    supervisor = make_user("supervisor", username="sugg_why")
    for i in range(2):
        complaint(agent, jacket, days_ago=9 + i)
    for i in range(6):
        complaint(agent, jacket, days_ago=1 + i * 0.8)
    incident = incident_detect_trends()[0]
    client.force_login(supervisor)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    why = page.split('id="incident-why"')[1].split("</div>")[0]
    assert "<td>2</td>" in why and "<td>6</td>" in why
