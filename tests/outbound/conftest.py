"""Real receivers on loopback: an SMTP server (aiosmtpd, in this process) and an HTTP outbox receiver
(http.server in a thread) that checks the signature and answers as each test scripts it."""

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.factories import CustomerFactory, OrderFactory
from tickets import services
from tickets.intake import sign
from tickets.models import Mailbox, OutboxEndpoint

SECRET = "outbox-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler: keeps each envelope; `refuse` (code, text) answers RCPT with it instead."""

    def __init__(self):
        self.envelopes = []
        self.refuse = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return f"{self.refuse[0]} {self.refuse[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def mails(self):
        return [message_from_bytes(content, policy=policy.default) for *_rest, content in self.envelopes]


@pytest.fixture
def smtp_server():
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - a dev dependency
        pytest.skip("aiosmtpd is not installed")
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def mailbox(db, smtp_server):
    return Mailbox.objects.create(
        name="shop", address="service@shop.example", display_name="小店客服", is_default=True,
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none",
    )


class Receiver:
    """The shop's integration: `answers` is the list of (status, body) to give in turn (the last repeats);
    `delay` seconds before answering. Each request is kept with whether its signature was right."""

    def __init__(self):
        self.answers = [(200, {"message_id": "pm-1"})]
        self.delay = 0.0
        self.requests = []


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            timestamp = self.headers.get("X-Aftersales-Timestamp", "")
            signed = self.headers.get("X-Aftersales-Signature") == sign(secret=SECRET, timestamp=timestamp, body=body)
            state.requests.append({"json": json.loads(body), "signed": signed,
                                   "key": self.headers.get("Idempotency-Key")})
            status, answer = state.answers[min(len(state.requests), len(state.answers)) - 1]
            if not signed:
                status, answer = 401, {"error": "bad signature"}
            time.sleep(state.delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/outbox"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def outbox(db, receiver):
    return OutboxEndpoint.objects.create(platform="jd", url=receiver.url, secret=SECRET, timeout_seconds=2)


@pytest.fixture
def email_ticket(db, agent, settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    customer = CustomerFactory(email="buyer@example.com", name="王女士")
    return services.ticket_create(actor=agent, channel="email", description="拉链坏了\n第二行", customer=customer)


@pytest.fixture
def platform_ticket(db, agent, settings):
    settings.AUTO_ASSIGN_NEW_TICKETS = False
    customer = CustomerFactory(platform="jd", platform_account="jd_buyer_7")
    order = OrderFactory(customer=customer, platform="jd")
    ticket = services.ticket_create(actor=agent, channel="platform", description="申请退款", customer=customer,
                                    order=order)
    ticket.external_source, ticket.external_id = "jd", "AFS-9001"
    ticket.save(update_fields=["external_source", "external_id"])
    return ticket
