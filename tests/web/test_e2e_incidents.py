"""In Chromium, in zh-Hans, as a supervisor: detection suggests an incident, the incidents link shows the
badge and the notification opens the incident, which says why it was suggested; then three tickets chosen
on the queue become an incident of their own. Screenshots go to artifacts/e2e/incidents/."""

import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets import services
from tickets.incidents.detect import incident_detect
from tickets.models import Incident

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "incidents"
PASSWORD = "e2e-incidents-2026"


def _complaint(agent, product, words):
    order = OrderFactory(customer=CustomerFactory())
    item = OrderItemFactory(order=order, product=product)
    return services.ticket_create(actor=agent, channel="chat", description=words, order=order,
                                  affected_items=[item], type="return_refund", category="product_quality")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_supervisor_hears_of_a_suggested_incident_and_opens_one_from_three_tickets(browser_db, live_server, page):
    supervisor = make_user("supervisor", username="zhuguan")
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    agent = make_user("agent", username="xiaozhang")
    jacket = ProductFactory(sku="YRF-8821-BK-M", name="羽绒服 黑色 M")
    kettle = ProductFactory(sku="KT-17-WH", name="电水壶 白色")
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(f"{base}/accounts/login/")
    with page.expect_navigation():
        page.select_option("#language-switch", "zh-hans")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".usernav .who")).to_contain_text(supervisor.username)
    expect(page.locator("#suggested-incidents")).to_have_count(0)

    # Seven complaints about the jacket within the day; detection (the beat task's work) runs.
    for _ in range(7):
        _complaint(agent, jacket, "拉链坏了")
    kettles = [_complaint(agent, kettle, "水壶漏水") for _ in range(3)]
    suggested = incident_detect()[0]
    with translation.override("zh-hans"):
        notice = gettext(
            "Suspected batch problem: %(product)s, %(count)d %(category)s tickets within %(hours)d hours"
        ) % {"product": suggested.title, "count": 7, "category": gettext("Product quality"), "hours": 24}
        opened = gettext("Incident opened with %(count)d tickets: check its title and product.") % {"count": 3}
        create_label = gettext("Open an incident from these")

    page.goto(f"{base}/")
    expect(page.locator("#suggested-incidents")).to_have_text("1")
    expect(page.locator("#unread-count")).to_have_text("1")
    shot("01-badge")

    # The bell: the notice says what was found; opening it lands on the incident, which says why.
    page.locator(".usernav .bell").click()
    expect(page.locator("main")).to_contain_text(notice)
    shot("02-notification")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(rf"/incidents/{suggested.pk}/$"))
    expect(page.locator("#incident-why")).to_contain_text("24")
    shot("03-suggested-incident")

    # The queue: three kettle tickets chosen, "open an incident from these".
    page.goto(f"{base}/?queue=all")
    for ticket in kettles:
        page.locator(f".pick[value='{ticket.pk}']").check()
    page.select_option("#id_action", label=create_label)
    shot("04-queue-chosen")
    page.locator(".bulk button[type=submit]").click()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    expect(page.locator("p.flash").first).to_contain_text(opened)
    incident = Incident.objects.get(origin=Incident.Origin.MANUAL)
    assert set(incident.tickets.values_list("pk", flat=True)) == {t.pk for t in kettles}
    assert incident.product == kettle
    expect(page.locator("h1")).to_contain_text("电水壶 白色")
    expect(page.locator("#incident-edit")).to_be_visible()
    shot("05-opened-by-hand")
