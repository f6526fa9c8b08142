"""Browser-test plumbing: Playwright drives Debian's chromium (never `playwright install`).

pytest-playwright's sync API runs an event loop in the test thread, so Django's ORM would
refuse to run there (SynchronousOnlyOperation) without DJANGO_ALLOW_ASYNC_UNSAFE.
"""

import asyncio
import os

import pytest
from django.db import connections

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _connection_outside_the_event_loop(alias: str):
    """The connection object Django hands out when no event loop runs (the thread-local one)."""
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return connections[alias]
    finally:
        asyncio._set_running_loop(loop)


@pytest.fixture(scope="session")
def browser_db(playwright, django_db_setup):
    """Make serialized_rollback work while Playwright's event loop runs.

    Django's DB connections are "thread critical" asgiref locals: once Playwright's event loop
    runs in the test thread, `connections[alias]` is a second connection object, without the
    `_test_serialized_contents` recorded when the test database was created. Django then silently
    skips restoring the migrations' data (groups, departments) after a transactional test flushed
    it. Browser tests request this (session) fixture, so it runs before the per-test DB setup.
    """
    for alias in connections:
        source, target = _connection_outside_the_event_loop(alias), connections[alias]
        if target is not source and hasattr(source, "_test_serialized_contents"):
            target._test_serialized_contents = source._test_serialized_contents


def speaks(language: str, *users) -> None:
    """The desk language these people chose (the desk ignores the browser's Accept-Language)."""
    from tickets.models import StaffProfile

    StaffProfile.objects.filter(user__in=users).update(language=language)
