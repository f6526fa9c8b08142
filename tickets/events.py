"""The timeline's vocabulary and its one writer.

Every action a TicketEvent records is an EventAction, with its label in both languages (a test fails when
one has no label or no zh-Hans translation). Services write events only through `event_record` (one
event) or `event_build` + `events_record` (a batch): an action outside the vocabulary is refused there,
before anything is written, so the timeline never shows a raw code. A reason the desk writes by itself
is a `tickets.notes.note`, stored as its msgid and parameters and read in each reader's language.
"""

import json
from typing import NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import TicketEvent
from .notes import Note


class EventAction(models.TextChoices):
    # The ticket lifecycle's own moves (tickets.workflow.Action), recorded under the same code; the labels
    # are also the buttons' names.
    TRIAGE = "triage", _("Triage")
    START = "start", _("Start work")
    WAIT_CUSTOMER = "wait_customer", _("Wait for customer")
    RESUME = "resume", _("Resume")
    RESOLVE = "resolve", _("Resolve")
    CLOSE = "close", _("Close")
    ARCHIVE = "archive", _("Archive")
    REOPEN = "reopen", _("Reopen")
    WAIT_DEPARTMENT = "wait_department", _("Wait for department")
    DEPARTMENT_DONE = "department_done", _("Departments done")
    # Intake and the case's facts.
    CREATED = "created", _("Ticket taken in")
    CLASSIFIED = "classified", _("Classified")
    PRIORITY_OVERRIDDEN = "priority_overridden", _("Priority set by hand")
    RISK_OVERRIDDEN = "risk_overridden", _("Risk set by hand")
    FIRST_RESPONSE = "first_response", _("First response")
    ATTACHMENT_ADDED = "attachment_added", _("Evidence attached")
    SUMMARY_WRITTEN = "summary_written", _("Closing summary written")
    PLATFORM_UPDATED = "platform_updated", _("Updated on the platform")
    PLATFORM_CANCELLED = "platform_cancelled", _("Cancelled by the buyer on the platform")
    # Who has it.
    ASSIGNED = "assigned", _("Assigned")
    REASSIGNED = "reassigned", _("Reassigned")
    TAKEN = "taken", _("Taken from the queue")
    TAKEN_AT_INTAKE = "taken_at_intake", _("Taken by the agent who took the contact")
    HANDED_TO_SENIOR = "handed_to_senior", _("Handed to a senior agent")
    HIGH_RISK_KEPT = "high_risk_kept", _("Kept by the agent although high risk")
    # Departments.
    SUBTASK_CREATED = "subtask_created", _("Handed to a department")
    SUBTASK_START = "subtask_start", _("Department accepted")
    SUBTASK_COMPLETE = "subtask_complete", _("Department finished")
    SUBTASK_REJECT = "subtask_reject", _("Department gave it back")
    SUBTASK_CANCEL = "subtask_cancel", _("Subtask cancelled")
    SUBTASK_DUE_SOON = "subtask_due_soon", _("Subtask due soon")
    SUBTASK_OVERDUE = "subtask_overdue", _("Subtask overdue")
    # The SLA clock.
    SLA_STARTED = "sla_started", _("SLA clock started")
    SLA_PAUSED = "sla_paused", _("SLA paused")
    SLA_RESUMED = "sla_resumed", _("SLA resumed")
    SLA_RECOMPUTED = "sla_recomputed", _("SLA due times recomputed")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    ESCALATED = "escalated", _("Escalated")
    # The playbook: solutions, refunds, approvals, bulk price differences.
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    SOLUTION_CONFIRMED = "solution_confirmed", _("Solution agreed by the customer")
    REFUND_REQUESTED = "refund_requested", _("Refund requested")
    APPROVAL_DECIDED = "approval_decided", _("Approval decided")
    BATCH_APPROVAL_REQUESTED = "batch_approval_requested", _("Bulk refund sent for approval")
    BATCH_APPROVED = "batch_approved", _("Bulk refund approved")
    BATCH_REJECTED = "batch_rejected", _("Bulk refund rejected")
    # Incidents: the reason names the incident.
    INCIDENT_JOINED = "incident_joined", _("Grouped into an incident")
    INCIDENT_PROACTIVE_OPENED = "incident_proactive_opened", _("Opened by us for an incident")
    INCIDENT_REPLY_SENT = "incident_reply_sent", _("Incident's agreed reply sent")
    INCIDENT_RESOLVED = "incident_resolved", _("Resolved with its incident")
    # Closing the loop with the customer.
    CUSTOMER_LINK_ISSUED = "customer_link_issued", _("Customer link sent")
    CUSTOMER_LINK_RENEWED = "customer_link_renewed", _("Customer link renewed")
    CUSTOMER_LINK_TEXTED = "customer_link_texted", _("Customer link sent by SMS")
    SURVEY_ANSWERED = "survey_answered", _("Customer answered the survey")
    FOLLOW_UP_DUE = "follow_up_due", _("Follow-up due")
    FOLLOW_UP_RECORDED = "follow_up_recorded", _("Follow-up recorded")
    CLOSE_OUTCOME_CHANGED = "close_outcome_changed", _("Follow-up outcome changed")
    # Conversations: a reply that could not reach the customer (the reason says why and on which channel).
    MESSAGE_UNDELIVERED = "message_undelivered", _("Reply not delivered")
    # Expert agents: a supervisor's macro applied in one click; the reason names the macro.
    MACRO_APPLIED = "macro_applied", _("Macro applied")


def event_build(**fields) -> TicketEvent:
    """An unsaved event (for a batch written with `events_record`). ValueError for an action outside the
    vocabulary."""
    fields["action"] = EventAction(fields["action"])
    if "reason" in fields:
        fields["note"], fields["reason"] = _note_and_reason(fields["reason"])
    return TicketEvent(**fields)


def _note_and_reason(reason) -> tuple[list, str]:
    """The desk's own words (a Note) kept as msgid + parameters; a person's reason as typed."""
    return (reason.parts, "") if isinstance(reason, Note) else ([], reason)


def event_record(**fields) -> TicketEvent:
    """Write one event, in the caller's transaction."""
    event = event_build(**fields)
    event.save(force_insert=True)
    return event


def events_record(events: list[TicketEvent]) -> list[TicketEvent]:
    """Write a batch built with `event_build`."""
    return TicketEvent.objects.bulk_create(events)


class EventRow(NamedTuple):
    """An event as a plain row, for `events_record_rows` (made by `event_row`)."""

    ticket_id: int
    actor_id: int | None
    action: str
    changes: dict
    reason: str
    note: list


def event_row(*, ticket_id: int, action: str, changes: dict | None = None, reason: str = "",
              actor_id: int | None = None) -> EventRow:
    """An event as a plain row (for `events_record_rows`). ValueError for an action outside the vocabulary."""
    note, reason = _note_and_reason(reason)
    return EventRow(ticket_id, actor_id, EventAction(action).value, changes or {}, reason, note)


def events_record_rows(rows: list[EventRow]) -> None:
    """Write many events in the caller's transaction, on PostgreSQL in one INSERT reading one JSON document.

    For a sweep's catch-up (~4 events per due ticket): building and saving a model instance per event cost
    more CPU than everything else the sweep does. The rows are what `events_record` would write."""
    if not rows:
        return
    now = timezone.now()  # one stamp, as auto_now_add would give within a moment
    if connection.vendor != "postgresql":
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket_id=r.ticket_id, actor_id=r.actor_id, action=r.action, changes=r.changes,
                        reason=r.reason, note=r.note)
            for r in rows
        )
        return
    # The rows as one JSON document, not one array per column: psycopg2 spells an array out as ARRAY[…] with
    # every element quoted, which PostgreSQL then parses as an expression (4,000 notices: ~290 ms sent and
    # read that way, ~36 ms as JSON). DjangoJSONEncoder: what the `changes` field itself encodes with.
    payload = json.dumps(
        [(r.ticket_id, r.actor_id, r.action, r.changes, r.reason, r.note) for r in rows],
        cls=DjangoJSONEncoder, ensure_ascii=False,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(TicketEvent._meta.db_table)} "
            "(ticket_id, actor_id, action, changes, reason, note, from_status, to_status, created_at) "
            "SELECT (e->>0)::bigint, (e->>1)::integer, e->>2, e->3, e->>4, e->5, '', '', %s "
            "FROM jsonb_array_elements(%s::jsonb) AS e",
            [now, payload],
        )


def event_label(action: str) -> str:
    """The action's name in the reader's language; an unknown code (none should exist) as it is."""
    try:
        return str(EventAction(action).label)
    except ValueError:
        return action
