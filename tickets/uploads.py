"""Evidence upload checks: the type is read from the file's first bytes, not trusted from the browser."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# (magic prefix at offset, offset, content type). Photos, videos and PDFs are what customers send.
_SIGNATURES = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ftypqt", 4, "video/quicktime"),
    (b"ftyp", 4, "video/mp4"),
)
ALLOWED_EXTENSIONS = {
    "image/jpeg": {"jpg", "jpeg"},
    "image/png": {"png"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "application/pdf": {"pdf"},
    "video/mp4": {"mp4", "m4v"},
    "video/quicktime": {"mov"},
}


def sniff_content_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, offset, content_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    return None


def validate_upload(upload) -> str:
    """Return the checked content type of `upload`, or raise ValidationError with a clear message."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": upload.name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": upload.name}, code="empty")
    upload.seek(0)
    head = upload.read(32)
    upload.seek(0)
    content_type = sniff_content_type(head)
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if content_type is None or extension not in ALLOWED_EXTENSIONS[content_type]:
        allowed = ", ".join(sorted({e for exts in ALLOWED_EXTENSIONS.values() for e in exts}))
        raise ValidationError(
            _("%(name)s is not an accepted photo, video or PDF (accepted: %(allowed)s).")
            % {"name": upload.name, "allowed": allowed},
            code="bad_type",
        )
    return content_type
