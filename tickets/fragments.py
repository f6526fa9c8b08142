"""Parts of pages rendered once and shared through the cache (issue 21): a ticket's timeline (its change stamp in
the key, tickets/views/ticket.py) and the rows of a ticket list (the row's own fields in the key, below).

A key always holds the template's digest, so a changed template never serves what the old one rendered."""

from __future__ import annotations

import functools
import hashlib
import time
from pathlib import Path

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import get_language
from markupsafe import Markup

from .selectors import ListedTicket

# A row's key holds everything it shows, so an entry is never wrong, only unused: this bounds the memory.
ROW_SECONDS = 300


@functools.cache
def template_digest(*names: str, using: str | None = None) -> str:
    """The digest of these templates' files (a template and what it includes), read once per process."""
    sources = b"".join(Path(get_template(name, using=using).origin.name).read_bytes() for name in names)
    return hashlib.sha1(sources).hexdigest()[:12]


def rows_html(tickets: list[ListedTicket], template_name: str, fill: dict[str, str] | None = None,
              **shared) -> Markup:
    """Each listed ticket's row of `template_name` (a Jinja2 template given the Ticket as `t`, and `shared`) as
    HTML, each rendered once for what it shows and shared by everyone who lists it: the key is the row's
    content (its columns as read, which are all a row may read (tests/test_list_page_queries.py fails if a
    template reads another), the calendar's clock stop, `shared`), the language, the time zone and the minute
    (the SLA badge counts the time left in minutes: a row's is at most a minute old, like the page around it).
    A changed ticket has another key: its old row is never shown. Only a row not found is built into a Ticket.

    What is the page's own (a form's CSRF token) is not in a shared row: the template writes a mark
    `<!--fill:name-->` where it goes, and each mark is replaced by `fill[name]` (HTML) once the rows are
    joined (a ticket's own words are escaped in the row, so they can never read as a mark)."""
    template = get_template(template_name, using="jinja2")
    around = (template_digest(template_name, using="jinja2"), get_language(),
              timezone.get_current_timezone_name(), int(time.time() // 60), sorted(shared.items()))
    keys = [_row_key(listed, around) for listed in tickets]
    found = cache.get_many(keys)
    rendered = {key: template.render({"t": listed.ticket(), **shared})
                for key, listed in zip(keys, tickets, strict=True) if key not in found}
    if rendered:
        cache.set_many(rendered, ROW_SECONDS)
    html = "".join(found.get(key) or rendered[key] for key in keys)
    for name, value in (fill or {}).items():
        html = html.replace(f"<!--fill:{name}-->", str(value))
    return Markup(html)  # noqa: S704 (rendered by Jinja2, `fill` is HTML)


def _row_key(listed: ListedTicket, around: tuple) -> str:
    # with_clock_stops: the calendar stops the clock now (a frozen dataclass: its repr is its content).
    content = (around, tuple(listed), listed.clock_stop)
    return "row:" + hashlib.sha1(repr(content).encode()).hexdigest()
