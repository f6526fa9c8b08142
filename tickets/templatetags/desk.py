"""Filters and tags of the desk's templates. The ones a list calls once per row (`with_id`,
`sla_badge`, `short_time`) are plain Python on purpose: as `{% url %}`, an `{% include %}` and the `date`
filter they were most of the queue's and the dashboard's rendering time (issue 21)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django import template
from django.conf import settings
from django.forms.models import ModelChoiceIterator
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timeuntil
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..forms import desk_workers, worker_label
from ..live import desk_shared
from ..models import SLAState
from ..timeline import event_label as _event_label
from ..timeline import status_label as _status_label

register = template.Library()

# An id no row has, reversed in its place: what surrounds it is the URL of every id.
_ID_MARK = 9081726354
SELECTED = mark_safe(" selected")


@register.filter
def event_label(action: str) -> str:
    return _event_label(action)


@register.filter
def status_label(value: str) -> str:
    return _status_label(value)


@register.simple_tag
def filter_options(field) -> str:
    """A filter bar select's <option>s, the chosen ones selected, the empty choice left out. The choices
    are read once (a {% for %} over a model field's choices would COUNT them first: a query more each)
    and written here: looped over in the template, the bar's hundred-odd options cost as much as the rows."""
    current = field.value()
    values = current if isinstance(current, list | tuple) else [current]
    chosen = {str(value) for value in values if value is not None}
    choices = field.field.choices
    if isinstance(choices, ModelChoiceIterator):
        options = _model_options(field.field)
    else:  # the same few lists on every page, only the language changing: kept by their words
        options = _choice_options(tuple((str(value), str(label)) for value, label in choices))
    return mark_safe("".join(f"{head}{SELECTED if value in chosen else ''}{tail}" for value, head, tail in options))


def _options(choices) -> tuple[tuple[str, str, str], ...]:
    """Each choice as (value, its <option> tag up to where " selected" goes, the rest), escaped."""
    return tuple((str(value), format_html('<option value="{}"', value), format_html(">{}</option>", label))
                 for value, label in choices if value != "")


@lru_cache(maxsize=256)
def _choice_options(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    return _options(choices)


def _shared(key: str, read):
    """A whole table's choices, shared for SHARED_CHOICES_SECONDS (live.desk_shared; 0: read every time):
    someone added is offered within that time; choosing someone is checked by the form or the action
    itself, so a stale list never lets a wrong choice through."""
    return desk_shared(key, read, seconds=settings.SHARED_CHOICES_SECONDS)


def _model_options(form_field) -> tuple[tuple[str, str, str], ...]:
    """A model choice field's options (_options). Over a whole table they are the same on every page: shared
    (_shared; their query and instances cost as much as the bar's other nine selects together)."""
    def read() -> tuple[tuple[str, str, str], ...]:  # one plain SELECT: iterating `choices` opens a server-side cursor
        return _options(map(form_field.choices.choice, form_field.queryset))

    queryset = form_field.queryset
    if queryset.query.where:  # narrowed for this request
        return read()
    return _shared(f"filter-options:{queryset.model._meta.label_lower}:{form_field.to_field_name or 'pk'}", read)


def worker_options() -> str:
    """The desk's workers (desk_workers) as <option>s, by the name colleagues know them by: the dashboard's
    reassign selects take them. Shared like a filter's whole table (_shared)."""
    def read() -> str:
        return "".join(head + tail for _value, head, tail in _options(
            (user.pk, worker_label(user)) for user in desk_workers()))

    return mark_safe(_shared("worker-options", read))  # noqa: S308 (escaped by _options)


@dataclass(frozen=True)
class IdUrl:
    """The URL of a view that takes an object's id, reversed once for a whole list: what surrounds an id."""

    head: str
    tail: str


@register.simple_tag
def id_url(viewname: str) -> IdUrl:
    """`{% id_url "tickets:detail" as ticket_url %}` once, then `{{ ticket_url|with_id:t.pk }}` in each row
    of a list: as `{% url "tickets:detail" t.pk %}` a reverse() per row and link cost more than the rest of
    the row."""
    head, _mark, tail = reverse(viewname, args=[_ID_MARK]).rpartition(str(_ID_MARK))
    return IdUrl(head, tail)


@register.filter
def with_id(url: IdUrl, pk) -> str:
    return f"{url.head}{int(pk)}{url.tail}"


@register.filter(expects_localtime=True)
def short_time(value) -> str:
    """`|date:"m-d H:i"` (12-06 09:30) in the user's time zone, for a column of times."""
    return value.strftime("%m-%d %H:%M") if value else ""


# Up to four weeks ahead timeuntil() counts no calendar month: its words depend on the whole minutes left alone.
_MEMO_SECONDS = 27 * 86400
_ANY_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)


def time_left(due: datetime) -> str:
    """timeuntil(due) ("2 hours, 5 minutes"), read from a memo by language and whole minutes when that is all
    its words depend on: a list of SLA badges called it for every row, a fifth of the badge's time."""
    seconds = (due - timezone.now()).total_seconds()
    if not 0 <= seconds < _MEMO_SECONDS:
        return timeuntil(due)
    return _minutes_left(get_language(), int(seconds // 60))


@lru_cache(maxsize=4096)
def _minutes_left(_language: str, minutes: int) -> str:
    return timeuntil(_ANY_MOMENT + timedelta(minutes=minutes), _ANY_MOMENT)


@register.simple_tag
def sla_badge(ticket) -> str:
    """A ticket's SLA: paused, breached, or the time left to the nearest due time (the full time in the
    title); its escalation level; and, when the calendar stops the clock now (`ticket.clock_stop`, set by
    with_clock_stops), why and until when."""
    due = ticket.sla_next_due_at
    if ticket.sla_state == SLAState.PAUSED:
        badge = format_html('<span class="sla sla-paused">{}</span>', _("Paused"))
    elif due:
        text = _("Breached") if ticket.sla_state == SLAState.BREACHED else time_left(due)
        badge = format_html('<span class="sla sla-{}" title="{}">{}</span>', ticket.sla_state,
                            template_localtime(due).strftime("%Y-%m-%d %H:%M"), text)
    else:
        badge = mark_safe('<span class="muted">—</span>')
    if ticket.escalation_level:
        badge += format_html(' <span class="esc" title="{}">↑{}</span>', _("Escalation level"),
                             ticket.escalation_level)
    stop = getattr(ticket, "clock_stop", None)  # lists that do not ask for the stops show none
    if stop:
        resumes = template_localtime(stop.resumes_at).strftime("%m-%d %H:%M")
        badge += format_html('<br><small class="sla-stopped">{}</small>',
                             _("clock stopped: %(why)s, resumes %(resumes)s") % {"why": stop.why, "resumes": resumes})
    return badge


class _PartNode(template.Node):
    def __init__(self, name: str, nodelist):
        self.name, self.nodelist = name, nodelist

    def render(self, context) -> str:
        return ""  # rendered by the {% jinja %} around it, into the Jinja2 template's context


class _JinjaNode(template.Node):
    def __init__(self, template_name: str, nodelist):
        self.template_name, self.nodelist = template_name, nodelist

    def render(self, context) -> str:
        parts = {part.name: part.nodelist.render(context) for part in self.nodelist.get_nodes_by_type(_PartNode)}
        jinja = engines["jinja2"].env.get_template(self.template_name)
        return mark_safe(jinja.render({**context.flatten(), **parts}))  # escaped by Jinja2


@register.tag
def jinja(parser, token):
    """`{% jinja "base.html" %}{% part shell_title %}…{% endpart %}…{% endjinja %}`: a Jinja2 template
    (templates/jinja2/) rendered with this template's context and each part's HTML as a variable. How a
    Django page gets the desk's one shell, which the hot pages (Jinja2) extend; a part may hold Django
    `{% block %}`s for the pages extending this one to fill."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError('{% jinja "template.html" %} takes one template name')
    nodelist = parser.parse(("endjinja",))
    parser.delete_first_token()
    return _JinjaNode(bits[1][1:-1], nodelist)


@register.tag
def part(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% part name %} takes one variable name")
    nodelist = parser.parse(("endpart",))
    parser.delete_first_token()
    return _PartNode(bits[1], nodelist)
