"""POST /api/v1/inbound-mail/: mail posted by a provider (Mailgun/SendGrid-style "raw MIME" forwarding, or the
shop's own relay) instead of polled over IMAP. Taken in exactly as a polled mail (tickets/mail/inbound.py)."""


from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.throttling import SignedWebhookThrottle

from ..intake import SignatureInvalid, signature_check
from ..mail.inbound import mail_receive
from ..models import InboundMail, Mailbox


class RawMailParser(BaseParser):
    """The body is the mail itself; the view reads request.body (the signature covers those exact bytes)."""

    media_type = "message/rfc822"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class InboundMailResultSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=InboundMail.State.choices)
    ticket = serializers.CharField(allow_null=True, help_text="The ticket's number (AS00001234), or null.")
    reason = serializers.CharField(help_text="Why the mail was refused or not attached where it pointed; may be empty.")


def _verify(*, mailbox_name: str, timestamp: str, signature: str, body: bytes) -> Mailbox:
    mailbox = Mailbox.objects.filter(name=mailbox_name, is_active=True).exclude(webhook_secret="").first()
    if mailbox is None:
        raise AuthenticationFailed(_("Unknown or inactive mailbox, or no webhook secret set for it."))
    try:
        signature_check(secret=mailbox.webhook_secret, timestamp=timestamp, signature=signature, body=body)
    except SignatureInvalid as refused:
        raise AuthenticationFailed(str(refused)) from None
    return mailbox


EXAMPLE_MAIL = (
    "From: =?UTF-8?B?546L5bCP5piO?= <wang@example.com>\r\n"
    "To: service@shop.example\r\n"
    "Subject: =?UTF-8?B?6YCA6LSn55Sz6K+3?=\r\n"
    "Message-ID: <20261112100000.1234@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "您好，我买的M码收到是L码，想退货。订单号 3912345678901234567\r\n"
)


class InboundMailView(APIView):
    """Receive one mail for a shop mailbox; idempotent on its Message-ID.

    Body: the mail as raw MIME bytes, `Content-Type: message/rfc822` (what providers' "forward raw" hooks post).
    Sign with the mailbox's webhook secret exactly as the intake webhook:
    `X-Mail-Signature: sha256=HEX(HMAC_SHA256(secret, TS + "." + body))`, `X-Mail-Timestamp: TS` (Unix seconds,
    within 5 minutes), `X-Mail-Mailbox: <mailbox name>`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [RawMailParser]
    throttle_classes = [SignedWebhookThrottle]
    throttle_source_header = "X-Mail-Mailbox"
    throttle_scope = "inbound_mail"

    @extend_schema(
        request={"message/rfc822": {"type": "string", "format": "binary"}},
        parameters=[
            OpenApiParameter("X-Mail-Mailbox", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Mail-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Mail-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
        ],
        examples=[OpenApiExample("A customer's mail (raw MIME)", value=EXAMPLE_MAIL, request_only=True,
                                 media_type="message/rfc822")],
        responses={
            201: OpenApiResponse(InboundMailResultSerializer, description="Taken in for the first time."),
            200: OpenApiResponse(InboundMailResultSerializer, description="Already received: the same answer."),
            400: OpenApiResponse(description="Empty body or not a mail."),
            415: OpenApiResponse(description="Not message/rfc822."),
            403: OpenApiResponse(description="Bad or missing signature, or unknown mailbox."),
            413: OpenApiResponse(description="Larger than MAIL_MAX_BYTES (50 MB by default)."),
        },
    )
    def post(self, request):
        # A mail with photos is far above DATA_UPLOAD_MAX_MEMORY_SIZE (which request.body enforces): read the
        # stream up to the mail limit instead; above it the mail is refused whole, as over IMAP.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAIL_MAX_BYTES:
            return Response(
                {"detail": _("The mail is larger than %(mb)d MB.") % {"mb": settings.MAIL_MAX_BYTES // 2**20},
                 "code": "too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        body = request._request.read(settings.MAIL_MAX_BYTES + 1)
        mailbox = _verify(
            mailbox_name=request.headers.get("X-Mail-Mailbox", ""),
            timestamp=request.headers.get("X-Mail-Timestamp", ""),
            signature=request.headers.get("X-Mail-Signature", ""),
            body=body,
        )
        if request.content_type.split(";")[0].strip().lower() != RawMailParser.media_type:
            raise UnsupportedMediaType(
                request.content_type, _("Post the mail as raw MIME with Content-Type message/rfc822.")
            )
        if not body.strip():
            raise ParseError(_("The body is empty: post the mail as raw MIME (message/rfc822)."))
        if b":" not in body.split(b"\n", 1)[0]:
            raise ParseError(_("The body is not a mail: it must start with its headers (raw MIME, message/rfc822)."))
        inbound = mail_receive(raw=body, mailbox=mailbox)
        ticket = inbound.ticket.number if inbound.ticket_id else None
        return Response(
            {"state": inbound.state, "ticket": ticket, "reason": inbound.reason},
            status=status.HTTP_201_CREATED if getattr(inbound, "is_new", False) else status.HTTP_200_OK,
        )
