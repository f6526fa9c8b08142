"""Every page a person uses, at a 390 px phone and a 1440 px desk, in zh-Hans: nothing wider than the
window (no sideways scroll), nothing spilling out of its card (a wide table scrolls inside it) and, on
the phone, every control at least 40 px tall to tap. Agent, supervisor and warehouse each walk their own
pages. Screenshots: artifacts/e2e/widths/<width>/<role>-<page>.png."""

from decimal import Decimal
from pathlib import Path

import pytest

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets import services, subtasks
from tickets.models import Delivery, Department, Notification, Subtask
from tickets.workflow import ticket_transition

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "widths"
PASSWORD = "e2e-widths-2026"
PHONE, DESK = 390, 1440
TAP = 40

# Controls a finger presses: buttons, fields, tabs and the header's links (links inside sentences are text).
TARGETS = ", ".join([
    "main button", "main select", "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])",
    "main .tab", "header.topbar a", "header.topbar button", "header.topbar select",
])
SMALL_TARGETS = f"""() => [...document.querySelectorAll('{TARGETS}')]
  .filter(e => {{ const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.height < {TAP}; }})
  .map(e => (e.id || e.name || e.className || e.tagName) + ' ' + Math.round(e.getBoundingClientRect().height))"""


# Cards whose content is wider than they are (it spills over the card's edge or under its neighbour).
SPILLING_CARDS = """() => [...document.querySelectorAll('main .card')]
  .filter(c => c.getBoundingClientRect().width > 0 && c.scrollWidth > c.clientWidth + 1)
  .map(c => (c.id || (c.querySelector('h1, h2') || c).textContent.trim().slice(0, 30))
            + ' ' + c.scrollWidth + '>' + c.clientWidth)"""


def _seed():
    agent = make_user("agent", username="xiaowu")
    supervisor = make_user("supervisor", username="zhuguan")
    warehouse = make_user("department_staff", username="cangku", department="warehouse")
    for user in (agent, supervisor, warehouse):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    speaks("zh-hans", agent, supervisor, warehouse)
    order = OrderFactory(customer=CustomerFactory(name="周先生"), paid_amount=Decimal("239.00"))
    # a real catalogue's long name and SKU (the demo's tablet spilled out of the order card at a desk's width)
    OrderItemFactory(order=order, product=ProductFactory(name="智能恒温电水壶 1.7L 304不锈钢 双层防烫 官方标配",
                                                         sku="KT-17L-304-WHT"), unit_price=Decimal("239.00"),
                     paid_amount=Decimal("239.00"))
    ticket = services.ticket_create(actor=agent, channel="phone", description="收到的电水壶底座有裂纹，要求换新",
                                    order=order, affected_items=list(order.items.all()), type="exchange",
                                    category="product_quality")
    ticket = ticket_transition(ticket=services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant"),
                               action="triage", actor=agent)
    ticket = ticket_transition(ticket=ticket, action="start", actor=agent)
    services.message_add(ticket=ticket, actor=None, direction="inbound", body="底座裂了一条缝，照片已发")
    subtask = subtasks.subtask_create(ticket=ticket, actor=agent, department=Department.objects.get(code="warehouse"),
                                      kind=Subtask.Kind.INSPECT_RETURN, description="验货：底座裂纹")
    Notification.objects.create(recipient=agent, kind="sla_warning", ticket=ticket, data={}, dedupe_key="widths")
    answer = services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好，已安排换新")
    Delivery.objects.create(message=answer, channel="email", state="dead", recipient="zhou@example.com",
                            last_error="550 5.1.1 mailbox unavailable")
    return {"agent": agent, "supervisor": supervisor, "warehouse": warehouse}, ticket, subtask


def log_in(page, base, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def role_pages(ticket, subtask) -> dict[str, dict[str, str]]:
    """The pages each role works, by name."""
    return {
        "agent": {"queue": "/", "ticket": f"/tickets/{ticket.pk}/", "new": "/tickets/new/",
                  "notifications": "/notifications/", "kb": "/kb/", "macros": "/macros/"},
        "supervisor": {"dashboard": "/dashboard/", "queue": "/?queue=open", "ticket": f"/tickets/{ticket.pk}/",
                       "reports": "/reports/", "incidents": "/incidents/", "approvals": "/approvals/",
                       "price-differences": "/price-differences/", "watch": "/watch/",
                       "undelivered": "/undelivered/"},
        "warehouse": {"inbox": "/inbox/", "subtask": f"/subtasks/{subtask.pk}/",
                      "notifications": "/notifications/"},
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [PHONE, DESK])
def test_every_page_fits_the_window_and_has_tappable_controls(browser_db, live_server, browser, width):
    people, ticket, subtask = _seed()
    base = live_server.url
    folder = SHOTS / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    too_wide, too_small, spilling = {}, {}, {}
    for role, paths in role_pages(ticket, subtask).items():
        context = browser.new_context(viewport={"width": width, "height": 844 if width == PHONE else 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base, people[role])
        for name, path in paths.items():
            response = page.goto(f"{base}{path}")
            assert response.status == 200, (role, path, response.status)
            page.screenshot(path=str(folder / f"{role}-{name}.png"), full_page=True)
            page.screenshot(path=str(folder / f"{role}-{name}-top.png"))  # what the first screen shows
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                too_wide[f"{role} {path}"] = scroll_width
            if cards := page.evaluate(SPILLING_CARDS):
                spilling[f"{role} {path}"] = cards
            if width == PHONE:
                small = page.evaluate(SMALL_TARGETS)
                if small:
                    too_small[f"{role} {path}"] = small[:6]
        context.close()

    assert not too_wide, f"wider than {width} px: {too_wide}"
    assert not spilling, f"content wider than its card: {spilling}"
    assert not too_small, f"controls under {TAP} px tall: {too_small}"
