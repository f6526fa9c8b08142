"""The ticket's vocabularies: statuses, channels, types, categories, priorities, outcomes."""


from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    """The ticket lifecycle; transitions live only in tickets/workflow.py."""

    NEW = "new", _("New")  # 受理: taken in, not yet classified
    TRIAGED = "triaged", _("Triaged")  # 已分类: type and category known, nobody working it yet
    IN_PROGRESS = "in_progress", _("In progress")  # 处理中: an agent works it
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")  # 待客户回复: SLA clock paused
    WAITING_DEPARTMENT = "waiting_department", _("Waiting for department")  # 待部门处理: subtasks open
    RESOLVED = "resolved", _("Resolved")  # 已解决: waiting for the customer's confirmation / follow-up
    CLOSED = "closed", _("Closed")  # 已关闭: confirmed, rated or silent past the follow-up window
    ARCHIVED = "archived", _("Archived")  # 已归档: summary written; read-only from here on


OPEN_STATUSES = (
    Status.NEW,
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.WAITING_CUSTOMER,
    Status.WAITING_DEPARTMENT,
)
# The same set as an OR of equalities (partial index conditions, see Ticket.Meta.indexes).
OPEN_EITHER = Q(*[("status", s) for s in OPEN_STATUSES], _connector=Q.OR)


class Channel(models.TextChoices):
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SOCIAL = "social", _("Social media")
    PLATFORM = "platform", _("Platform after-sales request")  # arrived by the intake webhook
    PLATFORM_DISPUTE = "platform_dispute", _("Platform dispute")
    CUSTOMER_LINK = "customer_link", _("Customer link")  # the customer acted on their signed link
    OTHER = "other", _("Other")


class TicketType(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")  # 咨询
    COMPLAINT = "complaint", _("Complaint")  # 投诉
    RETURN_REFUND = "return_refund", _("Return and refund")  # 退货退款
    REFUND_ONLY = "refund_only", _("Refund only")  # 仅退款
    EXCHANGE = "exchange", _("Exchange")  # 换货
    RESHIP = "reship", _("Reship missing or wrong item")  # 补寄
    REPAIR = "repair", _("Repair")  # 维修
    PRICE_DIFFERENCE = "price_difference", _("Price difference")  # 退差/价保
    TECH_SUPPORT = "tech_support", _("Technical support")  # 技术支持


class Category(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    LOGISTICS = "logistics", _("Logistics / delivery")
    WRONG_OR_MISSING_ITEM = "wrong_or_missing_item", _("Wrong or missing item")
    USAGE = "usage", _("Usage question")
    PRICE = "price", _("Price")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    P1 = "P1", _("P1 urgent")
    P2 = "P2", _("P2 high")
    P3 = "P3", _("P3 normal")
    P4 = "P4", _("P4 low")


class Responsibility(models.TextChoices):
    """责任方: who caused the problem; drives who pays and the shop's metrics."""

    UNDETERMINED = "undetermined", _("Undetermined")
    MERCHANT = "merchant", _("Merchant")
    CUSTOMER = "customer", _("Customer")
    THIRD_PARTY = "third_party", _("Third party (e.g. courier)")


class SLAState(models.TextChoices):
    NONE = "none", _("No SLA")  # no clock running (closed, or no policy matched)
    ON_TRACK = "on_track", _("On track")
    WARNING = "warning", _("Warning")  # a warning threshold has passed
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused")  # waiting on the customer


class CloseOutcome(models.TextChoices):
    """How the follow-up (回访) ended when the ticket closed."""

    CONFIRMED = "confirmed", _("Customer confirmed it is solved")
    RATED = "rated", _("Customer confirmed and rated")
    SILENT = "silent", _("No answer from the customer")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
