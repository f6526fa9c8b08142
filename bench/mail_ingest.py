"""E-mail ingest: append N mails to the desk's INBOX on the real Dovecot and time mailboxes_poll().

    scripts/mail-servers.sh start
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailbench .venv/bin/python bench/mail_ingest.py -n 300

Runs on a throwaway test database (test_<name of DATABASE_URL's database>, or an SQLite file without
DATABASE_URL), created, migrated and dropped again. The mails alternate between new tickets (one customer each,
a photo attached to every fifth) and replies by the ticket number in the subject; each is parsed, matched, stored
(raw .eml + message + attachment) in its own transaction, as in production. Prints mails per minute.
"""

import argparse
import base64
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

PHOTO = base64.encodebytes(b"\xff\xd8\xff\xe0" + os.urandom(200_000)).replace(b"\n", b"\r\n")


def _mail(n: int, ticket_number: str | None) -> bytes:
    sender = f"buyer{n // 2}@example.com"  # a reply (2k+1) comes from the customer of the ticket 2k opened
    encoded = base64.b64encode("商品坏了".encode()).decode()
    subject = f"Re: 商品问题 [{ticket_number}]" if ticket_number else f"=?UTF-8?B?{encoded}?= {n}"
    head = (f"From: Buyer <{sender}>\r\nTo: desk@shop.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <bench-{n}-{time.time_ns()}@example.com>\r\nMIME-Version: 1.0\r\n")
    text = f"第{n}封：屏幕不亮了，请处理。\r\n\r\n在 2026年11月12日 10:00，客服 写道：\r\n> 您好\r\n".encode()
    if n % 5:
        return head.encode() + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
    return (head.encode() + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + text + b"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=photo.jpg\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + PHOTO + b"--b--\r\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--imap", default=os.environ.get("MAIL_TEST_IMAP", "127.0.0.1:10143"))
    args = parser.parse_args()
    host, _, port = args.imap.rpartition(":")

    setup_test_environment()
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="mailbench-media-")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from imap_tools import MailBoxUnencrypted

        from tickets.mail.imap import mailboxes_poll
        from tickets.models import Mailbox, Message, Ticket

        box = Mailbox.objects.create(name="bench", address="desk@shop.test", imap_host=host, imap_port=int(port),
                                     imap_security="none", imap_user="desk@shop.test", imap_password="desk-secret")
        with MailBoxUnencrypted(host, int(port)).login("desk@shop.test", "desk-secret") as imap:
            if uids := imap.uids():
                imap.delete(uids)
            # First the new mails, polled; then as many replies naming the tickets they opened.
            firsts = args.n // 2
            for n in range(firsts):
                imap.append(_mail(2 * n, None), "INBOX")
        started = time.monotonic()
        taken = mailboxes_poll()
        first_seconds = time.monotonic() - started
        numbers = list(Ticket.objects.order_by("id").values_list("number", flat=True))
        with MailBoxUnencrypted(host, int(port)).login("desk@shop.test", "desk-secret") as imap:
            for n, number in enumerate(numbers[: args.n - firsts]):
                imap.append(_mail(2 * n + 1, number), "INBOX")
        started = time.monotonic()
        taken += mailboxes_poll()
        seconds = first_seconds + time.monotonic() - started
        box.refresh_from_db()
        print(f"database: {connection.vendor}; mails taken in: {taken} of {args.n}; "
              f"tickets: {Ticket.objects.count()}; messages: {Message.objects.count()}; "
              f"last error: {box.last_error or '-'}")
        print(f"{taken} mails in {seconds:.1f} s: {taken / seconds * 60:.0f} mails per minute")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
