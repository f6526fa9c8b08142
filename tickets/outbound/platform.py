"""Platform chat outbox: a reply on a Taobao/Tmall/JD/Douyin/Pinduoduo case posted to the shop's own integration
(the middleware that talks to the platform's open API), signed as the intake webhook is (README "Platform chat
outbox"). The integration reports delivery and the customer's answers back through the intake webhook.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from django.utils.translation import gettext as _

from ..intake import sign
from ..models import Channel, Delivery, Message, OutboxEndpoint
from . import PermanentFailure, TemporaryFailure

PLATFORMS = {"taobao", "tmall", "jd", "douyin", "pinduoduo"}
# Answers worth trying again: the receiver was busy or down (408 timeout, 429 slow down, 5xx).
RETRY_STATUSES = {408, 425, 429}
ERROR_TEXT_MAX = 300


def platform_of(message: Message) -> str:
    ticket = message.ticket
    if ticket.external_source in PLATFORMS:
        return ticket.external_source
    if ticket.channel in (Channel.PLATFORM, Channel.PLATFORM_DISPUTE):
        if ticket.order_id and ticket.order.platform in PLATFORMS:
            return ticket.order.platform
        if ticket.customer.platform in PLATFORMS:
            return ticket.customer.platform
    return ""


def endpoint_for(message: Message) -> OutboxEndpoint | None:
    platform = platform_of(message)
    return OutboxEndpoint.objects.filter(platform=platform, is_active=True).first() if platform else None


def recipient(message: Message) -> str | None:
    ticket = message.ticket
    return ticket.customer.platform_account or (ticket.external_id and f"aftersale:{ticket.external_id}") or None


def configured(message: Message) -> str:
    platform = platform_of(message)
    if not platform:
        return _("The case's platform is not known.")
    if endpoint_for(message) is None:
        return _("No chat outbox is set up for %(platform)s.") % {"platform": platform}
    return ""


def payload(delivery: Delivery, platform: str) -> dict:
    """The body posted; the same on every attempt (the integration may compare it under the key)."""
    message = delivery.message
    ticket = message.ticket
    return {
        "idempotency_key": str(delivery.key),
        "ticket": ticket.number,
        "platform": platform,
        "aftersale_id": ticket.external_id,
        "order_id": ticket.order.external_number if ticket.order_id else "",
        "buyer_account": ticket.customer.platform_account,
        "text": message.body,
        # Names only: the files stay on the desk (no public link to them); the agent's text says what was sent.
        "attachments": [{"name": a.original_name, "content_type": a.content_type, "size": a.size}
                        for a in message.attachments.all()],
        "sent_at": message.created_at.isoformat(),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the signed POST into a GET somewhere else: the endpoint's URL must be the final one.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def send(delivery: Delivery) -> str:
    message = delivery.message
    endpoint = endpoint_for(message)
    if endpoint is None:
        raise PermanentFailure(configured(message) or _("No chat outbox is set up."))
    body = json.dumps(payload(delivery, endpoint.platform), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Aftersales-Timestamp": timestamp,
        "X-Aftersales-Signature": sign(secret=endpoint.secret, timestamp=timestamp, body=body),
        "Idempotency-Key": str(delivery.key),
        "User-Agent": "aftersales-desk/1",
    })
    try:
        with _opener.open(request, timeout=endpoint.timeout_seconds) as response:
            answer = response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        text = _error_text(error)
        reason = f"HTTP {error.code} {text}".strip()
        if error.code in RETRY_STATUSES or error.code >= 500:
            raise TemporaryFailure(reason) from error
        raise PermanentFailure(reason) from error
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TemporaryFailure(_("Outbox unreachable: %(error)s") % {"error": reason}) from error
    try:
        return str(json.loads(answer or b"{}").get("message_id") or "")
    except (ValueError, AttributeError):
        return ""


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        raw = error.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        data = json.loads(raw)
        text = data.get("error") or data.get("detail") or raw if isinstance(data, dict) else raw
    except ValueError:
        text = raw
    return str(text)[:ERROR_TEXT_MAX]
