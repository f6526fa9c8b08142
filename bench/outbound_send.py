"""Send latency of a reply by e-mail: from the reply's commit to the SMTP server having the mail.

    .venv/bin/python bench/outbound_send.py --replies 50
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/outbound_send.py

Creates a throwaway test database (SQLite in memory, or test_<name> beside DATABASE_URL), starts a real SMTP
server (aiosmtpd) on loopback, and saves N agent replies on an e-mail case through tickets.services.message_add.
The send task runs in-process right after commit (Celery eager, as the test settings have it), so the figure is
the desk's own path (row claim, build the MIME, SMTP dialogue, record sent) without the broker hop, which adds
the broker's queueing delay (a few ms with an idle Redis and worker). Prints p50 / p95 / max in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "aftersales.test_settings"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # the SMTP server and Celery log every step
    from aiosmtpd.controller import Controller
    from django.db import connection, transaction
    from django.test.utils import setup_test_environment

    from tests.outbound.conftest import RecordingHandler, free_port

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        from tests.factories import CustomerFactory, make_user
        from tickets import services
        from tickets.models import Delivery, Mailbox

        Mailbox.objects.create(name="shop", address="service@shop.example", is_default=True,
                               smtp_host="127.0.0.1", smtp_port=controller.port, smtp_security="none")
        agent = make_user("agent", username="bench-agent")
        ticket = services.ticket_create(actor=agent, channel="email", description="拉链坏了",
                                        customer=CustomerFactory(email="buyer@example.com"))
        committed = []
        for n in range(args.replies):
            with transaction.atomic():
                # Registered first, so it runs first after the commit, before the send queued by message_add.
                transaction.on_commit(lambda: committed.append(time.monotonic()))
                services.message_add(ticket=ticket, actor=agent, direction="outbound", body=f"您好，第{n}次回复")
        received = [when for when, *_rest in handler.envelopes]
        sent = Delivery.objects.filter(state="sent").count()
        if len(received) != args.replies or sent != args.replies:
            print(f"only {len(received)} mails received, {sent} deliveries sent of {args.replies}")
            return 1
        latencies = sorted((got - start) * 1000 for start, got in zip(committed, received, strict=True))
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        print(f"replies: {args.replies} on {connection.vendor}; commit -> SMTP server has it: "
              f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")
        return 0
    finally:
        controller.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
