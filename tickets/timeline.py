"""Readable, translatable names for the timeline: actions (tickets.events) and statuses."""

from .events import event_label
from .models import Status

__all__ = ["event_label", "status_label"]


def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value
