"""Readable, translatable names for the timeline's event actions (stored as codes)."""

from django.utils.translation import gettext_lazy as _

from .incidents import IncidentEvent
from .models import Status
from .workflow import ACTION_LABELS

EVENT_LABELS = {
    **ACTION_LABELS,
    "created": _("Ticket taken in"),
    "classified": _("Classified"),
    "priority_overridden": _("Priority set by hand"),
    "risk_overridden": _("Risk set by hand"),
    "first_response": _("First response"),
    "attachment_added": _("Evidence attached"),
    "summary_written": _("Closing summary written"),
    "assigned": _("Assigned"),
    "reassigned": _("Reassigned"),
    "taken": _("Taken from the queue"),
    "subtask_created": _("Handed to a department"),
    "subtask_start": _("Department accepted"),
    "subtask_complete": _("Department finished"),
    "subtask_reject": _("Department gave it back"),
    "subtask_cancel": _("Subtask cancelled"),
    "subtask_due_soon": _("Subtask due soon"),
    "subtask_overdue": _("Subtask overdue"),
    "sla_started": _("SLA clock started"),
    "sla_paused": _("SLA paused"),
    "sla_resumed": _("SLA resumed"),
    "sla_recomputed": _("SLA due times recomputed"),
    "sla_warning": _("SLA warning"),
    "sla_breached": _("SLA breached"),
    "escalated": _("Escalated"),
    "follow_up_due": _("Follow-up due"),
    "follow_up_recorded": _("Follow-up recorded"),
    "solution_proposed": _("Solution proposed"),
    "solution_confirmed": _("Solution agreed by the customer"),
    "refund_requested": _("Refund requested"),
    "approval_decided": _("Approval decided"),
    "batch_approval_requested": _("Bulk refund sent for approval"),
    "batch_approved": _("Bulk refund approved"),
    "batch_rejected": _("Bulk refund rejected"),
    "platform_updated": _("Updated on the platform"),
    "platform_cancelled": _("Cancelled by the buyer on the platform"),
    **{event.value: event.label for event in IncidentEvent},
}


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value
