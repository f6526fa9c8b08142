from pathlib import Path

import pytest

MAILS = Path(__file__).parent / "mails"


def mail_bytes(name: str, **placeholders: str) -> bytes:
    """A fixture mail, with @NAME@ placeholders (a sent Message-ID, a ticket number) filled in."""
    raw = (MAILS / name).read_bytes()
    for key, value in placeholders.items():
        raw = raw.replace(f"@{key.upper()}@".encode(), value.encode())
    return raw


@pytest.fixture
def mail():
    return mail_bytes


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
