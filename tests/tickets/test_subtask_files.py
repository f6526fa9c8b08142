"""Files travel with the work: the agent hands a file over with a subtask, the department sees every file
of the case on its subtask page (automatic subtasks too), and the department's files come back under its
subtask on the ticket page. A refused file creates no subtask."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.playbook.test_playbook import order, people, working_ticket  # noqa: F401  (fixtures)
from tests.tickets.test_uploads import EXE, JPEG, PNG
from tickets import services
from tickets.models import Attachment, Department, Status, Subtask, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _file(name, content):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def _hand_over(client, ticket, upload, description="换38码，优先发"):
    warehouse = Department.objects.get(code="warehouse")
    data = {"department": warehouse.pk, "kind": Subtask.Kind.RESHIP, "description": description}
    return client.post(f"/tickets/{ticket.pk}/subtasks/", {**data, "upload": upload} if upload else data, follow=True)


def test_the_agent_hands_a_file_over_with_the_subtask_and_the_department_sees_the_case_files(
        client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    services.message_add_with_attachment(ticket=ticket, actor=people["agent"], direction="inbound",
                                         body="客户发来的照片", upload=_file("破损照片.jpg", JPEG))
    client.force_login(people["agent"])

    response = _hand_over(client, ticket, _file("尺码标签.png", PNG))

    assert response.status_code == 200
    subtask = ticket.subtasks.get()
    assert [a.original_name for a in subtask.attachments.all()] == ["尺码标签.png"]
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_DEPARTMENT
    assert TicketEvent.objects.filter(ticket=ticket, action="attachment_added",
                                      changes__file=[None, "尺码标签.png"]).exists()

    client.force_login(people["warehouse"])
    page = client.get(f"/subtasks/{subtask.pk}/").content.decode()
    assert 'id="subtask-files"' in page and "尺码标签.png" in page
    assert 'id="case-files"' in page and "破损照片.jpg" in page  # the customer's evidence, shown to the warehouse
    photo = Attachment.objects.get(original_name="破损照片.jpg")
    assert client.get(f"/attachments/{photo.pk}/").status_code == 200


def test_a_refused_file_creates_no_subtask(client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    client.force_login(people["agent"])

    response = _hand_over(client, ticket, _file("label.png", EXE))

    assert "label.png" not in [a.original_name for a in Attachment.objects.all()]
    assert not ticket.subtasks.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert any(m.level_tag == "error"
               for m in response.context["messages"])


def test_the_departments_answer_and_photo_come_back_under_its_subtask(client, order, people):  # noqa: F811
    ticket = working_ticket(order, people["agent"])
    client.force_login(people["agent"])
    _hand_over(client, ticket, None)
    subtask = ticket.subtasks.get()
    client.force_login(people["warehouse"])
    client.post(f"/subtasks/{subtask.pk}/act/", {"action": "start", "version": subtask.version, "result": ""})
    subtask.refresh_from_db()
    client.post(f"/subtasks/{subtask.pk}/act/", {"action": "complete", "version": subtask.version,
                                                 "result": "已补发38码，顺丰 SF123",
                                                 "attachment": _file("面单.jpg", JPEG)})

    client.force_login(people["agent"])
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    panel = page[page.index('id="subtasks-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "已补发38码，顺丰 SF123" in panel
    assert 'class="subtask-file"' in panel and "面单.jpg" in panel
