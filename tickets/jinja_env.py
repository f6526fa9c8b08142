"""The Jinja2 environment of the hot pages (templates/jinja2/): the queue, the dashboard, the ticket page, and
the desk's shell (base.html) around every page. Django's engine walks its nodes at every render; Jinja2
compiles a template to Python once: rendered with the same context, the queue page takes 13.0 ms of CPU
against 17.6, the dashboard 16.3 against 28.0 (bench/ab_render.py, issue 21), and the shell, with its context
processors, 0.9–1.05 against 1.5–1.9 (a Django template until 2026-12-07). The rest of the desk keeps Django's
templates, which reach the shell through templates/base.html (`{% jinja %}`, tickets/templatetags/desk.py).

What Django's engine does by itself is done here explicitly: the same gettext catalogue (`_`, `ngettext`;
`makemessages` reads `_("…")` from these templates too), times in the shop's or the user's time zone (a
datetime is printed only through `date` or `short_time`, which convert it), the desk's list tags, and the
test client's view of a page's context (Template below)."""

import functools
from datetime import datetime

from django.conf import settings
from django.template import defaultfilters
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test.signals import template_rendered
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import dateformat, formats, timezone
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, get_language_info, gettext, ngettext
from django_htmx.jinja import htmx_script
from jinja2 import Environment, pass_context
from jinja2 import Template as JinjaTemplate

from .fragments import rows_html
from .templatetags import desk


def _date(value, format_string=None) -> str:
    return defaultfilters.date(template_localtime(value), format_string) if value else ""


def _short_time(value) -> str:
    return desk.short_time(template_localtime(value)) if value else ""


def url(viewname: str, *args) -> str:
    if args:
        return reverse(viewname, args=args)
    return _fixed_url(viewname, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=256)
def _fixed_url(viewname: str, _prefix: str, urlconf) -> str:
    """A URL without arguments, reversed once per script prefix and URLconf (what reverse() reads besides the
    name): the shell's nineteen links were 40% of its rendering."""
    return reverse(viewname, urlconf=urlconf)


def _format(text: str, /, **values) -> str:
    """`_("… %(value)s …")|format(value=…)`: Jinja2's own takes its first argument by the name `value`."""
    return text % values


def now_iso() -> str:
    """`{% now "c" %}`: the moment the page was drawn, in the current time zone (a form's `seen_at`)."""
    return dateformat.format(datetime.now(tz=timezone.get_current_timezone()), "c")


@pass_context
def django_include(context, template_name: str) -> str:
    """A Django template that other views render too (a ticket page's folded form), with this page's context."""
    return mark_safe(render_to_string(template_name, context.get_all(), context.get("request")))


def reopened_text(n: int) -> str:
    return ngettext("Reopened once", "Reopened %(n)s times", n) % {"n": n}


def languages() -> list[tuple[str, str]]:
    """The desk's languages, each named in itself (简体中文, English)."""
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


class Template(JinjaTemplate):
    """Tells the test client what a page was rendered with (`response.context`), as Django's templates do;
    no one else listens, and without a listener this is one attribute read."""

    def render(self, *args, **kwargs) -> str:
        if template_rendered.receivers:
            template_rendered.send(sender=self, template=self, context=dict(*args, **kwargs))
        return super().render(*args, **kwargs)


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.template_class = Template
    env.install_gettext_callables(gettext, ngettext, newstyle=False)
    env.globals.update({
        "url": url, "static": static, "id_url": desk.id_url, "sla_badge": desk.sla_badge,
        "filter_options": desk.filter_options, "worker_options": desk.worker_options, "rows_html": rows_html,
        "now_iso": now_iso, "django_include": django_include, "reopened_text": reopened_text, "languages": languages,
        "language_code": get_language, "htmx_script": htmx_script,
    })
    env.filters.update({
        "format": _format, "date": _date, "short_time": _short_time, "with_id": desk.with_id,
        "linebreaksbr": defaultfilters.linebreaksbr, "truncatechars": defaultfilters.truncatechars,
        "timeuntil": defaultfilters.timeuntil_filter, "json_script": defaultfilters.json_script,
        "event_label": desk.event_label, "status_label": desk.status_label, "localize": formats.localize,
    })
    return env
