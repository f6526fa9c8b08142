"""Raw MIME bytes -> what the desk needs of a mail: who wrote, the threading headers, the text (quoted history
cut), the attachments, and whether it is an auto-reply or a bounce.

Chinese mail arrives as GBK / GB18030 declared as gb2312 (or not declared at all): every gb2312/gbk text is
decoded as GB18030 (a superset), and undeclared bytes that are not UTF-8 are tried as GB18030 before giving up
with replacement characters. A broken MIME structure is read as far as it goes; only a mail with nothing to
read (no header at all) is refused, with the reason.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html import unescape
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

# Charsets mail clients declare for what is really GBK/GB18030 text.
_GB_FAMILY = {"gb2312", "gb_2312", "gb_2312-80", "gbk", "x-gbk", "cp936", "ms936", "euc-cn", "x-euc-cn", "gb18030"}
AUTO_REPLY_SUBJECT = re.compile(
    r"自动回复|自动答复|out of (?:the )?office|auto(?:matic)?[ -]?repl(?:y|ied)|autoreply|vacation reply", re.I
)
AUTO_PRECEDENCE = {"bulk", "junk", "auto_reply", "list"}
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# What mail-parser-reply does not (yet) recognise in Chinese mail: "在 2026年11月12日 … 写道：" (Gmail, Apple
# Mail in Chinese), QQ/Foxmail's "------------------ 原始邮件 ------------------", Outlook's "-----原始邮件-----".
_ZH_QUOTE_START = re.compile(
    r"^\s*(?:在.{0,120}写道[：:]\s*$|.{0,60}\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,100}写道[：:]\s*$"
    r"|-{2,}\s*(?:原始邮件|Original Message)\s*-{2,}\s*$)",
    re.M | re.I,
)
_REPLY_PARSER = EmailReplyParser(languages=["zh", "en"])


class MailUnreadable(Exception):
    """Nothing can be read from these bytes (the reason is the message)."""


@dataclass(frozen=True)
class ParsedAttachment:
    name: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    message_id: str  # as in the header, brackets kept; "" when missing
    from_address: str
    from_name: str
    to: list[str]
    subject: str
    in_reply_to: str
    references: list[str]
    text: str  # the whole text part (or the HTML's text)
    reply_text: str  # the same without quoted history: what the customer wrote this time
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reply: bool = False
    bounce: bool = False
    bounce_failed: bool = False  # a bounce that says delivery failed for good (not "delayed")
    bounce_reason: str = ""
    bounced_message_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        return ids + [ref for ref in reversed(self.references) if ref not in ids]


def mail_id_of(raw: bytes, message_id: str) -> str:
    """The key a mail is taken in once by: its Message-ID, or a hash of the bytes when it has none (or one too
    long for the column)."""
    if message_id and len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    charset = (charset or "").strip().strip('"').lower()
    if charset in _GB_FAMILY:
        charset = "gb18030"
    for candidate in filter(None, (charset, "utf-8", "gb18030")):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def decode_header_value(value) -> str:
    """A header's text: RFC 2047 encoded words decoded (gb2312 read as GB18030), raw 8-bit bytes tried as UTF-8
    then GB18030, folding undone."""
    if value is None:
        return ""
    value = str(value)
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in value):  # undeclared 8-bit bytes, kept as surrogates
        value = decode_bytes(value.encode("ascii", "surrogateescape"))
    value = re.sub(r"\r?\n[ \t]+", " ", value)
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - a broken encoded word: the text as it came
        return value.strip()
    words = []
    for chunk, charset in chunks:
        words.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return "".join(words).strip()


def _raw_header(message: Message, name: str) -> str | None:
    """The header as it came (before the email package's own decoding, which reads gb2312 strictly)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return value
    return None


def _ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value or "")


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.skip = max(self.skip - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - broken HTML: the tags stripped crudely
        return unescape(re.sub(r"<[^>]+>", " ", html)).strip()
    text = "".join(parser.parts)
    return re.sub(r"\n[ \t]*(?:\n[ \t]*){2,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def strip_quoted(text: str) -> str:
    """The new words of a reply: quoted history ("On … wrote:", "在 … 写道：", "> …", forwarded originals) cut.
    The whole text when cutting would leave nothing."""
    try:
        reply = _REPLY_PARSER.parse_reply(text=text) or ""
    except Exception:  # noqa: BLE001 - the library's regexes on odd input: keep the text
        reply = text
    match = _ZH_QUOTE_START.search(reply)
    if match:
        reply = reply[: match.start()]
    reply = reply.strip()
    return reply or text.strip()


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return decode_bytes(payload, part.get_param("charset"))


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a malformed parameter
        name = ""
    if "=?" in name or any(0xDC80 <= ord(char) <= 0xDCFF for char in name):
        name = decode_header_value(name)  # RFC 2047 inside the parameter (Outlook, Foxmail), or raw GBK bytes
    return name


def _walk(part: Message, found: dict, defects: list[str]) -> None:
    """Collect the first plain and HTML texts, attachments, and a report's parts; never descend into an
    attached mail (it is an attachment, or a bounce's copy of ours)."""
    content_type = part.get_content_type()
    if part.is_multipart() and content_type.startswith("multipart/"):
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, found, defects)
        return
    try:
        if content_type in ("message/delivery-status",):
            found["status"].append(part)
            return
        if content_type in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            found["original"].append(part)
        name = _filename(part)
        attachment = name or part.get_content_disposition() == "attachment" or content_type.startswith("message/")
        if not attachment and content_type == "text/plain" and "plain" not in found:
            found["plain"] = _text_of(part)
        elif not attachment and content_type == "text/html" and "html" not in found:
            found["html"] = _text_of(part)
        elif attachment or not content_type.startswith("text/"):
            if content_type.startswith("message/"):
                content = part.as_bytes(policy=policy.compat32) if part.is_multipart() else (
                    part.get_payload(decode=True) or b"")
                name = name or "attached.eml"
            else:
                content = part.get_payload(decode=True) or b""
            found["attachments"].append(
                ParsedAttachment(name=name or f"attachment-{len(found['attachments']) + 1}", content_type=content_type,
                                 content=content)
            )
    except Exception as error:  # noqa: BLE001 - one broken part does not lose the rest of the mail
        defects.append(f"{content_type}: {error.__class__.__name__}")


def _bounce_details(found: dict) -> tuple[bool, str, list[str]]:
    """(failed for good, the reason, the Message-IDs of the mail that bounced) from a delivery-status report and
    the copy of our mail (or its headers) it carries."""
    actions, reasons = [], []
    for part in found["status"]:
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            if not isinstance(block, Message):
                continue
            action = (block.get("Action") or "").strip().lower()
            if action:
                actions.append(action)
            diagnostic = block.get("Diagnostic-Code") or block.get("Status")
            if diagnostic and action in ("", "failed"):
                recipient = (block.get("Final-Recipient") or block.get("Original-Recipient") or "").split(";")[-1]
                reasons.append(" ".join(f"{recipient.strip()}: {diagnostic}".split()))
    ids = []
    for part in found["original"]:
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            ids += _ids(str(_raw_header(payload[0], "Message-ID") or ""))
        else:
            data = part.get_payload(decode=True) or b""
            ids += _ids("".join(re.findall(r"(?im)^message-id:\s*(.*)$", decode_bytes(data))))
    failed = not actions or "failed" in actions
    return failed, "; ".join(reasons)[:500], ids


def mail_parse(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise MailUnreadable("The mail is empty.")
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)
    if not message.keys():
        raise MailUnreadable("No mail headers could be read.")
    defects = [type(defect).__name__ for defect in message.defects]

    def header(name: str) -> str:
        return decode_header_value(_raw_header(message, name))

    raw_from = _raw_header(message, "From") or _raw_header(message, "Sender") or ""
    from_name, from_address = parseaddr(re.sub(r"\r?\n[ \t]+", " ", str(raw_from)))
    from_name = decode_header_value(from_name)
    from_address = decode_header_value(from_address).strip()
    if "@" not in from_address:
        from_address = ""
    to = [address for _name, address in getaddresses([header("To"), header("Cc")]) if "@" in address]

    found = {"status": [], "original": [], "attachments": []}
    _walk(message, found, defects)
    if "plain" in found and found["plain"].strip():
        text = found["plain"]
    elif "html" in found:
        text = html_to_text(found["html"])
    else:
        text = found.get("plain", "")
    text = text.replace("\r\n", "\n").replace("\x00", "").strip()
    subject = header("Subject")

    mail = ParsedMail(
        message_id="".join(header("Message-ID").split()),
        from_address=from_address,
        from_name=from_name,
        to=to,
        subject=subject,
        in_reply_to=(_ids(header("In-Reply-To")) or [""])[0],
        references=_ids(header("References")),
        text=text,
        reply_text=strip_quoted(text) if text else "",
        attachments=found["attachments"],
        defects=defects,
    )
    report_type = (message.get_param("report-type") or "") if message.get_content_type() == "multipart/report" else ""
    local_part = from_address.split("@")[0].lower()
    return_path = _raw_header(message, "Return-Path")
    mail.bounce = (
        str(report_type).lower() == "delivery-status"
        or local_part in BOUNCE_SENDERS
        or (return_path is not None and return_path.strip() in ("<>", ""))
    )
    if mail.bounce:
        mail.bounce_failed, mail.bounce_reason, original_ids = _bounce_details(found)
        mail.bounce_reason = mail.bounce_reason or (mail.text[:300] if mail.text else subject)
        mail.bounced_message_ids = list(dict.fromkeys([*original_ids, *mail.thread_ids]))
        mail.attachments = []  # a bounce's parts are our own mail coming back, not evidence
        return mail
    auto_submitted = header("Auto-Submitted").split(";")[0].strip().lower()
    mail.auto_reply = bool(
        (auto_submitted and auto_submitted != "no")
        or _raw_header(message, "X-Autoreply") is not None
        or _raw_header(message, "X-Autorespond") is not None
        or header("Precedence").lower() in AUTO_PRECEDENCE
        or AUTO_REPLY_SUBJECT.search(subject)
    )
    return mail
