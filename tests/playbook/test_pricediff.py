"""Bulk price-difference refunds (退差): preview every row, run as a Celery job, report per row."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from orders.models import Refund
from orders.services import refund_request
from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, ProductFactory, make_user
from tickets.models import Subtask, Ticket
from tickets.pricediff import services as pricediff
from tickets.pricediff.models import PriceDiffBatch, PriceDiffRow
from tickets.pricediff.tasks import pricediff_run_task

pytestmark = pytest.mark.django_db

Status = PriceDiffRow.Status
HEADER = ("订单号", "商品编码", "新价格", "原因")


def line(number, sku, unit_price, *, quantity=1, days_ago=3, **order_fields):
    order = OrderFactory(external_number=number, customer=CustomerFactory(),
                         placed_at=timezone.now() - timedelta(days=days_ago), **order_fields)
    product = ProductFactory(sku=sku)
    price = Decimal(unit_price)
    return OrderItemFactory(order=order, product=product, quantity=quantity, unit_price=price,
                            paid_amount=price * quantity)


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=("order_number", "sku", "new_price", "reason")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def statuses(batch):
    return {r.row_number: (r.status, r.error, r.amount) for r in PriceDiffRow.objects.filter(batch=batch)}


@pytest.fixture
def uploader(db):
    """An uploader with a ¥200 limit, so the approval-limit rule shows (a supervisor's is unlimited)."""
    user = make_user("agent", username="pd_agent", department=None)
    user.staff_profile.refund_limit = Decimal("200")
    user.staff_profile.save()
    return user


@pytest.fixture
def supervisor_client(client, supervisor):
    client.force_login(supervisor)
    return client


def test_preview_checks_every_row_stores_it_and_refunds_nothing(uploader):
    good = line("TB-GOOD", "SKU-A", "199.00", quantity=2)
    line("TB-SAME", "SKU-B", "199.00")
    line("TB-OLD", "SKU-C", "199.00", days_ago=40)
    done = line("TB-DONE", "SKU-D", "199.00")
    earlier = refund_request(order=done.order, amount=Decimal("49.00"), reason="价保", actor=uploader, items=[done],
                             kind=Refund.Kind.PRICE_DIFFERENCE, dedupe_key=f"pricediff:{done.pk}:150.00")
    done2 = line("TB-DONE2", "SKU-D2", "199.00")
    refund_request(order=done2.order, amount=Decimal("49.00"), reason="价保", actor=uploader, items=[done2],
                   kind=Refund.Kind.PRICE_DIFFERENCE, dedupe_key=f"pricediff:{done2.pk}:150.00")
    line("TB-BIG", "SKU-E", "999.00")
    line("TB-GONE", "SKU-F", "199.00", status="cancelled")
    refunds_before = Refund.objects.count()
    content = csv_bytes([
        ("TB-GOOD", "SKU-A", "150", "大促降价"),  # 2: (199 − 150) × 2 = 98
        ("TB-NOPE", "SKU-A", "150", ""),  # 3: unknown order
        ("TB-GOOD", "SKU-Z", "150", ""),  # 4: SKU not on that order
        ("TB-SAME", "SKU-B", "199.00", ""),  # 5: not below the price paid
        ("TB-OLD", "SKU-C", "150", ""),  # 6: outside the 30-day window
        ("TB-DONE", "SKU-D", "150.00", ""),  # 7: already refunded for this drop
        ("TB-BIG", "SKU-E", "100", ""),  # 8: ¥899 above the ¥200 limit
        ("TB-GOOD", "SKU-A", "12,5x", ""),  # 9: malformed price
        ("", "", "", ""),  # blank line: skipped, still counted as a spreadsheet row
        ("TB-GOOD", "SKU-A", "140", ""),  # 11: the same order line again
        ("TB-GONE", "SKU-F", "150", ""),  # 12: cancelled order
        ("TB-DONE2", "SKU-D2", "160", ""),  # 13: drop already refunded down to 150
    ])

    batch, created = pricediff.pricediff_preview(actor=uploader, file_name="618价保.csv", content=content)

    assert created and batch.status == PriceDiffBatch.Status.PREVIEWED
    assert (batch.total_rows, batch.valid_rows) == (11, 2)
    rows = statuses(batch)
    assert rows[2] == (Status.VALID, "", Decimal("98.00"))
    assert PriceDiffRow.objects.get(batch=batch, row_number=2).order_item == good
    expected = {
        3: (Status.INVALID, "Unknown order number TB-NOPE"),
        4: (Status.INVALID, "SKU SKU-Z is not on order TB-GOOD"),
        5: (Status.INVALID, "not below the price paid"),
        6: (Status.INVALID, "outside the 30-day price-protection window"),
        7: (Status.SKIPPED, f"Already refunded for this price drop (refund #{earlier.pk})"),
        8: (Status.VALID, ""),  # ¥899, above the uploader's ¥200 limit: kept, the batch needs approval
        9: (Status.INVALID, "is not a price"),
        11: (Status.INVALID, "already in row 2"),
        12: (Status.INVALID, "cancelled"),
        13: (Status.INVALID, "already refunded ¥49.00"),
    }
    for number, (status, message) in expected.items():
        assert rows[number][0] == status, number
        assert message in rows[number][1], (number, rows[number][1])
    assert 10 not in rows
    over = PriceDiffRow.objects.get(batch=batch, row_number=8)
    assert (over.amount, over.over_limit) == (Decimal("899.00"), True)
    assert (batch.valid_amount, batch.over_limit_rows, batch.approval_needed) == (Decimal("997.00"), 1, True)
    assert Refund.objects.count() == refunds_before


def test_a_missing_column_is_one_clear_file_level_error_and_stores_nothing(uploader):
    content = csv_bytes([("TB1", "SKU-A", "")], header=("订单号", "商品编码", "原因"))

    with pytest.raises(ValidationError) as error:
        pricediff.pricediff_preview(actor=uploader, file_name="bad.csv", content=content)

    assert "missing: new_price" in error.value.messages[0]
    assert not PriceDiffBatch.objects.exists()


def test_xlsx_with_numbers_in_cells_is_read(uploader):
    item = line("1234567890", "778899", "88.00")

    batch, _ = pricediff.pricediff_preview(
        actor=uploader, file_name="drop.xlsx", content=xlsx_bytes([(1234567890, 778899, 80.5, "降价")])
    )

    row = PriceDiffRow.objects.get(batch=batch)
    assert (row.status, row.order_item, row.amount, row.reason) == (Status.VALID, item, Decimal("7.50"), "降价")


def test_gbk_csv_from_a_chinese_excel_is_read(uploader):
    line("TB-GBK", "SKU-G", "100.00")
    content = csv_bytes([("TB-GBK", "SKU-G", "￥90.00", "双十一价保")], encoding="gbk")

    batch, _ = pricediff.pricediff_preview(actor=uploader, file_name="gbk.csv", content=content)

    row = PriceDiffRow.objects.get(batch=batch)
    assert (row.status, row.amount, row.reason) == (Status.VALID, Decimal("10.00"), "双十一价保")


def test_preview_runs_no_query_per_row(uploader):
    def preview(n, tag):
        for i in range(n):
            line(f"TB-{tag}-{i}", f"SKU-{tag}-{i}", "100.00")
        content = csv_bytes([(f"TB-{tag}-{i}", f"SKU-{tag}-{i}", "90", "") for i in range(n)])
        with CaptureQueriesContext(connection) as queries:
            batch, _ = pricediff.pricediff_preview(actor=uploader, file_name=f"{tag}.csv", content=content)
        assert batch.valid_rows == n
        return len(queries)

    preview(1, "warm")  # the uploader's roles and limit are read once, then cached on the user
    assert preview(3, "small") == preview(60, "large")


def upload(client, content, name="drop.csv"):
    stream = io.BytesIO(content)
    stream.name = name
    return client.post(reverse("tickets:pricediff_upload"), {"file": stream})


def run(client, batch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("tickets:pricediff_execute", args=[batch.pk]))


def test_run_refunds_each_valid_row_once_with_one_finance_subtask(
    supervisor_client, supervisor, django_capture_on_commit_callbacks
):
    a = line("TB-R1", "SKU-R1", "199.00", quantity=2)
    b = line("TB-R2", "SKU-R2", "59.90")
    content = csv_bytes([("TB-R1", "SKU-R1", "179", "618 降价"), ("TB-R2", "SKU-R2", "49.9", ""),
                         ("TB-NONE", "SKU-R1", "1", "")])

    response = upload(supervisor_client, content)
    batch = PriceDiffBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("tickets:pricediff_detail", args=[batch.pk])
    response = run(supervisor_client, batch, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == PriceDiffBatch.Status.DONE and batch.finished_at
    assert (batch.processed_rows, batch.refunded_rows, batch.refunded_amount) == (2, 2, Decimal("50.00"))
    refunds = {r.order_id: r for r in Refund.objects.all()}
    assert refunds[a.order_id].amount == Decimal("40.00") and refunds[b.order_id].amount == Decimal("10.00")
    assert refunds[a.order_id].status == Refund.Status.APPROVED
    assert refunds[a.order_id].dedupe_key == f"pricediff:{a.pk}:179.00"
    assert list(refunds[a.order_id].items.all()) == [a]
    assert refunds[a.order_id].reason == "618 降价" and refunds[a.order_id].requested_by == supervisor
    rows = statuses(batch)
    assert [rows[n][0] for n in (2, 3, 4)] == [Status.REFUNDED, Status.REFUNDED, Status.INVALID]
    assert PriceDiffRow.objects.get(batch=batch, row_number=2).refund == refunds[a.order_id]
    ticket = Ticket.objects.get(external_source="pricediff", external_id=str(batch.pk))
    # The batch's ticket is the shop's own, not filed under whichever buyer stood on the first row.
    assert (ticket.order, ticket.type, ticket.channel) == (None, "price_difference", "other")
    assert ticket.customer.platform_account == "__shop__"
    subtask = Subtask.objects.get(ticket=ticket)
    assert (subtask.department.code, subtask.kind) == ("finance", Subtask.Kind.REFUND_PAYMENT)
    assert "2 approved refunds" in subtask.description

    # Confirming again, re-delivering the task, uploading the same file: nothing new.
    response = run(supervisor_client, batch, django_capture_on_commit_callbacks)
    assert pricediff_run_task(batch.pk) is True
    response = upload(supervisor_client, content, name="copy.csv")
    assert response.url == reverse("tickets:pricediff_detail", args=[batch.pk])
    assert (Refund.objects.count(), Ticket.objects.count(), Subtask.objects.count(), PriceDiffBatch.objects.count()) \
        == (2, 1, 1, 1)

    # A changed file with the same drops previews them as already refunded.
    again, created = pricediff.pricediff_preview(actor=supervisor, file_name="v2.csv", content=content + b"\r\n")
    assert created and again.valid_rows == 0
    assert {r.status for r in again.rows.all()} == {Status.SKIPPED, Status.INVALID}


def test_a_refund_made_between_preview_and_run_fails_just_that_row(
    supervisor, django_capture_on_commit_callbacks
):
    a = line("TB-C1", "SKU-C1", "100.00")
    line("TB-C2", "SKU-C2", "100.00")
    batch, _ = pricediff.pricediff_preview(
        actor=supervisor, file_name="cap.csv",
        content=csv_bytes([("TB-C1", "SKU-C1", "80", ""), ("TB-C2", "SKU-C2", "80", "")]),
    )
    refund_request(order=a.order, amount=Decimal("95.00"), reason="质量问题", actor=supervisor, items=[a])

    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)

    batch.refresh_from_db()
    rows = statuses(batch)
    assert rows[2][0] == Status.FAILED and "At most ¥5.00" in rows[2][1]
    assert rows[3][0] == Status.REFUNDED
    assert (batch.status, batch.processed_rows, batch.refunded_rows) == (PriceDiffBatch.Status.DONE, 2, 1)
    assert Refund.objects.filter(dedupe_key__startswith="pricediff:").count() == 1


def test_rows_of_one_order_in_one_chunk_share_what_the_order_has_left(supervisor, django_capture_on_commit_callbacks):
    a = line("TB-O1", "SKU-O1", "100.00")
    b = OrderItemFactory(order=a.order, product=ProductFactory(sku="SKU-O2"), unit_price=Decimal("100.00"),
                         paid_amount=Decimal("100.00"))
    batch, _ = pricediff.pricediff_preview(
        actor=supervisor, file_name="o.csv",
        content=csv_bytes([("TB-O1", "SKU-O1", "80", ""), ("TB-O1", "SKU-O2", "80", "")]),
    )
    assert batch.valid_rows == 2
    # A whole-order refund between preview and run leaves ¥30 of the ¥200 order: room for one ¥20 row only.
    refund_request(order=a.order, amount=Decimal("170.00"), reason="部分退款", actor=supervisor)

    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)

    rows = statuses(batch)
    assert rows[2][0] == Status.REFUNDED
    assert rows[3][0] == Status.FAILED and "At most ¥10.00" in rows[3][1]
    assert list(Refund.objects.get(dedupe_key__startswith="pricediff:").items.all()) == [a]
    assert not b.refunds.exists()


def test_a_chunk_sends_the_same_statements_whatever_its_size(supervisor):
    def run_chunk(n, tag):
        for i in range(n):
            line(f"TB-{tag}-{i}", f"SKU-{tag}-{i}", "100.00")
        rows = [(f"TB-{tag}-{i}", f"SKU-{tag}-{i}", "90", "") for i in range(n)]
        rows.append((f"TB-{tag}-0", f"SKU-{tag}-0", "90", ""))  # refused at preview: not run
        batch, _ = pricediff.pricediff_preview(actor=supervisor, file_name=f"{tag}.csv", content=csv_bytes(rows))
        PriceDiffBatch.objects.filter(pk=batch.pk).update(status=PriceDiffBatch.Status.RUNNING)
        batch = PriceDiffBatch.objects.select_related("uploaded_by__staff_profile", "decided_by").get(pk=batch.pk)
        with CaptureQueriesContext(connection) as queries:
            assert pricediff._run_chunk(batch) == n
        batch.refresh_from_db()
        assert (batch.refunded_rows, batch.refunded_amount) == (n, Decimal("10.00") * n)
        return len(queries)

    # Claim, lines, lock, three figures, dedupe keys, two inserts, two updates; two savepoints in a test.
    assert run_chunk(3, "small") == run_chunk(40, "large") == 15


def test_a_big_batch_continues_in_fresh_tasks(supervisor, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(pricediff, "RUN_CHUNK", 2)
    monkeypatch.setattr(pricediff, "RUN_SLICE_SECONDS", 0)
    for i in range(5):
        line(f"TB-N{i}", f"SKU-N{i}", "10.00")
    batch, _ = pricediff.pricediff_preview(
        actor=supervisor, file_name="n.csv", content=csv_bytes([(f"TB-N{i}", f"SKU-N{i}", "9", "") for i in range(5)])
    )

    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)

    batch.refresh_from_db()
    assert (batch.status, batch.refunded_rows, batch.refunded_amount) == ("done", 5, Decimal("5.00"))


def test_progress_partial_polls_while_running_and_links_the_report_when_done(supervisor_client, supervisor):
    line("TB-P1", "SKU-P1", "100.00")
    batch, _ = pricediff.pricediff_preview(actor=supervisor, file_name="p.csv",
                                           content=csv_bytes([("TB-P1", "SKU-P1", "90", "")]))
    url = reverse("tickets:pricediff_progress", args=[batch.pk])
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status="running", processed_rows=0)

    running = supervisor_client.get(url).content.decode()

    assert 'hx-trigger="every 1s"' in running and "<progress" in running and "0 of 1 valid rows" in running
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status="done", processed_rows=1, refunded_rows=1)
    done = supervisor_client.get(url).content.decode()
    assert "hx-trigger" not in done and reverse("tickets:pricediff_report_csv", args=[batch.pk]) in done
    detail = supervisor_client.get(reverse("tickets:pricediff_detail", args=[batch.pk]))
    assert detail.status_code == 200 and b'id="pricediff-progress"' in detail.content
    PriceDiffBatch.objects.filter(pk=batch.pk).update(status="failed")
    failed = supervisor_client.get(reverse("tickets:pricediff_detail", args=[batch.pk])).content.decode()
    assert "hx-trigger" not in failed and "unexpected error" in failed and "Resume" in failed


def test_report_and_error_csv_list_rows_with_formulas_defused(supervisor_client, supervisor):
    line("TB-X1", "SKU-X1", "100.00")
    batch, _ = pricediff.pricediff_preview(
        actor=supervisor, file_name="x.csv",
        content=csv_bytes([("TB-X1", "SKU-X1", "90", "=HYPERLINK(\"http://evil\")"), ("TB-NO", "@SUM(A1)", "1", "")]),
    )

    report = b"".join(supervisor_client.get(reverse("tickets:pricediff_report_csv", args=[batch.pk])).streaming_content)
    errors = b"".join(supervisor_client.get(reverse("tickets:pricediff_errors_csv", args=[batch.pk])).streaming_content)

    assert report.startswith("\ufeff".encode())
    report_rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig"))))
    assert len(report_rows) == 3
    assert report_rows[1][4] == "'=HYPERLINK(\"http://evil\")" and report_rows[1][5] == "Valid"
    error_rows = list(csv.reader(io.StringIO(errors.decode("utf-8-sig"))))
    assert len(error_rows) == 2 and error_rows[1][2] == "'@SUM(A1)" and "Unknown order" in error_rows[1][8]


def test_missing_column_upload_shows_the_error_on_the_page(supervisor_client):
    response = upload(supervisor_client, csv_bytes([("TB1", "1")], header=("order_number", "new_price")))

    assert response.status_code == 400
    assert "missing: sku" in response.content.decode()
    assert not PriceDiffBatch.objects.exists()


def test_everyone_but_supervisors_is_refused_on_every_page(client, supervisor, agent):
    line("TB-S1", "SKU-S1", "100.00")
    batch, _ = pricediff.pricediff_preview(actor=supervisor, file_name="s.csv",
                                           content=csv_bytes([("TB-S1", "SKU-S1", "90", "")]))
    pages = [
        ("get", reverse("tickets:pricediff_list")),
        ("post", reverse("tickets:pricediff_upload")),
        ("get", reverse("tickets:pricediff_detail", args=[batch.pk])),
        ("post", reverse("tickets:pricediff_execute", args=[batch.pk])),
        ("get", reverse("tickets:pricediff_progress", args=[batch.pk])),
        ("get", reverse("tickets:pricediff_errors_csv", args=[batch.pk])),
        ("get", reverse("tickets:pricediff_report_csv", args=[batch.pk])),
    ]
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 302, url  # anonymous: to the login page
    client.force_login(agent)
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 403, url
    client.force_login(supervisor)
    assert client.get(reverse("tickets:pricediff_list")).status_code == 200
    batch.refresh_from_db()
    assert batch.status == PriceDiffBatch.Status.PREVIEWED and not Refund.objects.exists()


def test_two_files_with_the_same_drop_refund_it_once(supervisor, django_capture_on_commit_callbacks):
    line("TB-D1", "SKU-D1", "100.00")
    first, _ = pricediff.pricediff_preview(actor=supervisor, file_name="a.csv",
                                           content=csv_bytes([("TB-D1", "SKU-D1", "90", "")]))
    second, _ = pricediff.pricediff_preview(actor=supervisor, file_name="b.csv",
                                            content=csv_bytes([("TB-D1", "SKU-D1", "90.00", "again")]))
    assert first.valid_rows == second.valid_rows == 1  # both previewed before either ran

    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=first, actor=supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=second, actor=supervisor)

    second.refresh_from_db()
    row = second.rows.get()
    assert row.status == Status.SKIPPED and row.refund == first.rows.get().refund
    assert (second.status, second.refunded_rows) == ("done", 0)
    assert Refund.objects.count() == 1 and Ticket.objects.count() == 1  # no ticket for a batch that paid nothing


def test_a_job_stopped_by_an_error_is_marked_failed_and_resumes(supervisor, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    for i in range(3):
        line(f"TB-F{i}", f"SKU-F{i}", "10.00")
    batch, _ = pricediff.pricediff_preview(
        actor=supervisor, file_name="f.csv", content=csv_bytes([(f"TB-F{i}", f"SKU-F{i}", "8", "") for i in range(3)])
    )

    def broken(**kwargs):
        raise RuntimeError("payment gateway exploded")

    monkeypatch.setattr(pricediff, "refund_request_lines", broken)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)
    batch.refresh_from_db()
    assert batch.status == "failed" and not Refund.objects.exists()
    assert set(batch.rows.values_list("status", flat=True)) == {Status.VALID}

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)
    batch.refresh_from_db()
    assert (batch.status, batch.refunded_rows, batch.refunded_amount) == ("done", 3, Decimal("6.00"))
    with pytest.raises(ValidationError):
        pricediff.pricediff_execute(batch=batch, actor=supervisor)


def test_the_same_file_uploaded_twice_at_the_same_moment_gives_one_batch(uploader, monkeypatch):
    line("TB-RACE-1", "SKU-R", "199.00")
    content = csv_bytes([("TB-RACE-1", "SKU-R", "149.00", "价保")])
    store = pricediff._batch_store

    def the_other_upload_wins_first(**kwargs):
        store(**kwargs)  # the concurrent request commits its batch between our check and our insert
        return store(**kwargs)

    monkeypatch.setattr(pricediff, "_batch_store", the_other_upload_wins_first)
    batch, created = pricediff.pricediff_preview(actor=uploader, file_name="a.csv", content=content)

    assert created is False
    assert PriceDiffBatch.objects.filter(file_sha256=batch.file_sha256).count() == 1


def test_two_drops_previewed_before_either_ran_never_refund_more_than_the_lowest_price_owes(
    supervisor, django_capture_on_commit_callbacks
):
    item = line("TB-L1", "SKU-L1", "100.00")
    to_80, _ = pricediff.pricediff_preview(actor=supervisor, file_name="80.csv",
                                           content=csv_bytes([("TB-L1", "SKU-L1", "80", "")]))
    to_70, _ = pricediff.pricediff_preview(actor=supervisor, file_name="70.csv",
                                           content=csv_bytes([("TB-L1", "SKU-L1", "70", "")]))
    to_90, _ = pricediff.pricediff_preview(actor=supervisor, file_name="90.csv",
                                           content=csv_bytes([("TB-L1", "SKU-L1", "90", "")]))
    assert [b.rows.get().amount for b in (to_80, to_70, to_90)] == [Decimal("20.00"), Decimal("30.00"),
                                                                    Decimal("10.00")]

    for batch in (to_80, to_70, to_90):
        with django_capture_on_commit_callbacks(execute=True):
            pricediff.pricediff_execute(batch=batch, actor=supervisor)

    # ¥20 for the drop to 80; the drop to 70 was previewed at ¥30 but now owes only ¥10 more: refused with
    # the figure, never paid ¥30 on top; the drop to 90 owes nothing after the drop to 80.
    paid = sum(r.amount for r in Refund.objects.filter(items=item))
    assert paid == Decimal("20.00") <= item.paid_amount - Decimal("70") * item.quantity
    row_70, row_90 = to_70.rows.get(), to_90.rows.get()
    assert row_70.status == Status.FAILED and "¥10.00" in row_70.error and "¥30.00" in row_70.error
    assert row_90.status == Status.FAILED and "¥20.00" in row_90.error  # earlier drops already refunded ¥20

    # Uploaded again, the drop to 70 refunds the ¥10 it still owes.
    again, _ = pricediff.pricediff_preview(actor=supervisor, file_name="70-again.csv",
                                           content=csv_bytes([("TB-L1", "SKU-L1", "70", "again")]))
    assert again.rows.get().amount == Decimal("10.00")
    with django_capture_on_commit_callbacks(execute=True):
        pricediff.pricediff_execute(batch=again, actor=supervisor)
    assert sum(r.amount for r in Refund.objects.filter(items=item)) == Decimal("30.00")  # paid − 70, no more
