"""The ticket page's folded forms in Chromium, zh-Hans, on a 390 px phone: the agent opens 提出解决方案, the form
comes (fetched when opened), and when the solutions panel is redrawn live (a colleague proposed a solution) the
open form comes back open and fresh (a panel with the focus or a typed field in it is left as it is, outlined).
"""

from decimal import Decimal
from pathlib import Path

import pytest

from tests.factories import make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tests.web.test_e2e_live import _ticket
from tickets.models import Solution
from tickets.playbook import services as playbook

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "folded-forms"
PASSWORD = "e2e-folded-2026"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_folded_form_comes_when_opened_and_survives_a_live_redraw(browser_db, live_server, browser):
    agent, colleague = make_user("agent", username="xiaolin"), make_user("agent", username="xiaozhao")
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    speaks("zh-hans", agent)
    ticket = _ticket(agent, "杯子漏水，要求退款")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")

    assert page.locator("#solution-form").count() == 0  # not drawn with the page
    page.click("#solution-details > summary")
    expect(page.locator("#solution-form")).to_be_visible()
    page.screenshot(path=str(SHOTS / "01-agent-opened-the-form.png"), full_page=True)

    # Looked at, not worked in (focus elsewhere, nothing typed): the panel may be redrawn under it.
    page.locator("h1").click()
    playbook.solution_propose(ticket=ticket, actor=colleague, kind=Solution.Kind.COMPENSATION, amount=Decimal("10.00"))
    expect(page.locator("#solutions-panel")).to_contain_text("¥10.00", timeout=15_000)  # redrawn live
    expect(page.locator("#solution-details")).to_have_attribute("open", "")
    expect(page.locator("#solution-form")).to_be_visible()  # fetched again, fresh
    page.screenshot(path=str(SHOTS / "02-redrawn-and-still-open.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
