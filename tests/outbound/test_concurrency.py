"""Two workers sending the same delivery at once: the row lock lets one send, the other finds it taken."""

import threading

import pytest
from django.db import connection

from tickets import services
from tickets.outbound.service import delivery_send


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_sends_send_once(email_ticket, mailbox, smtp_server, agent):
    delivery = services.message_add(ticket=email_ticket, actor=agent, direction="outbound",
                                    body="您好").deliveries.get()
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(delivery_send(delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) in (["sending", "sent"], ["sent", "sent"])
    assert len(smtp_server.envelopes) == 1
