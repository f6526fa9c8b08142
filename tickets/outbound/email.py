"""E-mail out: a reply sent from the shop's mailbox over SMTP, threaded under the customer's mail.

The mailbox is the one that received the ticket's latest mail, else the default one; Message-ID is fixed per
delivery (`<key hex@shop domain>`), so a retried send is the same mail and the customer's answer threads back.
"""

from __future__ import annotations

import re
import smtplib
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import translation
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from ..models import Delivery, InboundMail, Mailbox, Message
from ..models.channels import Security
from . import PermanentFailure, TemporaryFailure

# Enough of the thread for mail clients to place the reply (RFC 5322 allows trimming the middle).
REFERENCES_MAX = 20
# "Re:", "RE：", "回复：", "答复:", "Fwd:"... in front of the customer's subject, stripped before our own "Re:".
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


def mailbox_for(message: Message) -> Mailbox | None:
    """The box that received the ticket's latest mail (if it can send), else the default sending box."""
    latest = (InboundMail.objects.filter(ticket_id=message.ticket_id, mailbox__is_active=True)
              .exclude(mailbox__smtp_host="").select_related("mailbox").order_by("-received_at", "-id").first())
    if latest:
        return latest.mailbox
    return Mailbox.objects.filter(is_active=True, is_default=True).exclude(smtp_host="").first()


def recipient(message: Message) -> str | None:
    return message.ticket.customer.email or None


def configured(message: Message) -> str:
    if mailbox_for(message) is None:
        return _("No mailbox is set up to send from.")
    if not recipient(message):
        return _("The customer has no e-mail address.")
    return ""


def message_id_for(delivery: Delivery) -> str:
    mailbox = mailbox_for(delivery.message)
    domain = mailbox.address.rpartition("@")[2] if mailbox else "aftersales.invalid"
    return f"<{delivery.key.hex}@{domain}>"


def subject_for(message: Message) -> str:
    ticket = message.ticket
    latest = (InboundMail.objects.filter(ticket_id=ticket.pk).exclude(subject="")
              .order_by("-received_at", "-id").values_list("subject", flat=True).first())
    subject = REPLY_PREFIX.sub("", latest or "").strip()
    subject = subject.replace(f"[{ticket.number}]", "").strip()
    if not subject:
        first_line = (ticket.description.strip().splitlines() or [""])[0]
        subject = first_line[:40] or _("Your after-sales request")
    return f"Re: {subject} [{ticket.number}]"


def _thread(message: Message) -> tuple[str, list[str]]:
    """(In-Reply-To: the customer's latest mail, References: the thread's Message-IDs, oldest first)."""
    rows = list(Message.objects.filter(ticket_id=message.ticket_id, created_at__lte=message.created_at)
                .exclude(email_message_id="").exclude(pk=message.pk).order_by("created_at", "id")
                .values_list("direction", "email_message_id"))
    inbound = [mail_id for direction, mail_id in rows if direction == Message.Direction.INBOUND]
    ids = list(dict.fromkeys(mail_id for _direction, mail_id in rows))
    if len(ids) > REFERENCES_MAX:
        ids = ids[:1] + ids[-(REFERENCES_MAX - 1):]
    return (inbound[-1] if inbound else ""), ids


def build(delivery: Delivery, mailbox: Mailbox) -> EmailMultiAlternatives:
    message = delivery.message
    ticket = message.ticket
    in_reply_to, references = _thread(message)
    with translation.override(settings.LANGUAGE_CODE):  # the customer reads the shop's language
        footer = _("Case %(number)s. Reply to this e-mail to continue the conversation.") % {"number": ticket.number}
        subject = subject_for(message)
    headers = {"Message-ID": message.email_message_id or message_id_for(delivery)}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    text = f"{message.body}\n\n-- \n{footer}\n"
    html = (f'<div>{linebreaks(escape(message.body))}</div>'
            f'<hr><p style="color:#666;font-size:12px">{escape(footer)}</p>')
    mail = EmailMultiAlternatives(
        subject=subject, body=text, from_email=formataddr((mailbox.display_name, mailbox.address)),
        to=[delivery.recipient or recipient(message)], headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.original_name, handle.read(), attachment.content_type)
    return mail


def send(delivery: Delivery) -> str:
    mailbox = mailbox_for(delivery.message)
    if mailbox is None:
        raise PermanentFailure(_("No mailbox is set up to send from."))
    mail = build(delivery, mailbox)
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", fail_silently=False,
        host=mailbox.smtp_host, port=mailbox.smtp_port,
        username=mailbox.smtp_user or None, password=mailbox.smtp_password or None,
        use_ssl=mailbox.smtp_security == Security.SSL, use_tls=mailbox.smtp_security == Security.STARTTLS,
        timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
    )
    try:
        connection.send_messages([mail])
    except smtplib.SMTPRecipientsRefused as refused:
        code, text = next(iter(refused.recipients.values()), (0, b""))
        _raise_for(code, text)
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as refused:
        _raise_for(refused.smtp_code, refused.smtp_error)
    except smtplib.SMTPResponseException as failure:
        _raise_for(failure.smtp_code, failure.smtp_error, permanent_5xx=False)
    except (TimeoutError, smtplib.SMTPException, OSError) as failure:
        raise TemporaryFailure(_("Mail server unreachable: %(error)s") % {"error": failure}) from failure
    return mail.extra_headers["Message-ID"]


def _raise_for(code: int, text, *, permanent_5xx: bool = True):
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    reason = f"SMTP {code} {text}"[:500]
    if permanent_5xx and 500 <= code < 600:
        raise PermanentFailure(reason)
    raise TemporaryFailure(reason)
