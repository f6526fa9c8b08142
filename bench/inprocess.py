"""What the in-process bench scripts (profile_page, profile_intake, ab_render) set before Django starts: the
settings without production secrets (DEBUG itself is switched off by each script once Django is set up)."""

import os


def environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ["DEBUG"] = "true"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
