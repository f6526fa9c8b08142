"""One received mail -> a ticket, a message on its ticket, or a recorded refusal (auto-reply, bounce, too big,
no sender), in one transaction, once per Message-ID.

Threading: a reply joins the ticket whose message it answers (In-Reply-To / References against
Message.email_message_id) or whose number is in its subject ([AS00001234]) — only when it comes from that ticket's
customer's address; anyone else naming a ticket gets a ticket of their own (a forged In-Reply-To cannot post on
another customer's case). A resolved or closed ticket is reopened by the customer's reply; an archived one is
evidence and stays untouched: the mail opens a new ticket that names the old number.
"""

import hashlib
import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from aftersales.limits import TEXT_MAX_CHARS
from customers.services import customer_find_or_create_by_email

from ..models import Channel, Delivery, InboundMail, Mailbox, Message, Status, Ticket
from ..notes import note
from ..outbound.service import delivery_give_up
from ..services import attachment_add, message_add, ticket_create
from ..uploads import validate_upload
from ..workflow import Action, ticket_transition
from .parse import MailUnreadable, ParsedAttachment, ParsedMail, mail_id_of, mail_parse

TICKET_NUMBER = re.compile(r"\[(AS\d{8})\]")
# Room left in a message for the lines about attachments not kept.
_BODY_LIMIT = TEXT_MAX_CHARS - 1_000


def _headers_only(raw: bytes) -> str:
    """The Message-ID of a mail too big to parse whole (its header block is enough)."""
    head = raw[: 64 * 1024].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"(?im)^message-id:[ \t]*(<[^<>\s]+>)", head)
    return match.group(1).decode("ascii", "replace") if match else ""


def mail_receive(*, raw: bytes, mailbox: Mailbox | None = None) -> InboundMail:
    """Take in one raw mail. The same mail again (or at once on another worker: the unique Message-ID decides)
    returns the InboundMail it made the first time."""
    if len(raw) > settings.MAIL_MAX_BYTES:
        mail_id = mail_id_of(raw, _headers_only(raw))
        return _refuse_too_big(raw=raw, mail_id=mail_id, mailbox=mailbox)
    try:
        parsed = mail_parse(raw)
        mail_id = mail_id_of(raw, parsed.message_id)
    except (MailUnreadable, ValueError, LookupError, TypeError, AttributeError, IndexError) as unreadable:
        # Hostile or broken input the email package chokes on: refused and kept, never blocking the mailbox.
        parsed, mail_id = None, mail_id_of(raw, "")
        reason = str(unreadable) or unreadable.__class__.__name__
    existing = InboundMail.objects.filter(mail_id=mail_id).first()
    if existing is not None:
        return existing
    try:
        if parsed is None:
            return _record(raw=raw, mail_id=mail_id, mailbox=mailbox, state=InboundMail.State.REJECTED,
                           reason=_("Unreadable mail: %(reason)s") % {"reason": reason})
        return _take_in(raw=raw, mail_id=mail_id, mailbox=mailbox, mail=parsed)
    except ValidationError as invalid:
        # Something in the mail the desk cannot store (a field past its limits): refused with why, not retried
        # forever by every poll. Faults of the desk itself (database down) propagate and are retried.
        return _record(raw=raw, mail_id=mail_id, mailbox=mailbox, state=InboundMail.State.REJECTED, mail=parsed,
                       reason=_("Could not be taken in: %(why)s") % {"why": " ".join(invalid.messages)})
    except IntegrityError:
        # Another worker took the same mail in a moment ago: its row is the answer; anything else is a real error.
        existing = InboundMail.objects.filter(mail_id=mail_id).first()
        if existing is None:
            raise
        return existing


def _refuse_too_big(*, raw: bytes, mail_id: str, mailbox) -> InboundMail:
    existing = InboundMail.objects.filter(mail_id=mail_id).first()
    if existing is not None:
        return existing
    reason = _("The mail is %(size)s; the limit is %(limit)s. It stays in the mailbox.") % {
        "size": filesizeformat(len(raw)), "limit": filesizeformat(settings.MAIL_MAX_BYTES)}
    try:
        # The raw mail is not stored: keeping what the limit refuses would defeat it.
        inbound = InboundMail.objects.create(mailbox=mailbox, mail_id=mail_id, size=len(raw),
                                             state=InboundMail.State.REJECTED, reason=reason)
        inbound.is_new = True
        return inbound
    except IntegrityError:
        return InboundMail.objects.get(mail_id=mail_id)


@transaction.atomic
def _record(*, raw: bytes, mail_id: str, mailbox, state: str, reason: str = "", mail: ParsedMail | None = None,
            ticket=None) -> InboundMail:
    inbound = InboundMail(
        mailbox=mailbox, mail_id=mail_id, size=len(raw), state=state, reason=reason, ticket=ticket,
        sender=(mail.from_address if mail else "")[:254], subject=(mail.subject if mail else "")[:500],
    )
    inbound.raw.save(f"{hashlib.sha256(raw).hexdigest()[:24]}.eml", ContentFile(raw), save=False)
    inbound.save(force_insert=True)
    inbound.is_new = True  # (not stored) the caller can tell a first receipt from a repeat
    return inbound


@transaction.atomic
def _take_in(*, raw: bytes, mail_id: str, mailbox, mail: ParsedMail) -> InboundMail:
    # The row first: it claims the Message-ID, so a second worker with the same mail waits here and then fails
    # on the unique constraint instead of opening a second ticket.
    inbound = _record(raw=raw, mail_id=mail_id, mailbox=mailbox, state=InboundMail.State.REJECTED, mail=mail)
    State = InboundMail.State
    if not mail.from_address:
        return _finish(inbound, State.REJECTED, _("The mail has no sender address: nobody to answer."))
    if mail.bounce:
        return _bounce_apply(inbound, mail)
    if mail.auto_reply:
        return _finish(inbound, State.AUTO_REPLY, _("Automatic reply (out of office, list or robot): no ticket."))
    if Mailbox.objects.filter(address__iexact=mail.from_address).exists():
        return _finish(inbound, State.REJECTED, _("Sent from one of the shop's own addresses: a mail loop, ignored."))

    ticket, why = _thread_ticket(mail)
    reasons = [why] if why else []
    if ticket is not None and ticket.status == Status.ARCHIVED:
        reasons.append(_("%(number)s is archived: opened a new ticket for this reply.") % {"number": ticket.number})
        follows, ticket = ticket, None
    else:
        follows = None
    kept, refused = _attachments_checked(mail.attachments)
    body = _body(mail, refused)
    if ticket is None:
        try:
            customer = customer_find_or_create_by_email(address=mail.from_address, name=mail.from_name)
        except ValidationError:
            return _finish(inbound, State.REJECTED,
                           _("The sender address %(address)s is not valid.") % {"address": mail.from_address})
        description = "\n\n".join(filter(None, [mail.subject, mail.reply_text]))[:_BODY_LIMIT] or body
        if follows is not None:
            description += "\n\n" + _("Follows archived ticket %(number)s.") % {"number": follows.number}
        ticket = ticket_create(actor=None, channel=Channel.EMAIL, description=description, customer=customer)
        state = State.TICKET_CREATED
    else:
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            # The customer writing after "solved" means it is not over for them: back to work (DESIGN: reopen).
            ticket = ticket_transition(ticket=ticket, action=Action.REOPEN, actor=None,
                                       reason=note("The customer wrote again by e-mail."))
        state = State.APPENDED
    message = message_add(ticket=ticket, actor=None, direction=Message.Direction.INBOUND, body=body,
                          channel=Channel.EMAIL)
    if mail.message_id and len(mail.message_id) <= 255:
        message.email_message_id = mail.message_id
        message.save(update_fields=["email_message_id"])
    for upload in kept:
        attachment_add(ticket=ticket, actor=None, upload=upload, message=message)
    inbound.ticket, inbound.message = ticket, message
    return _finish(inbound, state, " ".join(reasons))


def _finish(inbound: InboundMail, state: str, reason: str) -> InboundMail:
    inbound.state, inbound.reason = state, reason
    inbound.save(update_fields=["state", "reason", "ticket", "message"])
    return inbound


def _thread_ticket(mail: ParsedMail) -> tuple[Ticket | None, str]:
    """The ticket this mail answers, if its sender is that ticket's customer; else (None, why not)."""
    candidates = []
    if mail.thread_ids:
        by_id = {
            m.email_message_id: m.ticket
            for m in Message.objects.filter(email_message_id__in=mail.thread_ids).select_related("ticket__customer")
        }
        candidates += [by_id[i] for i in mail.thread_ids if i in by_id]
    numbers = TICKET_NUMBER.findall(mail.subject)
    if numbers:
        candidates += list(Ticket.objects.filter(number__in=numbers).select_related("customer"))
    sender = mail.from_address.casefold()
    for ticket in candidates:
        if ticket.customer.email and ticket.customer.email.casefold() == sender:
            return ticket, ""
    if candidates:
        return None, _(
            "The mail names ticket %(number)s, but %(sender)s is not that ticket's customer: opened a new ticket "
            "instead."
        ) % {"number": candidates[0].number, "sender": mail.from_address}
    return None, ""


def _safe_name(name: str, index: int) -> str:
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(char for char in name if char.isprintable()).strip(" .") or f"attachment-{index}"
    if len(name) > 150:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 140] + dot + extension[:9]) if dot else name[:150]
    return name


def _attachments_checked(attachments: list[ParsedAttachment]) -> tuple[list, list[str]]:
    """(uploads that pass the evidence checks, a line per file not kept saying why)."""
    kept, refused = [], []
    for index, attachment in enumerate(attachments, start=1):
        upload = SimpleUploadedFile(_safe_name(attachment.name, index), attachment.content, attachment.content_type)
        try:
            validate_upload(upload)
        except ValidationError as error:
            refused.append(_("Attachment not kept: %(why)s (it stays in the original mail)")
                           % {"why": " ".join(error.messages)})
        else:
            kept.append(upload)
    return kept, refused


def _body(mail: ParsedMail, refused: list[str]) -> str:
    text = mail.reply_text or mail.subject or _("(no text)")
    if len(text) > _BODY_LIMIT:
        text = text[:_BODY_LIMIT] + "\n…" + _("(cut here: the whole text is in the original mail)")
    return "\n\n".join([text, *refused])[:TEXT_MAX_CHARS]


def _bounce_apply(inbound: InboundMail, mail: ParsedMail) -> InboundMail:
    """A bounce of one of our mails marks its e-mail delivery dead and says so on the ticket's timeline."""
    State = InboundMail.State
    sent = (
        Message.objects.filter(email_message_id__in=mail.bounced_message_ids, direction=Message.Direction.OUTBOUND)
        .select_related("ticket").first()
        if mail.bounced_message_ids else None
    )
    if sent is None:
        return _finish(inbound, State.BOUNCE, _("Bounce of a mail the desk did not send: %(reason)s")
                       % {"reason": mail.bounce_reason})
    inbound.ticket = sent.ticket
    if not mail.bounce_failed:
        return _finish(inbound, State.BOUNCE, _("Delivery delayed, not failed: %(reason)s")
                       % {"reason": mail.bounce_reason})
    delivery = Delivery.objects.select_for_update().filter(message=sent, channel=Delivery.Channel.EMAIL).first()
    if delivery is not None and delivery.state != Delivery.State.DEAD:
        delivery_give_up(delivery, error=mail.bounce_reason,
                         why=note("E-mail bounced: %(reason)s", reason=mail.bounce_reason[:400]))
    return _finish(inbound, State.BOUNCE, mail.bounce_reason)
