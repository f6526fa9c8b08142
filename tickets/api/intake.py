"""POST /api/v1/intake/: what the shop's platform integration reports, signed per source (see tickets/intake.py):
an after-sales event (kind absent or "aftersale"), a line the buyer wrote in the chat ("message"), or what became
of a reply we posted to the chat ("delivery")."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api import SharedFieldSetup, StrictInput, conflict
from aftersales.limits import without_control_characters
from aftersales.throttling import SignedWebhookThrottle
from customers.models import Platform

from ..intake import (
    PLATFORM_CANCELLED,
    PLATFORM_REQUESTED,
    PLATFORM_TYPES,
    ChatRefused,
    SignatureInvalid,
    intake_accept,
    intake_event_for_receipt,
    intake_message_receive,
    intake_repeat,
    intake_verify,
)
from ..models import IntakeEvent, TicketType
from ..outbound.reports import DELIVERED, FAILED, ReportRefused, delivery_report

# Host up to 253 characters (RFC 1035), then path, query or fragment; no spaces or control characters.
EVIDENCE_URL = r"^https?://[^\s/?#\x00-\x1f\x7f-\x9f]{1,253}(?:[/?#][^\s\x00-\x1f\x7f-\x9f]*)?$"


@extend_schema_field({"type": "string", "maxLength": 1000, "pattern": EVIDENCE_URL})
class EvidenceUrlField(serializers.CharField):
    """An http(s) link to a picture at the platform. Only the scheme and the shape are checked: the desk
    shows it as a link and never fetches it, and platforms' CDN hosts need not pass Django's stricter
    URLValidator."""

    def __init__(self, **kwargs):
        super().__init__(
            max_length=1000, validators=[RegexValidator(EVIDENCE_URL, gettext_lazy("Give an http(s) link."))], **kwargs
        )


# An identifier keeps at least one visible character once control characters are cleaned and spaces trimmed
# (otherwise it is blank and refused); the schema says so for the generated clients.
HAS_VISIBLE = RegexValidator(r"[^\s\x00-\x1f\x7f-\x9f]", gettext_lazy("This field may not be blank."))

DEADLINE_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DEADLINE_HORIZON = timedelta(days=366)

# Our types, then every platform's own codes (which platform a code belongs to is checked on receipt).
INTAKE_TYPES = [*TicketType.values, *sorted({code for codes in PLATFORM_TYPES.values() for code in codes}, key=int)]


KIND_AFTERSALE, KIND_MESSAGE, KIND_DELIVERY = "aftersale", "message", "delivery"


class IntakePayloadSerializer(SharedFieldSetup, StrictInput, serializers.Serializer):
    refuses_unknown_fields = False  # platforms add fields; the integration may pass them through

    kind = serializers.ChoiceField(
        choices=[KIND_AFTERSALE], required=False, help_text="Absent or `aftersale`: an after-sales event."
    )
    platform = serializers.ChoiceField(choices=Platform.choices)
    aftersale_id = serializers.CharField(
        max_length=100, validators=[HAS_VISIBLE], help_text="The platform's after-sales (refund) id."
    )
    order_id = serializers.CharField(max_length=64, validators=[HAS_VISIBLE], help_text="The platform order number.")
    buyer_account = serializers.CharField(max_length=100, validators=[HAS_VISIBLE])
    buyer_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    type = serializers.ChoiceField(
        choices=INTAKE_TYPES,
        help_text="Our type (return_refund, refund_only, exchange, ...) or the platform's own code, as text: "
        + "; ".join(
            f"{platform}: " + ", ".join(f"{code}={kind}" for code, kind in codes.items())
            for platform, codes in PLATFORM_TYPES.items()
        )
        + ".",
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Yuan. Platforms that send fen: use amount_fen.",
    )
    amount_fen = serializers.IntegerField(min_value=0, max_value=10**12 - 1, required=False, allow_null=True)
    evidence_urls = serializers.ListField(child=EvidenceUrlField(), required=False, max_length=20)
    platform_intervention = serializers.BooleanField(required=False, default=False)
    status = serializers.ChoiceField(
        choices=[(PLATFORM_REQUESTED, "requested"), (PLATFORM_CANCELLED, "cancelled")],
        required=False,
        default=PLATFORM_REQUESTED,
        help_text="The request's state on the platform; a later event with `cancelled` means the buyer withdrew it.",
    )
    created_at = serializers.DateTimeField(required=False)
    deadline_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The platform's deadline for the shop (e.g. refund_remind_timeout); from 2000 to a year from now.",
    )

    def validate_deadline_at(self, value):
        # The SLA clock runs to this moment over the shop's working hours; a platform's deadline is days away.
        if value is not None and not DEADLINE_EARLIEST <= value <= timezone.now() + DEADLINE_HORIZON:
            raise serializers.ValidationError(_("A deadline from 2000 to a year from now."))
        return value

    def validate(self, attrs):
        fen = attrs.pop("amount_fen", None)
        if fen is not None and attrs.get("amount") is None:
            attrs["amount"] = Decimal(fen) / 100
        return attrs


class ChatMessageSerializer(SharedFieldSetup, StrictInput, serializers.Serializer):
    refuses_unknown_fields = False  # as the after-sales event: the integration may pass the platform's fields on

    kind = serializers.ChoiceField(choices=[KIND_MESSAGE])
    platform = serializers.ChoiceField(choices=Platform.choices)
    aftersale_id = serializers.CharField(
        max_length=100, validators=[HAS_VISIBLE], required=False,
        help_text="The case's after-sales id (as in its after-sales event). Give this or order_id.",
    )
    order_id = serializers.CharField(
        max_length=64, validators=[HAS_VISIBLE], required=False,
        help_text="Without aftersale_id: the order's one open case (several open: refused with 409).",
    )
    message_id = serializers.CharField(
        max_length=100, validators=[HAS_VISIBLE], help_text="The platform's id of the chat message: reported twice, "
        "stored once."
    )
    text = serializers.CharField(max_length=5000, validators=[HAS_VISIBLE], help_text="What the buyer wrote.")
    sent_at = serializers.DateTimeField(help_text="When the buyer wrote it (the message's place in the timeline).")
    evidence_urls = serializers.ListField(child=EvidenceUrlField(), required=False, max_length=20)

    def validate(self, attrs):
        if not attrs.get("aftersale_id") and not attrs.get("order_id"):
            raise serializers.ValidationError({"aftersale_id": _("Give the after-sales id or the order id.")})
        return attrs


class DeliveryReportSerializer(SharedFieldSetup, StrictInput, serializers.Serializer):
    refuses_unknown_fields = False

    kind = serializers.ChoiceField(choices=[KIND_DELIVERY])
    idempotency_key = serializers.UUIDField(help_text="The key our outbound webhook sent with the reply.")
    state = serializers.ChoiceField(choices=[DELIVERED, FAILED], help_text="`failed`: it never will be delivered.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   help_text="Why it failed (the platform's words), shown to supervisors.")
    message_id = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                       help_text="The platform's id of the posted message.")


class ChatMessageResultSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    number = serializers.CharField()
    message = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False: this message id was reported before (nothing added).")


class DeliveryReportResultSerializer(serializers.Serializer):
    idempotency_key = serializers.UUIDField()
    state = serializers.CharField()
    changed = serializers.BooleanField(help_text="False: the same report came before.")


class IntakeReceiptSerializer(serializers.Serializer):
    """What became of an after-sales event: the answer to GET /api/v1/intake/{receipt}/."""

    receipt = serializers.UUIDField(help_text="Keep it: the event's receipt, valid as long as the desk keeps it.")
    url = serializers.URLField(help_text="Where to look the receipt up (GET, signed like a POST: see below).")
    state = serializers.ChoiceField(
        choices=IntakeEvent.State.choices,
        help_text="`pending`: stored, its ticket not made yet (usually within a second or two); `done`: `ticket` "
        "and `number` say which; `failed`: refused when the ticket was made, `errors` say why (per field).",
    )
    ticket = serializers.IntegerField(allow_null=True)
    number = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)


class IntakeResultSerializer(IntakeReceiptSerializer):
    created = serializers.BooleanField(help_text="True: this delivery stored a new event (its ticket follows).")
    updated = serializers.BooleanField(
        help_text="A repeated after-sales id changed the ticket (amount, deadline, "
        "cancellation); false when it brought nothing new, or the ticket is not made yet (the change is applied "
        "right after it is)."
    )


EXAMPLES = [
    OpenApiExample(
        "Taobao return (yuan)",
        request_only=True,
        value={
            "platform": "taobao",
            "aftersale_id": "TB-RF-20261111-0001",
            "order_id": "3912345678901234567",
            "buyer_account": "tb_小王2026",
            "type": "return_refund",
            "reason": "尺码不符",
            "description": "买的M码，收到是L码",
            "amount": "399.00",
            "evidence_urls": ["https://img.example.com/a.jpg"],
            "created_at": "2026-11-12T10:00:00+08:00",
        },
    ),
    OpenApiExample(
        "Douyin refund (fen, platform code)",
        request_only=True,
        value={
            "platform": "douyin",
            "aftersale_id": "7300000000000000001",
            "order_id": "6920000000000000001",
            "buyer_account": "dy_用户123",
            "type": "1",
            "reason": "商品破损",
            "amount_fen": 9900,
        },
    ),
    OpenApiExample(
        "Pinduoduo reship",
        request_only=True,
        value={
            "platform": "pinduoduo",
            "aftersale_id": "PDD-AS-0001",
            "order_id": "261111-000000001",
            "buyer_account": "pdd_buyer",
            "type": "5",
            "reason": "少件/漏发",
            "amount": "0",
        },
    ),
    OpenApiExample(
        "JD repair",
        request_only=True,
        value={
            "platform": "jd",
            "aftersale_id": "JD-SV-0001",
            "order_id": "280000000001",
            "buyer_account": "jd_buyer",
            "type": "30",
            "reason": "无法开机",
            "platform_intervention": False,
        },
    ),
]


_CHAT = {
    "taobao": ("TB-RF-20261111-0001", "wx-1001", "亲，快递单号已经填好了，麻烦尽快处理"),
    "tmall": ("TM-RF-20261111-0007", "wx-2001", "退货已经寄出了"),
    "jd": ("JD-SV-0001", "dd-3001", "维修大概要多久？"),
    "douyin": ("7300000000000000001", "fg-4001", "商品破损，照片发你了"),
    "pinduoduo": ("PDD-AS-0001", "pdd-5001", "少发了一件，什么时候补寄"),
}
EXAMPLES += [
    OpenApiExample(
        f"{platform.title()} chat message",
        request_only=True,
        value={
            "kind": KIND_MESSAGE, "platform": platform, "aftersale_id": aftersale, "message_id": message_id,
            "text": text, "sent_at": "2026-11-12T10:05:00+08:00",
            **({"evidence_urls": ["https://img.example.com/broken.jpg"]} if platform == "douyin" else {}),
        },
    )
    for platform, (aftersale, message_id, text) in _CHAT.items()
] + [
    OpenApiExample(
        f"{platform.title()} reply {'delivered' if delivered else 'failed'}",
        request_only=True,
        value={
            "kind": KIND_DELIVERY, "idempotency_key": f"6f1c2d3e-4b5a-4c6d-8e7f-00000000000{index}",
            "state": DELIVERED if delivered else FAILED,
            **({"message_id": f"{platform}-msg-{index}"} if delivered else {"reason": "买家已关闭会话"}),
        },
    )
    for index, (platform, delivered) in enumerate(
        [("taobao", True), ("tmall", True), ("jd", False), ("douyin", True), ("pinduoduo", False)]
    )
]

REQUEST = PolymorphicProxySerializer(
    component_name="IntakeReport",
    serializers={
        KIND_AFTERSALE: IntakePayloadSerializer, KIND_MESSAGE: ChatMessageSerializer,
        KIND_DELIVERY: DeliveryReportSerializer,
    },
    resource_type_field_name=None,  # `kind` may be absent on an after-sales event (the first kind there was)
)
RESULT = PolymorphicProxySerializer(
    component_name="IntakeAnswer",
    serializers=[IntakeResultSerializer, ChatMessageResultSerializer, DeliveryReportResultSerializer],
    resource_type_field_name=None,
)


class IntakeSchema(AutoSchema):
    def _get_request_body(self, direction="request"):
        # drf-spectacular cannot tell a oneOf body is required (it reads `required` of a plain serializer).
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


def receipt_answer(request, event: IntakeEvent) -> dict:
    ticket = event.ticket
    return {
        "receipt": event.receipt,
        "url": request.build_absolute_uri(reverse("intake-receipt", kwargs={"receipt": event.receipt})),
        "state": event.state,
        "ticket": ticket.pk if ticket else None,
        "number": ticket.number if ticket else None,
        "errors": event.errors,
    }


def verified_source(request, *, signed: bytes):
    try:
        return intake_verify(
            source_name=request.headers.get("X-Intake-Source", ""),
            timestamp=request.headers.get("X-Intake-Timestamp", ""),
            signature=request.headers.get("X-Intake-Signature", ""),
            body=signed,
        )
    except SignatureInvalid as invalid:
        raise AuthenticationFailed(str(invalid)) from None


SIGNED_HEADERS = [
    OpenApiParameter("X-Intake-Source", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
    OpenApiParameter("X-Intake-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
    OpenApiParameter("X-Intake-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
]


class IntakeReceiptView(APIView):
    """What became of an after-sales event the source sent: pending, its ticket, or why it failed.

    Signed by the same source as the event, over the request path instead of a body:
    `X-Intake-Signature: sha256=HEX(HMAC_SHA256(secret, TS + "." + "/api/v1/intake/<receipt>/"))`. Another
    source's receipt is not found (404).
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SignedWebhookThrottle]
    throttle_source_header = "X-Intake-Source"
    throttle_scope = "intake"

    @extend_schema(
        parameters=SIGNED_HEADERS,
        responses={
            200: IntakeReceiptSerializer,
            403: OpenApiResponse(description="Bad or missing signature."),
            404: OpenApiResponse(description="No event of this source has this receipt."),
        },
    )
    def get(self, request, receipt):
        source = verified_source(request, signed=request.path.encode())
        event = intake_event_for_receipt(source=source, receipt=receipt)
        if event is None:
            raise NotFound(_("No event of this source has this receipt."))
        return Response(receipt_answer(request, event))


class IntakeView(APIView):
    """Receive one report of the platform integration; each kind is idempotent (an after-sales event on platform +
    aftersale_id, a chat message on its message_id, a delivery report on the delivery's key).

    Sign with the source's shared secret: `X-Intake-Signature: sha256=HEX(HMAC_SHA256(secret, TS + "." + body))`
    with `X-Intake-Timestamp: TS` (Unix seconds, within 5 minutes) and `X-Intake-Source: <source name>`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SignedWebhookThrottle]
    throttle_source_header = "X-Intake-Source"
    throttle_scope = "intake"
    schema = IntakeSchema()

    @extend_schema(
        request=REQUEST,
        parameters=SIGNED_HEADERS,
        examples=EXAMPLES,
        responses={
            202: OpenApiResponse(
                IntakeResultSerializer,
                description="An after-sales event stored (`created` true), or received again while its ticket is "
                "not made yet: `state` pending and the receipt to look up (`url`). Nothing more to send: the ticket "
                "follows within seconds, a later change of the case sent meanwhile is applied right after.",
            ),
            201: OpenApiResponse(RESULT, description="A new message (chat message)."),
            200: OpenApiResponse(
                RESULT,
                description="An after-sales event already received whose ticket exists: the same ticket, with any "
                "change of amount, deadline or status applied (`updated`), or one that failed (`errors`); a chat "
                "message already stored; a delivery report applied (or the same report again: changed false).",
            ),
            400: OpenApiResponse(description="Invalid payload, with field messages."),
            403: OpenApiResponse(description="Bad or missing signature."),
            404: OpenApiResponse(description="A chat message for a case the desk does not have (it never opens "
                                 "one), or a delivery key unknown for this source's platform."),
            409: OpenApiResponse(description="A chat message for a closed case or an order with several open "
                                 "cases; a delivery reported failed after it was reported delivered."),
        },
    )
    def post(self, request):
        source = verified_source(request, signed=request.body)
        try:
            payload = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ParseError(_("The body is not JSON.")) from None
        if not isinstance(payload, dict):
            raise ParseError(_("The body must be a JSON object."))
        payload = without_control_characters(payload)
        kind = payload.get("kind", KIND_AFTERSALE)
        if kind == KIND_MESSAGE:
            return self._chat_message(source, payload)
        if kind == KIND_DELIVERY:
            return self._delivery_report(source, payload)
        if kind != KIND_AFTERSALE:
            raise serializers.ValidationError({"kind": [_("One of: aftersale, message, delivery.")]})
        serializer = IntakePayloadSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        event, created = intake_accept(source=source, data=serializer.validated_data, payload=payload)
        updated = False
        if not created:
            event, updated = intake_repeat(event=event, data=serializer.validated_data)
        pending = event.state == IntakeEvent.State.PENDING
        return Response({**receipt_answer(request, event), "created": created, "updated": updated},
                        status=status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)

    def _chat_message(self, source, payload):
        serializer = ChatMessageSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        try:
            message, created = intake_message_receive(source=source, data=serializer.validated_data)
        except ChatRefused as refused:
            return conflict(str(refused), "chat_refused")
        return Response(
            {"ticket": message.ticket_id, "number": message.ticket.number, "message": message.pk, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _delivery_report(self, source, payload):
        serializer = DeliveryReportSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            delivery, changed = delivery_report(
                platform=source.platform, key=data["idempotency_key"], state=data["state"],
                reason=data.get("reason", ""), external_id=data.get("message_id", ""),
            )
        except ReportRefused as refused:
            return conflict(str(refused), "report_refused")
        return Response({"idempotency_key": delivery.key, "state": delivery.state, "changed": changed})
