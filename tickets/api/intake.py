"""POST /api/v1/intake/: platform after-sales events, signed per source (see tickets/intake.py)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, ParseError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api import StrictInput
from aftersales.limits import without_control_characters
from aftersales.throttling import ScopedRateThrottle
from customers.models import Platform

from ..intake import (
    PLATFORM_CANCELLED,
    PLATFORM_REQUESTED,
    PLATFORM_TYPES,
    SignatureInvalid,
    intake_receive,
    intake_verify,
)
from ..models import TicketType

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


class IntakePayloadSerializer(StrictInput, serializers.Serializer):
    refuses_unknown_fields = False  # platforms add fields; the integration may pass them through

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


class IntakeResultSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    number = serializers.CharField()
    created = serializers.BooleanField()
    updated = serializers.BooleanField(
        help_text="A repeated after-sales id changed the ticket (amount, deadline, "
        "cancellation); false when it brought nothing new."
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


class IntakeView(APIView):
    """Receive one platform after-sales event; idempotent on platform + aftersale_id.

    Sign with the source's shared secret: `X-Intake-Signature: sha256=HEX(HMAC_SHA256(secret, TS + "." + body))`
    with `X-Intake-Timestamp: TS` (Unix seconds, within 5 minutes) and `X-Intake-Source: <source name>`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "intake"

    @extend_schema(
        request=IntakePayloadSerializer,
        parameters=[
            OpenApiParameter("X-Intake-Source", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Intake-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Intake-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
        ],
        examples=EXAMPLES,
        responses={
            201: IntakeResultSerializer,
            200: OpenApiResponse(
                IntakeResultSerializer,
                description="Already received: the same ticket, with any change of amount, deadline or status applied.",
            ),
            400: OpenApiResponse(description="Invalid payload, with field messages."),
            403: OpenApiResponse(description="Bad or missing signature."),
        },
    )
    def post(self, request):
        try:
            source = intake_verify(
                source_name=request.headers.get("X-Intake-Source", ""),
                timestamp=request.headers.get("X-Intake-Timestamp", ""),
                signature=request.headers.get("X-Intake-Signature", ""),
                body=request.body,
            )
        except SignatureInvalid as invalid:
            raise AuthenticationFailed(str(invalid)) from None
        try:
            payload = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ParseError(_("The body is not JSON.")) from None
        if not isinstance(payload, dict):
            raise ParseError(_("The body must be a JSON object."))
        payload = without_control_characters(payload)
        serializer = IntakePayloadSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        ticket, created, updated = intake_receive(source=source, data=serializer.validated_data, payload=payload)
        return Response(
            {"ticket": ticket.pk, "number": ticket.number, "created": created, "updated": updated},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
