"""In Chromium, in zh-Hans, an expert agent works from the keyboard: ? shows the shortcuts' help (Escape closes
it), / jumps to the queue's search, j/k move the highlight and Enter opens the ticket, r goes to the reply box,
j goes on to the queue's next ticket; one click applies a macro (reply, tags, status, one event naming it);
a saved view shows as a tab with its count. Screenshots go to artifacts/e2e/expert/."""

import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets import services
from tickets.expert.models import Macro, SavedView
from tickets.models import Message, Priority, Status, Ticket
from tickets.workflow import ticket_transition

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "expert"
PASSWORD = "e2e-expert-2026"


def _in_progress(agent, name: str, priority: str | None = None) -> Ticket:
    ticket = services.ticket_create(actor=agent, channel="chat", description=f"{name}的电饭煲不加热",
                                    customer=CustomerFactory(name=name), type="return_refund",
                                    category="product_quality", owner=agent)
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    if priority:
        ticket = services.ticket_override(ticket=ticket, actor=agent, priority=priority, reason="大客户")
    return ticket


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_expert_agent_works_from_the_keyboard_applies_a_macro_and_saves_a_view(browser_db, live_server, page):
    agent = make_user("agent", username="xiaoli")
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    speaks("zh-hans", agent)
    tickets = [_in_progress(agent, name, priority) for name, priority in
               (("王芳", Priority.P1), ("李雷", None), ("韩梅梅", None))]
    macro = Macro.objects.create(name="请寄回检测", body="{customer_name}您好，工单{ticket_number}请寄回检测。",
                                 action="wait_customer", tags="寄回检测")
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with translation.override("zh-hans"):
        t = {text: gettext(text) for text in (
            "Keyboard shortcuts", "Macro applied", "View saved.", "Save this view", "Waiting on customer",
        )}
        applied = gettext("Macro applied: %(name)s") % {"name": macro.name}

    def shot(name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator(".usernav .who")).to_contain_text(agent.username)
    page.goto(f"{base}/?queue=mine")

    # ? shows the help, in Chinese; Escape closes it.
    help_box = page.locator("#shortcuts-help")
    expect(help_box).to_be_hidden()
    page.keyboard.press("?")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text(t["Keyboard shortcuts"])
    expect(page.locator("#shortcuts-help [data-close]")).to_be_focused()
    shot("01-help-overlay")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    # / goes to the search box; typing there fires no shortcut.
    page.keyboard.press("/")
    search = page.locator('#filters input[name="q"]')
    expect(search).to_be_focused()
    page.keyboard.type("jk?")
    expect(help_box).to_be_hidden()
    expect(search).to_have_value("jk?")
    shot("02-search-focused")
    search.fill("")
    page.evaluate("document.activeElement.blur()")

    # j, j, k: the highlight moves down twice and back; Enter opens the highlighted ticket.
    rows = page.locator("#ticket-table tbody tr")
    order = [rows.nth(i).locator("a").first.inner_text() for i in range(3)]
    for key in ("j", "j", "k"):
        page.keyboard.press(key)
    expect(page.locator("tr.kbd-current")).to_have_count(1)
    expect(page.locator("tr.kbd-current")).to_contain_text(order[0])
    page.keyboard.press("j")
    expect(page.locator("tr.kbd-current")).to_contain_text(order[1])
    shot("03-queue-highlight")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator("h1")).to_contain_text(order[1])

    # r: the reply box, set to a reply to the customer; j: the queue's next ticket.
    page.keyboard.press("r")
    expect(page.locator("#id_body")).to_be_focused()
    expect(page.locator("#id_direction")).to_have_value(Message.Direction.OUTBOUND)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("n")  # n: the same box, as an internal note
    expect(page.locator("#id_body")).to_be_focused()
    expect(page.locator("#id_direction")).to_have_value(Message.Direction.NOTE)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("s")  # s: the status moves
    expect(page.locator("#actions .action-form button").first).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    expect(page.locator("h1")).to_contain_text(order[2])

    # One click applies the macro: the reply with the customer's name, the status, the tag, one event.
    ticket = Ticket.objects.get(number=order[2])
    page.click(f"#macro-{macro.pk}")
    expect(page.locator("p.flash")).to_contain_text(applied)
    expect(page.locator("#ticket-status")).to_have_text(t["Waiting on customer"])
    expect(page.locator("#timeline")).to_contain_text(t["Macro applied"])
    expect(page.locator("#timeline")).to_contain_text(f"{ticket.customer.name}您好，工单{ticket.number}请寄回检测。")
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER
    assert list(ticket.tags.values_list("name", flat=True)) == ["寄回检测"]
    shot("04-macro-applied")

    # A saved view: my P1 tickets, a tab with its count.
    page.goto(f"{base}/?queue=mine&priority=P1")
    page.get_by_text(t["Save this view"]).click()
    page.fill('#save-view-form input[name="name"]', "我的加急")
    page.locator("#save-view-form button[type=submit]").click()
    expect(page.locator("p.flash")).to_contain_text(t["View saved."])
    view = SavedView.objects.get(owner=agent)
    assert view.query == "priority=P1&queue=mine"
    tab = page.locator(f'a.saved-view[data-view="{view.pk}"]')
    expect(tab).to_contain_text("我的加急")
    expect(tab.locator(".count")).to_have_text("1")
    expect(tab).to_have_class(re.compile(r"\bactive\b"))
    shot("05-saved-view")
    assert tickets[0].number in page.locator("#ticket-table").inner_text()

    # The macros an agent may apply, listed (supervisors manage them on the same page).
    page.goto(f"{base}/macros/")
    expect(page.locator(f"#macro-row-{macro.pk}")).to_contain_text(macro.name)
    expect(page.locator("#macro-form")).to_have_count(0)
    shot("06-macro-list")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_supervisor_adds_a_macro_with_a_subtask(browser_db, live_server, page):
    supervisor = make_user("supervisor", username="zhuguan")
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    speaks("zh-hans", supervisor)
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with translation.override("zh-hans"):
        saved = gettext("Macro saved.")
        half = gettext("A subtask needs a department, a kind and what is needed.")

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.goto(f"{base}/macros/")
    page.fill("#id_name", "补寄配件")
    page.fill("#id_body", "{customer_name}您好，缺少的配件今天补寄。")
    page.select_option("#id_subtask_kind", "reship")
    page.locator("#macro-form button[type=submit]").click()
    expect(page.locator("#macro-form")).to_contain_text(half)  # a half-described subtask: a form error
    page.select_option("#id_subtask_department", label="仓库")
    page.fill("#id_subtask_description", "补寄缺少的配件")
    page.fill("#id_tags", "补寄, 少件")
    page.locator("#macro-form button[type=submit]").click()
    expect(page.locator("p.flash")).to_contain_text(saved)
    macro = Macro.objects.get(name="补寄配件")
    assert (macro.subtask_department.code, macro.subtask_kind, macro.tags) == ("warehouse", "reship", "补寄, 少件")
    expect(page.locator(f"#macro-row-{macro.pk}")).to_contain_text("仓库")
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.screenshot(path=str(SHOTS / "07-supervisor-macros.png"), full_page=True)
