"""The ticket app's models. The case core lives in this package; the features' models live in their
packages and are imported here, after the core, because Django registers an app's models from
`<app>.models`."""
# isort: skip_file
# ruff: noqa: F401

from .choices import (
    OPEN_EITHER, OPEN_STATUSES, Category, Channel, CloseOutcome, Priority, Responsibility, RiskLevel, SLAState,
    Status, TicketType,
)
from .people import Department, StaffProfile, Tag
from .ticket import Message, Ticket, TicketEvent, TicketQuerySet, Versioned, ticket_earliest_due
from .subtask import Attachment, Subtask, attachment_path
from .intake import IntakeEvent, IntakeSource, ReplyTemplate
from .channels import Delivery, InboundMail, Mailbox, OutboxEndpoint

from ..notifications import Notification
from ..sla.models import BusinessCalendar, CalendarDay, PromoPeriod, SLACheck, SLAPolicy, WorkingInterval
from ..followup.models import FollowUp, SatisfactionSurvey
from ..knowledge.models import KnowledgeArticle
from ..playbook.models import ApprovalRequest, Solution
from ..incidents.models import Incident, IncidentContact
from ..pricediff.models import PriceDiffBatch, PriceDiffRow
from ..expert.models import Macro, SavedView
