"""Status tables for the models that move through states beside the ticket and the subtask (which have
their own, with actions and timeline: tickets.workflow, tickets.subtasks).

Each model declares `status_flow = StatusFlow({target: sources})`; services change a status only through
`move` (one locked row) or `move_all` (a set), so a move the table does not allow is refused in one
place with one message. A test greps the product for any other status write.
"""

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _


class ActionRefused(Exception):
    """A move the object's current state does not allow; nothing was changed. Answered 409 with the
    object's status, the action and the reason by aftersales.api (tickets.workflow.TransitionRefused for tickets
    and subtasks)."""

    code = "action_refused"

    def __init__(self, message: str, *, status: str, action: str, reason: str):
        self.status, self.action, self.reason = status, action, reason
        super().__init__(message)


class StaleVersion(Exception):
    """The writer saw an older version of the ticket or subtask than the one stored now."""

    def __init__(self, *, current: int, expected: int):
        self.current, self.expected = current, expected
        super().__init__(
            _("Someone else changed this in the meantime (your version %(expected)d, now %(current)d). "
              "Reload and try again.") % {"expected": expected, "current": current}
        )


class StatusFlow:
    def __init__(self, moves: Mapping[str, Iterable[str]]):
        self.moves = {target: frozenset(sources) for target, sources in moves.items()}

    def allows(self, current: str, target: str) -> bool:
        return current in self.moves.get(target, ())

    def move(self, obj, target: str, **fields) -> None:
        """Move a row the caller has locked (select_for_update in the running transaction) and save the
        status with `fields`; ValidationError naming "status" when the table does not allow it."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("StatusFlow.move runs inside the transaction that locked the row")
        if not self.allows(obj.status, target):
            labels = dict(obj._meta.get_field("status").flatchoices)
            raise ValidationError({"status": _("This %(object)s is %(status)s; it cannot become %(target)s.") % {
                "object": obj._meta.verbose_name, "status": obj.get_status_display(),
                "target": labels.get(target, target)}})
        obj.status = target
        for name, value in fields.items():
            setattr(obj, name, value)
        updated = ["status", *fields]
        if any(field.name == "updated_at" for field in obj._meta.concrete_fields):
            updated.append("updated_at")
        obj.save(update_fields=updated)

    def move_all(self, queryset, target: str, **fields) -> int:
        """Move every row of `queryset` the table allows to `target` in one statement; how many moved."""
        sources = self.moves[target]
        return queryset.filter(status__in=sources).update(status=target, **fields)
