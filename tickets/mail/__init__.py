"""Mail that comes in from the shop's mailboxes (IMAP polled by beat, or a provider's inbound-mail webhook):
parsed, matched to its ticket by threading headers (and its sender), quoted history cut, kept whole."""
