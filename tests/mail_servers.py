"""The real mail servers for tests: Dovecot (IMAP) and aiosmtpd (SMTP) from scripts/mail-servers.sh.

    from tests.mail_servers import imap_server, smtp_server  # noqa: F401 - fixtures

`imap_server` / `smtp_server` give a MailServer (host, port, users {address: password}, root: the mail
directory). Mail accepted by the SMTP server is in `smtp_server.sent_maildir` (a Maildir: `sent_mails()` reads
it), and a mail to a known user (customer@example.com) lands in that user's IMAP INBOX too. Addresses come from
MAIL_TEST_IMAP / MAIL_TEST_SMTP ("host:port", default 127.0.0.1:10143 / 127.0.0.1:10025) and MAIL_TEST_MAILDIR
(default var/ci-mail). A server that does not answer is started with the script; if it still does not answer the
test skips, or fails when REQUIRE_SERVICES=1 (CI).
"""

import email
import mailbox
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

ROOT = Path(__file__).resolve().parent.parent
USERS = {"desk@shop.test": "desk-secret", "customer@example.com": "customer-secret"}


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    root: Path
    users: dict = field(default_factory=lambda: dict(USERS))

    @property
    def sent_maildir(self) -> Path:
        return self.root / "smtp-maildir"

    def sent_mails(self) -> list[email.message.Message]:
        """Every mail the SMTP server accepted, oldest first."""
        box = mailbox.Maildir(self.sent_maildir, create=False)
        return [email.message_from_bytes(box.get_bytes(key)) for key in sorted(box.keys())]

    def imap(self, user: str = "desk@shop.test") -> MailBoxUnencrypted:
        """A logged-in imap-tools client for `user` (use as a context manager)."""
        return MailBoxUnencrypted(self.host, self.port, timeout=10).login(user, self.users[user])


def _address(variable: str, default: str) -> tuple[str, int]:
    host, _, port = os.environ.get(variable, default).rpartition(":")
    return host or "127.0.0.1", int(port)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _server(variable: str, default: str) -> MailServer:
    host, port = _address(variable, default)
    root = Path(os.environ.get("MAIL_TEST_MAILDIR", ROOT / "var" / "ci-mail"))
    if not _answers(host, port):
        imap_host, imap_port = _address("MAIL_TEST_IMAP", "127.0.0.1:10143")
        _smtp_host, smtp_port = _address("MAIL_TEST_SMTP", "127.0.0.1:10025")
        env = {**os.environ, "MAIL_IMAP_PORT": str(imap_port), "MAIL_SMTP_PORT": str(smtp_port),
               "MAIL_ROOT": str(root)}
        subprocess.run([str(ROOT / "scripts" / "mail-servers.sh"), "start"], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
    if not _answers(host, port):
        message = f"no mail server on {host}:{port} (scripts/mail-servers.sh start needs dovecot-imapd)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return MailServer(host=host, port=port, root=root)


@pytest.fixture
def imap_server() -> MailServer:
    return _server("MAIL_TEST_IMAP", "127.0.0.1:10143")


@pytest.fixture
def smtp_server() -> MailServer:
    return _server("MAIL_TEST_SMTP", "127.0.0.1:10025")
