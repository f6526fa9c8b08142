"""SMS through a generic HTTP gateway, for the customer's link (README "SMS for the customer link").

Chinese providers (Aliyun, Tencent Cloud and the gateways in front of them) send only registered templates
(模板) under a registered signature (签名), with parameters, never free text: ours has two, the ticket number
and the link. The gateway takes JSON: {phone, sign_name, template_code, template_params, out_id} with a bearer
token; `out_id` is the delivery's key, so a gateway that de-duplicates sends a retried delivery once.

Texts are asked for (the agent sends the link, an incident's proactive contact), never planned by a reply;
each number gets at most SMS_PER_NUMBER_HOUR / SMS_PER_NUMBER_DAY (providers block numbers that get more).
Phone numbers appear in logs only masked (138****5678).
"""

import json
import logging
import re
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.masking import mask_phone
from customers.models import Customer

from ..customer_link import customer_link_issue
from ..events import EventAction, event_record
from ..models import Delivery, Message, Ticket
from ..notes import note
from ..workflow import ticket_lock_for_write
from . import PermanentFailure, TemporaryFailure
from .service import deliveries_plan

logger = logging.getLogger(__name__)

LINK = re.compile(r"https?://\S+")
LONG_DIGITS = re.compile(r"\+?\d[\d -]{6,}\d")  # a phone number inside a provider's message
SUCCESS_CODES = {"ok", "0", "200", "success"}
ID_FIELDS = ("biz_id", "BizId", "id", "message_id", "MessageId", "SerialNo", "request_id", "RequestId")
REQUIRED_SETTINGS = ("SMS_GATEWAY_URL", "SMS_SIGN_NAME", "SMS_LINK_TEMPLATE")


def phone_of(raw: str) -> str:
    """The number as the gateway takes it: digits only, a +86 / 0086 country code dropped from a mobile."""
    digits = re.sub(r"\D", "", raw or "")
    for country_code in ("0086", "86"):
        if len(digits) == 11 + len(country_code) and digits.startswith(country_code):
            return digits[len(country_code):]
    return digits if len(digits) >= 7 else ""


def masked(text: str) -> str:
    """A provider's or our own text with any phone number in it masked, for logs and stored errors."""
    return LONG_DIGITS.sub(lambda found: mask_phone(found.group()), text)


# The adapter's contract (tickets/outbound/__init__.py) ------------------------------------------------


def recipient(message: Message) -> str | None:
    return phone_of(message.ticket.customer.phone) or None


def configured(message: Message | None = None) -> str:
    """"" when texts can be sent, else why not (the settings left blank)."""
    missing = [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]
    if missing:
        return _("SMS is not configured (%(settings)s not set).") % {"settings": ", ".join(missing)}
    return ""


def send(delivery: Delivery) -> str:
    """Post the text to the gateway; the provider's id of the text, or TemporaryFailure / PermanentFailure."""
    message = delivery.message
    links = LINK.findall(message.body)
    payload = {
        "phone": delivery.recipient,
        "sign_name": settings.SMS_SIGN_NAME,
        "template_code": settings.SMS_LINK_TEMPLATE,
        "template_params": {"ticket_number": message.ticket.number, "link": links[-1] if links else ""},
        "out_id": str(delivery.key),
    }
    headers = {"Content-Type": "application/json"}
    if settings.SMS_GATEWAY_TOKEN:
        headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
    request = urllib.request.Request(
        settings.SMS_GATEWAY_URL, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    who = mask_phone(delivery.recipient)
    try:
        with urllib.request.urlopen(request, timeout=settings.OUTBOUND_TIMEOUT_SECONDS) as response:
            answer = _json(response.read())
    except urllib.error.HTTPError as error:
        why = masked(f"HTTP {error.code}: {_provider_message(_json(error.read())) or error.reason}")[:500]
        logger.warning("SMS %s to %s refused: %s", delivery.key, who, why)
        if error.code >= 500 or error.code in (408, 429):
            raise TemporaryFailure(why) from None
        raise PermanentFailure(why) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        logger.warning("SMS %s to %s not sent: %s", delivery.key, who, reason)
        raise TemporaryFailure(_("SMS gateway unreachable: %(why)s") % {"why": reason}) from None
    code = answer.get("code", answer.get("Code", "OK"))
    if str(code).lower() not in SUCCESS_CODES:
        why = masked(f"{code}: {_provider_message(answer)}")[:500]
        logger.warning("SMS %s to %s refused by the provider: %s", delivery.key, who, why)
        raise PermanentFailure(why)
    provider_id = next((str(answer[name]) for name in ID_FIELDS if answer.get(name)), "")
    logger.info("SMS %s to %s accepted (%s)", delivery.key, who, provider_id or "no id")
    return provider_id[:255]


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {"message": raw[:200].decode("utf-8", "replace")}
    return data if isinstance(data, dict) else {}


def _provider_message(answer: dict) -> str:
    return str(next((answer[name] for name in ("message", "Message", "msg", "error") if answer.get(name)), ""))


# Sending the customer their link --------------------------------------------------------------------


def sms_refusal(ticket: Ticket) -> str:
    """"" when the customer's link can be texted on this ticket, else why not (for the ticket page)."""
    return configured() or ("" if phone_of(ticket.customer.phone) else _("The customer has no phone number."))


def link_text(*, number: str, url: str) -> str:
    """The text as the customer reads it (the registered template, filled in): in Chinese, the providers'."""
    with translation.override("zh-hans"):
        words = _("Your after-sales case %(number)s: see it and add to it here: %(url)s") % {
            "number": number, "url": url}
    return f"【{settings.SMS_SIGN_NAME}】{words}"


def _refuse_over_limit(phone: str, customer_id: int) -> None:
    # The customer's row, locked: two agents texting the same customer at once count one after the other.
    list(Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk"))
    now = timezone.now()
    sent = Delivery.objects.filter(channel=Delivery.Channel.SMS, recipient=phone)
    if sent.filter(created_at__gte=now - timedelta(hours=1)).count() >= settings.SMS_PER_NUMBER_HOUR:
        raise ValidationError(_("This number already got %(count)d texts in the last hour: try again later.")
                              % {"count": settings.SMS_PER_NUMBER_HOUR})
    if sent.filter(created_at__gte=now - timedelta(days=1)).count() >= settings.SMS_PER_NUMBER_DAY:
        raise ValidationError(_("This number already got %(count)d texts in the last 24 hours: try again tomorrow.")
                              % {"count": settings.SMS_PER_NUMBER_DAY})


@transaction.atomic
def link_text_send(*, ticket: Ticket, actor, url: str) -> Delivery:
    """Text the customer their link: the message as they will read it, its SMS delivery (queued, sent after
    commit) and a CUSTOMER_LINK_TEXTED event, in one transaction. Not a reply (message_add): a link is no
    answer, so it stamps no first response and goes on no other channel."""
    ticket = ticket_lock_for_write(ticket, action="text customer link", related=("customer",))
    why_not = sms_refusal(ticket)
    if why_not:
        raise ValidationError(why_not)
    if not LINK.fullmatch(url):
        raise ValidationError(_("The link must be a full http(s) address."))
    phone = phone_of(ticket.customer.phone)
    _refuse_over_limit(phone, ticket.customer_id)
    message = Message.objects.create(
        ticket=ticket, direction=Message.Direction.OUTBOUND, channel=ticket.channel, author=actor,
        body=link_text(number=ticket.number, url=url),
    )
    # The one planner: queued, sent after commit, found again by the retry sweep if the broker was down.
    (delivery,) = deliveries_plan(message, channels=[Delivery.Channel.SMS])
    event_record(ticket=ticket, actor=actor, action=EventAction.CUSTOMER_LINK_TEXTED,
                 reason=note("Texted to %(phone)s.", phone=mask_phone(phone)))
    logger.info("customer link of %s texted to %s (delivery %s)", ticket.number, mask_phone(phone), delivery.key)
    return delivery


@transaction.atomic
def customer_link_text(*, ticket: Ticket, actor, site: str, renew: bool = False) -> Delivery:
    """Issue (or renew) the customer's link and text it, all or nothing: a refused text leaves no new link."""
    path, _until = customer_link_issue(ticket=ticket, actor=actor, renew=renew)
    return link_text_send(ticket=ticket, actor=actor, url=urljoin(site, path))
