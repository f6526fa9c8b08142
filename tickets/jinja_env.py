"""The Jinja2 environment of the hot pages' bodies (templates/jinja2/): the queue, the dashboard and the
ticket page. Django's engine walks its nodes at every render; Jinja2 compiles a template to Python once:
rendered with the same context, the queue page takes 13.0 ms of CPU against 17.6, the dashboard 16.3 against
28.0 (bench/ab_render.py, issue 21). The rest of the desk keeps Django's templates, and a hot page keeps
base.html: its body is rendered here and set into the page (aftersales.web.render_hot).

What Django's engine does by itself is done here explicitly: the same gettext catalogue (`_`, `ngettext`;
`makemessages` reads `_("…")` from these templates too), times in the shop's or the user's time zone (a
datetime is printed only through `date` or `short_time`, which convert it), and the desk's list tags."""

from datetime import datetime

from django.conf import settings
from django.template import defaultfilters
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, get_language_info, gettext, ngettext
from jinja2 import Environment, pass_context

from .fragments import rows_html
from .templatetags import desk


def _date(value, format_string=None) -> str:
    return defaultfilters.date(template_localtime(value), format_string) if value else ""


def _short_time(value) -> str:
    return desk.short_time(template_localtime(value)) if value else ""


def url(viewname: str, *args) -> str:
    return reverse(viewname, args=args or None)


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


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=False)
    env.globals.update({
        "url": url, "static": static, "id_url": desk.id_url, "sla_badge": desk.sla_badge,
        "filter_options": desk.filter_options, "worker_options": desk.worker_options, "rows_html": rows_html,
        "now_iso": now_iso, "django_include": django_include, "reopened_text": reopened_text, "languages": languages,
        "language_code": get_language,
    })
    env.filters.update({
        "format": _format, "date": _date, "short_time": _short_time, "with_id": desk.with_id,
        "linebreaksbr": defaultfilters.linebreaksbr, "truncatechars": defaultfilters.truncatechars,
        "timeuntil": defaultfilters.timeuntil_filter, "json_script": defaultfilters.json_script,
        "event_label": desk.event_label, "status_label": desk.status_label, "localize": formats.localize,
    })
    return env
