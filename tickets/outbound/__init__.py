"""Every message to the customer leaves through here (DESIGN: one outbound service, channel adapters behind it).

message_add plans a Delivery per channel that reaches the customer inside the reply's transaction; after commit
a Celery task sends it (service.delivery_send), and a beat job retries what is due (deliveries_retry_due).

Adapters (email.py, platform.py, sms.py) each provide:
- `recipient(message) -> str | None`: whom this channel reaches for the message's ticket, None when it cannot
  (no address, no integration for the platform);
- `configured(message) -> str`: "" when the channel can send, else why not (shown as "no channel configured");
- `send(delivery) -> str`: send it now and return the receiver's id (may be ""); raise TemporaryFailure to try
  again later, PermanentFailure when it never will succeed as it is.
"""


class TemporaryFailure(Exception):
    """The receiver did not take it now (timeout, connection refused, 5xx): try again later."""


class PermanentFailure(Exception):
    """The receiver refused it for good (address rejected, 4xx other than 408/429): no retry."""
