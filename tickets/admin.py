from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from aftersales.admin import ViewOnlyAdmin

from .models import (
    ApprovalRequest,
    Attachment,
    Delivery,
    Department,
    InboundMail,
    Incident,
    IncidentContact,
    IntakeEvent,
    IntakeSource,
    Mailbox,
    Message,
    Notification,
    OutboxEndpoint,
    ReplyTemplate,
    Solution,
    StaffProfile,
    Subtask,
    Tag,
    Ticket,
    TicketEvent,
)
from .replies import PLACEHOLDERS


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "actor", "action", "from_status", "to_status", "changes", "why"]
    readonly_fields = ["why"]

    @admin.display(description=_("reason"))
    def why(self, event):
        return event.reason_text
    readonly_fields = fields


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "channel", "author", "body"]
    readonly_fields = fields


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["created_at", "original_name", "content_type", "size", "uploaded_by"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(ViewOnlyAdmin):
    """Status changes only through the workflow, so status and its timestamps are read-only here."""

    list_display = [
        "number",
        "status",
        "type",
        "category",
        "priority",
        "risk_level",
        "channel",
        "customer",
        "order",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "type", "category", "priority", "risk_level", "channel", "responsibility", "tags"]
    search_fields = ["number", "customer__name", "customer__phone", "order__external_number", "description"]
    list_select_related = ["customer", "order", "assignee"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["customer", "order", "assignee"]
    filter_horizontal = ["tags"]
    raw_id_fields = ["affected_items"]
    readonly_fields = [
        "number",
        "status",
        "status_changed_at",
        "priority_reasons",
        "risk_reasons",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "archived_at",
    ]
    inlines = [MessageInline, AttachmentInline, TicketEventInline]

    def get_inlines(self, request, obj):
        return [SubtaskInline, *self.inlines]


@admin.register(TicketEvent)
class TicketEventAdmin(ViewOnlyAdmin):
    list_display = ["ticket", "created_at", "actor", "action", "from_status", "to_status"]
    list_filter = ["action"]
    search_fields = ["ticket__number", "reason"]
    list_select_related = ["ticket", "actor"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["ticket", "created_at", "direction", "channel", "author"]
    list_filter = ["direction", "channel"]
    search_fields = ["ticket__number", "body"]
    list_select_related = ["ticket", "author"]
    raw_id_fields = ["ticket"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["ticket", "original_name", "content_type", "size", "uploaded_by", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["ticket__number", "original_name"]
    list_select_related = ["ticket", "uploaded_by"]
    raw_id_fields = ["ticket", "message"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class SubtaskInline(ReadOnlyInline):
    model = Subtask
    fields = ["department", "kind", "status", "assignee", "due_at", "description", "result"]
    readonly_fields = fields


@admin.register(Subtask)
class SubtaskAdmin(ViewOnlyAdmin):
    """Read-only: subtasks move through tickets/subtasks.py so the parent ticket follows."""

    list_display = ["ticket", "department", "kind", "status", "assignee", "due_at", "created_at"]
    list_filter = ["department", "kind", "status"]
    search_fields = ["ticket__number", "description", "result"]
    list_select_related = ["ticket", "department", "assignee"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "subtask_target_hours", "calendar"]
    list_select_related = ["calendar"]
    search_fields = ["code", "name", "name_en"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    extra = 0


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class DeskUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["groups", "staff_profile__department", "staff_profile__on_duty", "is_active"]


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "ticket_type", "category", "language", "is_active"]
    list_filter = ["ticket_type", "category", "language", "is_active"]
    search_fields = ["name", "body"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body":  # the placeholders tickets/replies.py fills, each with what it becomes
            field.help_text = format_html_join(
                mark_safe("<br>"), "{{{}}}: {}", ((name, meaning) for name, meaning in PLACEHOLDERS.items())
            )
        return field


@admin.register(Solution)
class SolutionAdmin(ViewOnlyAdmin):
    list_display = ["ticket", "kind", "amount", "status", "confirmed_channel", "confirmed_at"]
    list_filter = ["kind", "status"]
    search_fields = ["ticket__number", "confirmed_text"]
    list_select_related = ["ticket"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ViewOnlyAdmin):
    list_display = ["ticket", "kind", "amount", "status", "requested_by", "decided_by", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["ticket", "requested_by", "decided_by"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "cause", "status", "product", "category", "window_start", "window_end"]
    list_filter = ["cause", "status", "category"]
    search_fields = ["title", "agreed_reply"]
    raw_id_fields = ["tickets", "product", "excluded_orders"]
    # The status moves only through tickets/incidents.py (confirm, resolve: locked, with who and when).
    readonly_fields = ["status", "confirmed_by", "resolved_by", "resolved_at"]

    def has_change_permission(self, request, obj=None):
        # A resolved or dismissed incident is a record (tickets/incidents.py refuses every change too).
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_closed)


@admin.register(IncidentContact)
class IncidentContactAdmin(ViewOnlyAdmin):
    list_display = ["incident", "customer", "ticket", "proactive", "replied_at"]
    list_filter = ["proactive"]
    list_select_related = ["incident", "customer", "ticket"]
    raw_id_fields = ["incident", "customer", "ticket"]


@admin.register(IntakeSource)
class IntakeSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "is_active"]
    list_filter = ["platform", "is_active"]


@admin.register(IntakeEvent)
class IntakeEventAdmin(ViewOnlyAdmin):
    list_display = ["platform", "external_id", "source", "ticket", "received_at"]
    list_filter = ["platform", "source"]
    search_fields = ["external_id", "ticket__number"]
    list_select_related = ["source", "ticket"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "is_active", "is_default", "imap_host", "smtp_host", "last_polled_at"]
    list_filter = ["is_active"]
    readonly_fields = ["uid_validity", "last_uid", "last_polled_at", "last_error"]
    fieldsets = [
        (None, {"fields": ["name", "address", "display_name", "is_active", "is_default"]}),
        (_("Incoming (IMAP)"), {"fields": ["imap_host", "imap_port", "imap_security", "imap_user", "imap_password",
                                          "imap_folder"]}),
        (_("Outgoing (SMTP)"), {"fields": ["smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password"]}),
        (_("Inbound-mail webhook"), {"fields": ["webhook_secret"]}),
        (_("Polling"), {"fields": ["uid_validity", "last_uid", "last_polled_at", "last_error"]}),
    ]

    def get_form(self, request, obj=None, **kwargs):
        # Secrets show as dots; kept in the form so that saving without retyping them keeps them.
        secrets = ("imap_password", "smtp_password", "webhook_secret")
        kwargs["widgets"] = {name: forms.PasswordInput(render_value=True) for name in secrets}
        return super().get_form(request, obj, **kwargs)


@admin.register(InboundMail)
class InboundMailAdmin(ViewOnlyAdmin):
    list_display = ["received_at", "mailbox", "sender", "subject", "state", "ticket"]
    list_filter = ["state", "mailbox"]
    search_fields = ["mail_id", "sender", "subject", "ticket__number"]
    list_select_related = ["mailbox", "ticket"]


@admin.register(OutboxEndpoint)
class OutboxEndpointAdmin(admin.ModelAdmin):
    list_display = ["platform", "url", "is_active", "timeout_seconds"]
    list_filter = ["platform", "is_active"]


@admin.register(Delivery)
class DeliveryAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "message", "channel", "recipient", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["channel", "state"]
    search_fields = ["recipient", "message__ticket__number", "key"]
    list_select_related = ["message"]


@admin.register(Notification)
class NotificationAdmin(ViewOnlyAdmin):
    list_display = ["recipient", "kind", "ticket", "created_at", "read_at", "email_sent_at"]
    list_filter = ["kind"]
    search_fields = ["ticket__number", "recipient__username", "dedupe_key"]
    list_select_related = ["recipient", "ticket"]


from .knowledge import admin as knowledge_admin  # noqa: E402,F401  (registers the knowledge base)
from .sla import admin as sla_admin  # noqa: E402,F401  (registers the SLA configuration)
