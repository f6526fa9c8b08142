"""Polling the shop's mailboxes over IMAP (beat, every MAIL_POLL_SECONDS).

Each mail above the box's last UID is fetched (peeked: the shop's own mail client still sees it unread), taken
in through mail_receive, and only then is last_uid moved past it, in its own commit. A server that drops the
connection mid-fetch leaves last_uid at the last mail taken in: the next run fetches the rest, and a mail taken
in whose last_uid did not get saved is recognised by its Message-ID, never doubled.
"""

import logging
import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage

from ..models import Mailbox
from ..models.channels import Security
from .inbound import mail_receive

logger = logging.getLogger(__name__)

# A poll holds its box by writing last_polled_at this far into the future (a compare-and-swap, as
# healthchecks' sendalerts claims checks): two beats, or a beat overlapping a slow run, never poll the same box
# at once, and a worker killed mid-poll frees it when the lease runs out (above the task's time limit).
LEASE = timedelta(minutes=5)
# Stop taking in after this long (below the task's time limit); the rest is the next run's.
RUN_SECONDS = 150
CONNECT_TIMEOUT = 30
_CLIENTS = {Security.SSL: MailBox, Security.STARTTLS: MailBoxStartTls, Security.NONE: MailBoxUnencrypted}


class _RawMailMessage(MailMessage):
    """imap-tools' message, keeping the bytes as fetched (the raw mail is what is stored and parsed)."""

    def __init__(self, fetch_data: list):
        super().__init__(fetch_data)
        self.raw = self._get_message_data_parts(fetch_data)[0]


def mailboxes_poll() -> int:
    """Poll every active mailbox with an IMAP host; the number of mails taken in. One box failing (wrong
    password, server down) is written on that box and does not stop the others."""
    taken = 0
    for mailbox_id in Mailbox.objects.filter(is_active=True).exclude(imap_host="").values_list("id", flat=True):
        taken += mailbox_poll(mailbox_id)
    return taken


def _claim(mailbox_id: int) -> Mailbox | None:
    now = timezone.now()
    claimed = (
        Mailbox.objects.filter(pk=mailbox_id, is_active=True)
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now))
        .update(last_polled_at=now + LEASE)
    )
    return Mailbox.objects.get(pk=mailbox_id) if claimed else None


def mailbox_poll(mailbox_id: int) -> int:
    mailbox = _claim(mailbox_id)
    if mailbox is None:
        return 0  # another poll holds it
    taken, error = [], ""
    try:
        _fetch_new(mailbox, taken)
    except Exception as failure:  # noqa: BLE001 - any server or network fault is the box's state, not a crash
        error = f"{failure.__class__.__name__}: {failure}"[:1000]
        # The password is never in the message (imaplib does not echo it); the host and user help the admin.
        logger.warning("mailbox %s (%s@%s) poll failed: %s", mailbox.name, mailbox.imap_user, mailbox.imap_host,
                       error)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=error)
    return len(taken)


def _fetch_new(mailbox: Mailbox, taken: list[int]) -> None:
    """Take in the box's new mails, appending each UID to `taken` once committed (what a dropped connection
    leaves done)."""
    client = _CLIENTS.get(mailbox.imap_security, MailBox)
    started = time.monotonic()
    with client(mailbox.imap_host, mailbox.imap_port, timeout=CONNECT_TIMEOUT) as box:
        box.email_message_class = _RawMailMessage
        box.login(mailbox.imap_user, mailbox.imap_password, initial_folder=mailbox.imap_folder)
        validity = int(box.folder.status(mailbox.imap_folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        last_uid = mailbox.last_uid or 0
        if mailbox.uid_validity != validity:
            # The folder was rebuilt: its UIDs mean other mails now. Start over; what was taken in before is
            # recognised by its Message-ID.
            last_uid = 0
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=validity, last_uid=0)
        # "UID n:*" always answers the newest mail, even below n: filtered again here.
        for message in box.fetch(AND(uid=f"{last_uid + 1}:*"), mark_seen=False, bulk=False):
            uid = int(message.uid)
            if uid <= last_uid:
                continue
            mail_receive(raw=message.raw, mailbox=mailbox)  # its own transaction, committed here
            Mailbox.objects.filter(pk=mailbox.pk).filter(
                Q(last_uid__isnull=True) | Q(last_uid__lt=uid)).update(last_uid=uid)
            last_uid = uid
            taken.append(uid)
            if time.monotonic() - started > RUN_SECONDS:
                break

