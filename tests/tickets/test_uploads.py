"""Evidence uploads: the type is sniffed from the bytes, names must agree, size is bounded."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import CustomerFactory
from tickets import services
from tickets.models import Attachment, TicketEvent
from tickets.uploads import validate_upload

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 40 + b"\xff\xd9"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\x0bIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def upload(name: str, content: bytes, claimed: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=claimed)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def ticket(agent):
    return services.ticket_create(
        actor=agent, channel="chat", description="收到的杯子碎了", customer=CustomerFactory(),
        type="return_refund", category="logistics",
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("破损照片.jpg", JPEG, "image/jpeg"),
        ("IMG_0001.JPEG", JPEG, "image/jpeg"),
        ("screenshot.png", PNG, "image/png"),
        ("发票.pdf", PDF, "application/pdf"),
        ("unboxing.mp4", MP4, "video/mp4"),
    ],
)
def test_real_evidence_files_are_accepted_with_their_sniffed_type(name, content, content_type):
    # The browser's claimed type is ignored: octet-stream in, the real type out.
    assert validate_upload(upload(name, content)) == content_type


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", EXE),  # a program renamed to look like a photo
        ("invoice.pdf", PNG),  # a real image under the wrong extension
        ("photo", JPEG),  # no extension at all
        ("notes.txt", b"just some text, not evidence"),
    ],
)
def test_files_whose_bytes_and_name_disagree_are_refused(name, content):
    with pytest.raises(ValidationError) as refused:
        validate_upload(upload(name, content, claimed="image/jpeg"))

    assert refused.value.code == "bad_type"
    assert name in refused.value.messages[0]


def test_empty_file_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate_upload(upload("empty.jpg", b""))

    assert refused.value.code == "empty"


def test_file_over_the_size_limit_is_refused(settings):
    settings.ATTACHMENT_MAX_BYTES = len(JPEG) - 1

    with pytest.raises(ValidationError) as refused:
        validate_upload(upload("big.jpg", JPEG))

    assert refused.value.code == "too_large"


def test_file_exactly_at_the_size_limit_is_accepted(settings):
    settings.ATTACHMENT_MAX_BYTES = len(JPEG)

    assert validate_upload(upload("edge.jpg", JPEG)) == "image/jpeg"


# Through the service -----------------------------------------------------------------------------

def test_attachment_is_stored_with_sniffed_type_and_recorded_on_the_timeline(agent, ticket, media):
    attachment = services.attachment_add(
        ticket=ticket, actor=agent, upload=upload("破损照片.jpg", JPEG, claimed="text/html")
    )

    attachment.refresh_from_db()
    assert (attachment.content_type, attachment.size, attachment.original_name) == (
        "image/jpeg", len(JPEG), "破损照片.jpg"
    )
    assert attachment.uploaded_by == agent
    assert attachment.is_image
    stored = media / attachment.file.name
    assert stored.read_bytes() == JPEG
    event = ticket.events.get(action="attachment_added")
    assert (event.actor, event.changes) == (agent, {"file": [None, "破损照片.jpg"]})


@pytest.mark.parametrize(
    ("name", "content", "max_bytes"),
    [("photo.jpg", EXE, None), ("invoice.pdf", PNG, None), ("empty.jpg", b"", None), ("big.mp4", MP4, 8)],
    ids=["exe-as-jpg", "png-as-pdf", "empty", "too-large"],
)
def test_refused_upload_leaves_no_attachment_event_or_file(agent, ticket, media, settings, name, content, max_bytes):
    if max_bytes is not None:
        settings.ATTACHMENT_MAX_BYTES = max_bytes
    events_before = TicketEvent.objects.filter(ticket=ticket).count()

    with pytest.raises(ValidationError):
        services.attachment_add(ticket=ticket, actor=agent, upload=upload(name, content))

    assert not Attachment.objects.exists()
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    assert not any(path.is_file() for path in media.rglob("*"))
