"""Bulk price differences in a real browser, in Chinese, as the people who do it.

The supervisor uploads the 价保 file (a customer who paid ¥269 for a ¥299 item, and a 50-unit company
order), sees ¥70 and ¥1,500 in the preview with the approval reason, and sends the batch for approval;
finance, on a 390 px phone, opens the notice, approves, and the page reloads as done; finance then opens
the payment subtask and downloads the batch's report. Screenshots: artifacts/e2e/money/NN-name.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from orders.models import Refund
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tests.playbook.test_pricediff import csv_bytes
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import Visit, _missing, expect, pytestmark  # noqa: F401
from tickets.models import Subtask
from tickets.pricediff.models import PriceDiffBatch

PASSWORD = "money-e2e-2026"
PHONE = {"width": 390, "height": 844}


def _seed():
    people = {
        "supervisor": make_user("supervisor", username="sup_money"),
        "finance": make_user("department_staff", username="fin_money", department="finance"),
    }
    speaks("zh-hans", *people.values())
    for user in people.values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    for number, sku, list_price, paid, quantity in (("TB2024111101", "MUG-299", "299.00", "269.00", 1),
                                                    ("JD2024111102", "PEN-60", "60.00", "1500.00", 50)):
        order = OrderFactory(external_number=number, customer=CustomerFactory(), paid_amount=Decimal(paid),
                             placed_at=timezone.now() - timedelta(days=5))
        OrderItemFactory(order=order, product=ProductFactory(sku=sku, name=f"商品 {sku}"), quantity=quantity,
                         unit_price=Decimal(list_price), paid_amount=Decimal(paid))
    return people


def _login(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_price_drop_batch_is_approved_by_finance_on_a_phone_and_pays_what_was_paid(
    browser_db, live_server, browser, tmp_path
):
    people = _seed()
    base = live_server.url
    zh = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-hans"}}
    with translation.override("zh-hans"):
        awaiting, done = str(PriceDiffBatch.Status.AWAITING_APPROVAL.label), str(PriceDiffBatch.Status.DONE.label)
        send_for_approval, decide = gettext("Send for approval"), gettext("Decide")

    # The supervisor, at a desk.
    desk = browser.new_context(**zh)
    page = desk.new_page()
    page.set_default_timeout(15_000)
    visit = Visit(page, "money")
    _login(page, base, people["supervisor"])
    page.goto(f"{base}/price-differences/")
    upload = tmp_path / "双十一价保.csv"
    upload.write_bytes(csv_bytes([("TB2024111101", "MUG-299", "199", "降价"), ("JD2024111102", "PEN-60", "0", "清仓")]))
    page.set_input_files("#pricediff-upload input[type=file]", str(upload))
    page.locator("#pricediff-upload button[type=submit]").click()
    expect(page.locator("#pricediff-amount")).to_contain_text("1570.00")  # 70 + 1500, not 100 + 3000
    expect(page.locator("#pricediff-approval")).to_be_visible()
    expect(page.locator("#pricediff-over-limit")).to_contain_text("1500.00")  # which row is above the limit
    visit.shot("supervisor-preview")
    page.get_by_role("button", name=send_for_approval).click()
    expect(page.locator("h1 .status")).to_have_text(awaiting)
    expect(page.locator("#pricediff-decide")).to_have_count(0)  # never the uploader's own decision
    visit.shot("supervisor-awaiting")
    assert not Refund.objects.exists()

    # Finance, on a phone: the notice, the batch, approve.
    phone = browser.new_context(viewport=PHONE, **zh)
    fpage = phone.new_page()
    fpage.set_default_timeout(15_000)
    fvisit = Visit(fpage, "money-finance")
    _login(fpage, base, people["finance"])
    fpage.goto(f"{base}/notifications/")
    fvisit.shot("finance-notifications")
    fpage.locator("main table form button[type=submit]").first.click()
    expect(fpage.locator("#pricediff-decide")).to_be_visible()
    fvisit.shot("finance-batch")
    fpage.locator("#pricediff-decide select[name=decision]").select_option("approve")
    fpage.fill("#pricediff-decide input[name=reason]", "对公订单已核对")
    fpage.get_by_role("button", name=decide).click()
    expect(fpage.locator("h1 .status")).to_have_text(done)
    fvisit.shot("finance-batch-done")
    # The batch itself fits the phone (the site header's own fit is issue 19's).
    assert fpage.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]

    amounts = sorted(Refund.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("70.00"), Decimal("1500.00")]

    # The payment subtask links to the batch's report.
    subtask = Subtask.objects.get(ticket__external_source="pricediff")
    fpage.goto(f"{base}/subtasks/{subtask.pk}/")
    expect(fpage.locator("#pricediff-batch-report")).to_be_visible()
    fvisit.shot("finance-payment-subtask")
    with fpage.expect_download() as download:
        fpage.click("#pricediff-batch-report")
    report = download.value.path().read_text(encoding="utf-8-sig")
    assert "70.00" in report and "1500.00" in report
