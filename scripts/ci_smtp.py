"""aiosmtpd handler for the test SMTP server (scripts/mail-servers.sh): every mail it accepts is kept in
var/ci-mail/smtp-maildir (what the desk sent, for tests to read), and delivered into the Dovecot Maildir of each
recipient who has a mailbox there (so a reply can be read back over IMAP, as the customer would)."""

import mailbox
import os
from pathlib import Path


def _maildir(path: Path) -> mailbox.Maildir:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, create=False)


class MaildirDelivery:
    def __init__(self, root: str):
        self.root = Path(root)
        os.umask(0)  # Dovecot's mail user (not the one running this) moves the files new/ -> cur/
        self.sent = _maildir(self.root / "smtp-maildir")

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        header = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        self.sent.add(header.encode() + raw)
        for recipient in envelope.rcpt_tos:
            home = self.root / "mail" / recipient.lower()
            if home.is_dir():
                _maildir(home / "Maildir").add(raw)
        return "250 OK"

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("MaildirDelivery takes the mail root (var/ci-mail)")
        return cls(args[0])
