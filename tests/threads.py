"""Races on real PostgreSQL row locks: calls released together, each in its own thread.

Each thread gets its own database connection (Django keeps one per thread) and closes it at the end.
"""

import threading

from django.db import connection


def run_together(*calls):
    """Run each call in its own thread, released together; return results or raised exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the test inspects what each side got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results
