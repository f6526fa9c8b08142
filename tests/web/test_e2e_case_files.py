"""In Chromium, in zh-Hans: the agent hands a reship to the warehouse with a size label attached; the
warehouse, on a 390 px phone, sees that file and the customer's photo on the subtask, answers with a photo
of the parcel's waybill; the agent finds the answer and the photo under the subtask. The ticket's clock,
on a service-hours policy over the shop's own holiday, says it stands still and until when. Screenshots go
to artifacts/e2e/case_files/."""

import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, make_user
from tests.web.conftest import speaks
from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tickets import services
from tickets.models import Department, Priority, Subtask
from tickets.sla.models import BusinessCalendar, CalendarDay, SLAPolicy
from tickets.workflow import ticket_transition

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

pytestmark = browser_marks
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "case_files"
PASSWORD = "e2e-files-2026"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real one-colour picture (the thumbnails show it), without an imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_files_travel_to_the_warehouse_and_back(browser_db, live_server, page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    agent = make_user("agent", username="xiaozhang")
    warehouse = make_user("department_staff", username="laoli", department="warehouse")
    for user in (agent, warehouse):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    speaks("zh-hans", agent, warehouse)
    order = OrderFactory(customer=CustomerFactory(name="钱女士"))
    OrderItemFactory(order=order)
    ticket = services.ticket_create(actor=agent, channel="phone", description="鞋子尺码发错了，要换38码",
                                    order=order, affected_items=list(order.items.all()), type="exchange",
                                    category="wrong_or_missing_item")
    services.message_add_with_attachment(
        ticket=ticket, actor=agent, direction="inbound", body="客户发来的照片",
        upload=SimpleUploadedFile("客户照片.png", png(160, 120, (200, 80, 60)), content_type="image/png"))
    ticket = ticket_transition(ticket=services.ticket_classify(ticket=ticket, actor=agent, responsibility="merchant"),
                               action="triage", actor=agent)
    ticket = ticket_transition(ticket=ticket, action="start", actor=agent)
    # The shop closes today: a P1 case on service hours stands still until tomorrow morning.
    service_hours = BusinessCalendar.objects.get(name="客服工作时间 Service hours")
    CalendarDay.objects.create(calendar=service_hours, date=timezone.localdate(), kind="holiday", note="店庆日")
    ticket.priority, ticket.sla_policy = Priority.P1, SLAPolicy.objects.get(name="P1 urgent")
    ticket.first_response_due_at = timezone.now() + timezone.timedelta(days=1)
    ticket.save(update_fields=["priority", "sla_policy", "first_response_due_at"])
    label = tmp_path / "尺码标签.png"
    label.write_bytes(png(120, 60, (60, 120, 200)))
    waybill = tmp_path / "面单.png"
    waybill.write_bytes(png(120, 160, (80, 160, 90)))
    with translation.override("zh-hans"):
        t = {text: gettext(text) for text in ("Handed to the department.", "Subtask updated.", "Files of the case",
                                              "Files of this subtask")}
    base = live_server.url
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def log_in(user):
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        expect(page.locator(".usernav .who")).to_contain_text(user.username)

    # The agent: the clock line, then the hand-over with the label attached.
    log_in(agent)
    page.goto(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator(".sla-stopped")).to_contain_text("计时暂停：店庆日")
    page.click("#subtask-details > summary")
    form = page.locator("#subtask-form")
    form.locator("select[name=department]").select_option(str(Department.objects.get(code="warehouse").pk))
    form.locator("select[name=kind]").select_option(Subtask.Kind.RESHIP)
    form.locator("textarea[name=description]").fill("换38码，优先发")
    form.locator("input[name=upload]").set_input_files(str(label))
    form.locator("button[type=submit]").click()
    expect(page.locator("p.flash")).to_contain_text(t["Handed to the department."])
    expect(page.locator("#subtasks-panel .subtask-file")).to_contain_text("尺码标签.png")
    shot("01-agent-handed-over")
    subtask = ticket.subtasks.get()

    # The warehouse on a phone: both files, then the answer with a photo.
    page.locator(".usernav form[action='/accounts/logout/'] button").click()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(warehouse)
    page.goto(f"{base}/subtasks/{subtask.pk}/")
    expect(page.locator("#subtask-files")).to_contain_text("尺码标签.png")
    expect(page.locator("#case-files")).to_contain_text("客户照片.png")
    expect(page.locator("#case-files img.thumb")).to_have_count(1)
    shot("02-warehouse-phone-subtask")
    page.locator("button[name=action][value=start]").click()
    expect(page.locator("p.flash")).to_contain_text(t["Subtask updated."])
    answer = page.locator("#subtask-act-form")
    answer.locator("textarea[name=result]").fill("已发出38码，顺丰 SF1234567890")
    answer.locator("input[name=attachment]").set_input_files(str(waybill))
    page.click("#subtask-done")
    expect(page.locator("p.flash")).to_contain_text(t["Subtask updated."])
    expect(page.locator("#subtask-files")).to_contain_text("面单.png")
    shot("03-warehouse-phone-done")

    # The agent finds the answer and the photo under the subtask.
    page.locator(".usernav form[action='/accounts/logout/'] button").click()
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(agent)
    page.goto(f"{base}/tickets/{ticket.pk}/")
    panel = page.locator("#subtasks-panel")
    expect(panel).to_contain_text("已发出38码，顺丰 SF1234567890")
    expect(panel.locator(".subtask-file")).to_have_count(2)
    shot("04-agent-sees-the-answer")
