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
