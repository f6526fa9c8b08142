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
def chosen(option, current) -> bool:
    """Is the option among a bound field's current value(s), one value or a list (filter bar selects)?"""
    if current is None:
        return False
    values = current if isinstance(current, list | tuple) else [current]
    return str(option) in {str(value) for value in values}
