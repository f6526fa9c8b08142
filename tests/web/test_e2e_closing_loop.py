"""Closing the loop in a real browser (Playwright + Debian's chromium).

The agent gives the customer their link; the customer (no account, in Chinese) chooses the
proposed exchange, sends a photo, says the first fix did not solve it (the case reopens), then
confirms and rates; the agent writes the closing summary, drafts a knowledge article from the
case, marks it FAQ and publishes it; a visitor finds it on the public FAQ by a Chinese word.
Screenshots go to artifacts/e2e/closing/NN-name.png.
"""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.tickets.test_uploads import PNG
from tests.web.test_e2e_browser import ARTIFACTS, Visit, _missing, expect, pytestmark  # noqa: F401
from tickets import services
from tickets.models import CloseOutcome, KnowledgeArticle, Solution, Status, Ticket
from tickets.playbook import services as playbook
from tickets.subtasks import subtask_complete, subtask_start
from tickets.workflow import ticket_transition

PASSWORD = "agent-closing-2026"
PHONE = "13987654321"


def _seed():
    agent = make_user("agent", username="agent_closing")
    agent.set_password(PASSWORD)
    agent.save(update_fields=["password"])
    customer = CustomerFactory(name="李女士", phone=PHONE, address="上海市浦东新区世纪大道1号")
    order = OrderFactory(customer=customer, external_number="JD2024111100001")
    OrderItemFactory(order=order, product=ProductFactory(name="保温杯 500ml 蓝色"))
    ticket = services.ticket_create(actor=agent, channel="chat", order=order, affected_items=list(order.items.all()),
                                    description="双十一买的保温杯漏水，盖子拧紧也漏", type="exchange",
                                    category="product_quality")
    ticket = services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant")
    for action in ("triage", "start"):
        ticket = ticket_transition(ticket=ticket, action=action, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    services.message_add(ticket=ticket, actor=agent, direction="outbound", body="您好，给您换一个新杯子")
    playbook.solution_propose(ticket=ticket, actor=agent, kind="exchange", expected_days=3, note="寄回旧杯，运费我们出")
    return agent, Ticket.objects.get(pk=ticket.pk)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_customer_link_survey_and_knowledge_article(browser_db, live_server, browser, tmp_path):
    agent, ticket = _seed()
    base = live_server.url
    staff = browser.new_context(locale="en-US")
    page = staff.new_page()
    page.set_default_timeout(10_000)
    visit = Visit(page, "closing")

    # The agent gets the link on the ticket page (htmx puts it in the panel).
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.goto(f"{base}/tickets/{ticket.pk}/")
    page.click("#get-customer-link")
    link = page.locator("#customer-link-url")
    expect(link).to_have_value(re.compile(r"/c/[^/]+/$"))
    url = link.input_value()
    visit.shot("agent-customer-link")

    # The customer, no account, in Chinese.
    customer = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-hans"})
    cpage = customer.new_page()
    cpage.set_default_timeout(10_000)
    cvisit = Visit(cpage, "closing-customer")
    cpage.goto(url)
    expect(cpage.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(cpage.locator("#case-status")).to_contain_text(ticket.number)
    expect(cpage.locator("#case-status")).to_contain_text("139****4321")
    assert PHONE not in cpage.content()
    cvisit.shot("customer-case")
    cpage.click("#confirm-solution")
    expect(cpage.locator("#agreed")).to_be_visible()
    solution = Solution.objects.get(ticket=ticket)
    assert solution.status == Solution.Status.CONFIRMED and solution.confirmed_channel == "customer_link"

    photo = tmp_path / "leak.png"
    photo.write_bytes(PNG)
    cpage.fill("#id_text", "漏水的照片")
    cpage.set_input_files("#id_file", str(photo))
    cpage.click("#send-evidence")
    expect(cpage.locator("#conversation")).to_contain_text("漏水的照片")
    cvisit.shot("customer-evidence")

    # The warehouse receives the old cup as described, then ships the new one (by service here); the
    # agent resolves. Nothing ships before the defective cup is back (a quality case).
    inspect = ticket.subtasks.get()
    assert inspect.kind == "inspect_return"
    wh = make_user("department_staff", username="wh_closing", department="warehouse")
    playbook.warehouse_inspect_return(subtask=inspect, actor=wh, inspection="as_described", disposition="write_off")
    reship = ticket.subtasks.get(kind="reship")
    subtask_start(subtask=reship, actor=wh)
    subtask_complete(subtask=reship, actor=wh, result="已寄出新杯 SF123")
    ticket_transition(ticket=Ticket.objects.get(pk=ticket.pk), action="resolve", actor=agent)

    # Not solved: the case reopens with the customer's words.
    cpage.goto(url)
    expect(cpage.locator("#survey")).to_be_visible()
    cpage.check("input[name=solved][value=no]")
    cpage.fill("#id_comment", "新杯子还是漏")
    cvisit.shot("customer-survey-not-solved")
    cpage.click("#send-survey")
    expect(cpage.locator("#survey")).to_have_count(0)
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.reopen_count == 1

    # Resolved again: solved, five stars; the case closes as rated.
    ticket_transition(ticket=ticket, action="resolve", actor=agent)
    cpage.goto(url)
    cpage.check("input[name=solved][value=yes]")
    cpage.check("input[name=score][value='5']")
    cpage.click("#send-survey")
    expect(cpage.locator("#survey-done")).to_be_visible()
    cvisit.shot("customer-survey-done")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.close_outcome == CloseOutcome.RATED

    # The agent sees the feedback, writes the summary and drafts an article from the case.
    page.goto(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#follow-up-panel")).to_contain_text("5★")
    page.fill("#id_root_cause", "杯盖密封圈批次尺寸偏小")
    page.fill("#id_summary", "换新两次，第二次换新款密封圈")
    page.fill("#id_what_worked", "漏水先问批次号，直接寄新款密封圈的杯子")
    page.locator("form[action$='/summary/'] button").click()
    expect(page.locator("#summary-panel")).to_contain_text("杯盖密封圈批次尺寸偏小")
    visit.shot("agent-summary")
    page.locator("#kb-draft-form select[name=language]").select_option("zh-hans")
    page.locator("#kb-draft-form button").click()
    page.wait_for_url(re.compile(r"/kb/\d+/edit/$"))
    body = page.locator("#id_body").input_value()
    assert "密封圈" in body and PHONE not in body and "李女士" not in body
    page.fill("#id_title", "保温杯漏水：先问批次号")
    page.check("#id_is_faq")
    page.locator("#kb-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/kb/\d+/$"))
    page.locator("#kb-publish-form button").click()
    visit.shot("agent-article-published")
    article = KnowledgeArticle.objects.get(source_ticket=ticket)
    assert article.status == KnowledgeArticle.Status.PUBLISHED and article.is_faq

    # A visitor finds it on the public FAQ by a two-character word.
    visitor = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-hans"})
    vpage = visitor.new_page()
    vpage.goto(f"{base}/faq/?q=漏水")
    expect(vpage.locator("main")).to_contain_text("保温杯漏水：先问批次号")
    Visit(vpage, "closing-faq").shot("faq-search")
    with translation.override("zh-hans"):
        assert gettext("Log in") not in vpage.locator("main").inner_text()  # public: no login asked
    for context in (staff, customer, visitor):
        context.close()
