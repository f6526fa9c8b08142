"""The platform chat outbox in the OpenAPI schema: the request the desk sends to the shop's integration
(SPECTACULAR_SETTINGS["WEBHOOKS"]), with one example per platform."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers


class OutboxAttachmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes. The file itself stays on the desk (no link is sent).")


class OutboxMessageSerializer(serializers.Serializer):
    idempotency_key = serializers.UUIDField(
        help_text="The same on every attempt of this reply (also in the Idempotency-Key header): store it and "
                  "answer 2xx again without sending twice.")
    ticket = serializers.CharField(help_text="The desk's ticket number, e.g. AS00001234.")
    platform = serializers.ChoiceField(choices=["taobao", "tmall", "jd", "douyin", "pinduoduo"])
    aftersale_id = serializers.CharField(help_text="The platform's after-sales id the case came in with (may be "
                                                   "empty for a case opened by hand).")
    order_id = serializers.CharField(help_text="The platform's order number (may be empty).")
    buyer_account = serializers.CharField(help_text="The buyer's account on the platform (may be empty).")
    text = serializers.CharField(help_text="The agent's reply, plain text, line breaks kept.")
    attachments = OutboxAttachmentSerializer(many=True)
    sent_at = serializers.DateTimeField(help_text="When the agent wrote the reply (the same on every attempt).")


class OutboxAnswerSerializer(serializers.Serializer):
    message_id = serializers.CharField(required=False, help_text="The platform's id of the chat message, kept "
                                                                 "on the delivery.")


class OutboxErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Why it was refused; shown to supervisors (first 300 characters).")


# response_only: drf-spectacular builds a webhook from the receiver's side, so this lands on the request body.
def _example(platform: str, label: str, aftersale_id: str, order_id: str, buyer: str) -> OpenApiExample:
    return OpenApiExample(label, response_only=True, value={
        "idempotency_key": "6f1c2a9e-4b5d-4e2f-9a51-0c7d3b8e1f20", "ticket": "AS00001234", "platform": platform,
        "aftersale_id": aftersale_id, "order_id": order_id, "buyer_account": buyer,
        "text": "亲，换货已寄出，单号 SF1234567890，请注意查收。", "attachments": [
            {"name": "快递底单.jpg", "content_type": "image/jpeg", "size": 183204}],
        "sent_at": "2026-12-05T14:03:11+08:00",
    })


# drf-spectacular drops a webhook's parameters: the headers are written into its description.
HEADERS = (
    "Headers: `X-Aftersales-Timestamp: <unix seconds>`; `X-Aftersales-Signature: sha256=<hex HMAC-SHA256(the "
    "outbox secret, timestamp + \".\" + raw body)>`, as the intake webhook (refuse a bad signature or a timestamp "
    "older than 5 minutes); `Idempotency-Key: <uuid>`, the same on every attempt of the reply. "
)

outbox_webhook = OpenApiWebhook(
    name="platformChatOutbox",
    decorator=extend_schema(
        summary="A reply to put in the platform's chat (the desk posts it to the shop's integration)",
        description=HEADERS + (
            "Posted to the active platform chat outbox of the case's platform (admin: platform chat outboxes) "
            "after the agent's reply is saved. Answer 2xx once the platform took the message (a JSON body with "
            "`message_id` is kept). 408, 429, 5xx, a timeout or no connection: tried again after 30 s, 1, 2, 5, "
            "10, 30, 60 minutes (OUTBOUND_MAX_ATTEMPTS in all), with the same key and body. Any other 4xx: not "
            "tried again; the reply is shown to supervisors as undelivered with the `error` text. Report delivery "
            "and the buyer's answers back through the intake webhook (`/api/v1/intake/`)."
        ),
        request=OutboxMessageSerializer,
        responses={
            200: OpenApiResponse(OutboxAnswerSerializer, description="Taken; the desk marks the reply sent."),
            400: OpenApiResponse(OutboxErrorSerializer, description="Refused for good (no retry)."),
            500: OpenApiResponse(description="Not now: the desk tries again later."),
        },
        examples=[
            _example("taobao", "Taobao / Tmall", "163820019283746", "3012345678901234567", "tb_小王"),
            _example("jd", "JD", "AFS-2026120500012", "290012345678", "jd_buyer_7"),
            _example("douyin", "Douyin", "7301234567890123456", "6923456789012345678", "抖音用户1234"),
            _example("pinduoduo", "Pinduoduo", "PDD-AS-88990011", "231205-123456789012345", "pdd_8899"),
        ],
    ),
)
