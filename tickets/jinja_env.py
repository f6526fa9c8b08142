"""The Jinja2 environment of the hot pages' bodies (templates/jinja2/): the queue, the dashboard and the
ticket page. Django's engine spent most of those pages' time walking its nodes (issue 21); Jinja2 compiles
a template to Python once and runs it 5–10× faster. The rest of the desk keeps Django's templates, and a
hot page keeps base.html: its body is rendered here and set into the page (aftersales/web.py render_body).

What Django's engine does by itself is done here explicitly: the same gettext catalogue (`_`, `ngettext`;
`makemessages` reads `_("…")` from these templates too), times in the shop's or the user's time zone (a
datetime is printed only through `date` or `short_time`, which convert it), and the desk's list tags."""

from django.template import defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, ngettext
from jinja2 import Environment

from .templatetags import desk


def _date(value, format_string=None) -> str:
    return defaultfilters.date(template_localtime(value), format_string) if value else ""


def _short_time(value) -> str:
    return desk.short_time(template_localtime(value)) if value else ""


def url(viewname: str, *args) -> str:
    return reverse(viewname, args=args or None)


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=False)
    env.globals.update({
        "url": url, "static": static, "id_url": desk.id_url, "sla_badge": desk.sla_badge,
        "filter_options": desk.filter_options,
    })
    env.filters.update({
        "date": _date, "short_time": _short_time, "with_id": desk.with_id,
        "linebreaksbr": defaultfilters.linebreaksbr, "truncatechars": defaultfilters.truncatechars,
        "timeuntil": defaultfilters.timeuntil_filter, "json_script": defaultfilters.json_script,
        "event_label": desk.event_label, "status_label": desk.status_label,
    })
    return env
