from django import template

from ..timeline import event_label as _event_label
from ..timeline import status_label as _status_label

register = template.Library()


@register.filter
def event_label(action: str) -> str:
    return _event_label(action)


@register.filter
def status_label(value: str) -> str:
    return _status_label(value)


@register.filter
def options(field) -> list[tuple[str, str, bool]]:
    """A filter bar select's options as (value, label, chosen), the empty choice left out. One list: a
    {% for %} over a model field's choices would COUNT them before reading them (a query more each)."""
    current = field.value()
    values = current if isinstance(current, list | tuple) else [current]
    chosen = {str(value) for value in values if value is not None}
    return [(str(value), label, str(value) in chosen) for value, label in field.field.choices if value != ""]
