from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from aftersales.api import StrictInput
from aftersales.limits import TEXT_MAX_CHARS
from customers.models import Customer, Platform
from orders.models import Order, OrderItem

from ..models import Attachment, Message, Ticket, TicketEvent
from ..policies import contact_seen_by
from ..suggestions import reason_labels
from ..workflow import MANUAL_ACTIONS, available_actions
from .customers import CustomerContactMixin
from .orders import OrderItemSerializer


class CustomerBriefSerializer(CustomerContactMixin, serializers.ModelSerializer):
    """Name and platform account as the requesting user may see them (masked for department staff)."""

    class Meta:
        model = Customer
        fields = ["id", "name", "platform", "platform_account", "tier"]


class TicketEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    # The desk's own notes in the request's language; what a person typed as typed.
    reason = serializers.CharField(source="reason_text", read_only=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "created_at", "actor", "action", "from_status", "to_status", "changes", "reason"]


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)

    class Meta:
        model = Message
        fields = ["id", "created_at", "direction", "channel", "author", "body"]


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "created_at", "original_name", "content_type", "size"]


class TicketListSerializer(serializers.ModelSerializer):
    customer = CustomerBriefSerializer(read_only=True)
    order_number = serializers.CharField(source="order.external_number", default=None, allow_null=True, read_only=True)
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id", "number", "status", "type", "category", "priority", "risk_level", "responsibility",
            "channel", "customer", "order_number", "assignee", "created_at", "updated_at",
            "sla_state", "escalation_level", "first_response_due_at", "next_response_due_at", "resolution_due_at",
            "version",
        ]
        read_only_fields = fields

    # What a list reads (its view asks QuerySet.values() for these): the ticket's own fields above, the
    # customer's name, platform, account and tier, the order's number and the assignee's name. A page of 50
    # read as values, not as a Ticket, Customer, Order and User each, is read and written in half the time.
    COLUMNS = (*(name for name in Meta.fields if name not in ("customer", "order_number", "assignee")),
               "customer_id", "customer__name", "customer__platform", "customer__platform_account",
               "customer__tier", "order__external_number", "assignee__username")

    def to_representation(self, row):
        """What the declared fields above write (the schema is made from them), written out directly from a
        row of COLUMNS: through DRF's fields one by one, serialising a page of 50 tickets cost more than
        reading it. tests/api/test_ticket_list_shape.py holds the two to the same output."""
        contact = contact_seen_by(getattr(self.context.get("request"), "user", None),
                                  platform=row["customer__platform"], name=row["customer__name"],
                                  account=row["customer__platform_account"])
        zone = timezone.get_current_timezone()
        return {
            "id": row["id"], "number": row["number"], "status": row["status"], "type": row["type"],
            "category": row["category"], "priority": row["priority"], "risk_level": row["risk_level"],
            "responsibility": row["responsibility"], "channel": row["channel"],
            "customer": {"id": row["customer_id"], "name": contact["name"], "platform": row["customer__platform"],
                         "platform_account": contact["account"], "tier": row["customer__tier"]},
            "order_number": row["order__external_number"], "assignee": row["assignee__username"],
            "created_at": _iso_time(row["created_at"], zone), "updated_at": _iso_time(row["updated_at"], zone),
            "sla_state": row["sla_state"], "escalation_level": row["escalation_level"],
            "first_response_due_at": _iso_time(row["first_response_due_at"], zone),
            "next_response_due_at": _iso_time(row["next_response_due_at"], zone),
            "resolution_due_at": _iso_time(row["resolution_due_at"], zone),
            "version": row["version"],
        }


def _iso_time(value, zone) -> str | None:
    """A time as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


class TicketDetailSerializer(TicketListSerializer):
    affected_items = OrderItemSerializer(many=True, read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    priority_reason_labels = serializers.SerializerMethodField()
    risk_reason_labels = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()
    sla_policy_name = serializers.CharField(source="sla_policy.name", default=None, allow_null=True, read_only=True)
    timeline = TicketEventSerializer(source="events", many=True, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    # Field by field: the list's shortcut writes only the list's fields.
    to_representation = serializers.ModelSerializer.to_representation

    class Meta(TicketListSerializer.Meta):
        fields = TicketListSerializer.Meta.fields + [
            "description", "customer_request", "requested_amount", "product_model", "purchase_date", "symptom",
            "frequency", "threatens_exposure", "platform_intervention", "tags", "affected_items",
            "priority_reasons", "priority_reason_labels", "priority_overridden", "risk_reasons",
            "risk_reason_labels", "risk_overridden", "root_cause", "summary", "what_worked", "reopen_count",
            "close_outcome", "status_changed_at", "first_response_at",
            "resolved_at", "closed_at", "archived_at", "follow_up_due_at", "sla_policy_name", "sla_paused_at",
            "available_actions", "timeline", "messages", "attachments",
        ]
        read_only_fields = fields

    def get_priority_reason_labels(self, ticket) -> list[str]:
        return reason_labels(ticket.priority_reasons)

    def get_risk_reason_labels(self, ticket) -> list[str]:
        return reason_labels(ticket.risk_reasons)

    def get_available_actions(self, ticket) -> list[str]:
        return available_actions(ticket)


class TicketCreateSerializer(StrictInput, serializers.ModelSerializer):
    """Intake. Name the customer, or the order (by id or by its platform number) and the customer follows."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False)
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all(), required=False)
    order_number = serializers.CharField(required=False, write_only=True, max_length=64)
    order_platform = serializers.ChoiceField(choices=Platform.choices, required=False, write_only=True)
    affected_items = serializers.PrimaryKeyRelatedField(
        many=True, queryset=OrderItem.objects.all(), required=False
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    assign_automatically = serializers.BooleanField(
        required=False, default=False, write_only=True,
        help_text="The person who creates the ticket keeps it, unless this is true (automatic assignment).",
    )

    class Meta:
        model = Ticket
        fields = [
            "assign_automatically",
            "channel", "customer", "order", "order_number", "order_platform", "affected_items", "description",
            "customer_request", "requested_amount", "product_model", "purchase_date", "symptom", "frequency",
            "threatens_exposure", "platform_intervention", "type", "category", "tags",
        ]
        extra_kwargs = {"requested_amount": {"min_value": 0}, "description": {"max_length": TEXT_MAX_CHARS},
                        "customer_request": {"max_length": TEXT_MAX_CHARS}, "symptom": {"max_length": TEXT_MAX_CHARS}}

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("order") and not attrs.get("order_number"):
            raise serializers.ValidationError(
                {"order_number": _("Give the order number (or the customer when there is no order).")}
            )
        return attrs


def document_ticket_create_rule(result, generator, request, public):
    """drf-spectacular postprocessing hook: TicketCreateSerializer.validate's rule in the schema, so a
    client (and schemathesis) knows a ticket needs a customer, an order or an order number."""
    create = result.get("components", {}).get("schemas", {}).get("TicketCreateRequest")
    if create is not None:
        create["anyOf"] = [
            {"required": ["customer"]},
            {"required": ["order"]},
            {"required": ["order_number"], "properties": {"order_number": {"minLength": 1}}},
        ]
    return result


class TransitionSerializer(StrictInput, serializers.Serializer):
    action = serializers.ChoiceField(choices=MANUAL_ACTIONS)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    version = serializers.IntegerField(required=False, min_value=1, write_only=True)


class ClassifySerializer(StrictInput, serializers.Serializer):
    type = serializers.ChoiceField(choices=Ticket._meta.get_field("type").choices, required=False)
    category = serializers.ChoiceField(choices=Ticket._meta.get_field("category").choices, required=False)
    responsibility = serializers.ChoiceField(
        choices=Ticket._meta.get_field("responsibility").choices, required=False
    )
    product_model = serializers.CharField(required=False, allow_blank=True, max_length=100)
    symptom = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_CHARS)
    frequency = serializers.CharField(required=False, allow_blank=True, max_length=100)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, min_value=1, write_only=True)


class TicketUpdateSerializer(ClassifySerializer):
    """PATCH: the editable facts of a ticket; send `version` (or If-Match) to refuse stale writes."""

    description = serializers.CharField(required=False, allow_blank=False, max_length=TEXT_MAX_CHARS)
    customer_request = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX_CHARS)
    requested_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    purchase_date = serializers.DateField(required=False, allow_null=True)
    threatens_exposure = serializers.BooleanField(required=False)
    platform_intervention = serializers.BooleanField(required=False)


class MessageCreateSerializer(StrictInput, serializers.Serializer):
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    body = serializers.CharField(max_length=TEXT_MAX_CHARS)


class AttachmentUploadSerializer(StrictInput, serializers.Serializer):
    file = serializers.FileField()
    message = serializers.IntegerField(required=False, help_text="Attach to this message of the ticket.")


class StaleVersionSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    current_version = serializers.IntegerField()
    current = serializers.DictField()


class TransitionRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    status = serializers.CharField()
    action = serializers.CharField()
    reason = serializers.CharField()
