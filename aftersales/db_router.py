"""Heavy read-only aggregates on a PostgreSQL streaming replica (REPLICA_DATABASE_URL), everything else on
the primary.

Nothing is guessed: a read goes to the replica only inside `replica_reads()` (reports, the dashboard's
charts) or through an explicit `.using(reads_from())` (the queue export, which streams after its view has
returned). `reads_from()` answers the primary ("default") instead when
- no replica is configured;
- the primary is inside a transaction (`atomic`): the read must see the transaction's own writes;
- the request is a write (POST, PUT, PATCH, DELETE; `PrimaryAfterWriteMiddleware` sets the flag): what it
  wrote has not reached the replica yet, so it never reads it back from there;
- the replica does not answer: a warning is logged and the primary is used (and the replica left alone for
  REPLICA_RETRY_SECONDS), never a 500.
A GET after a write (the redirect after a POST) may read the replica a few milliseconds behind: only
aggregates read there, and the chart figures are cached for a minute anyway.

Writes and migrations always go to the primary; the two aliases hold the same data, so relations between
their objects are allowed.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
REPLICA_RETRY_SECONDS = 10  # after a failed probe, how long the primary answers without trying the replica
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_request_writes: ContextVar[bool] = ContextVar("request_writes", default=False)
_read_alias: ContextVar[str | None] = ContextVar("read_alias", default=None)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def reads_from() -> str:
    """The alias a heavy read-only aggregate should read from now: the replica when one is configured,
    answering and safe to read (see the module's docstring), else the primary."""
    if not replica_configured() or _request_writes.get() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA if _replica_answers() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads():
    """Every read inside the block goes where `reads_from()` says (decided once, on entry)."""
    token = _read_alias.set(reads_from())
    try:
        yield
    finally:
        _read_alias.reset(token)


def _replica_answers() -> bool:
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    replica = connections[REPLICA]
    try:
        # A round trip, not only a connect: a kept connection (CONN_MAX_AGE) may have died with the server.
        with replica.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("replica database unreachable; reading from the primary for %s s: %s", REPLICA_RETRY_SECONDS,
                       str(error).strip())
        replica.close()
        _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        return False
    return True


class ReplicaRouter:
    """DATABASE_ROUTERS entry. Reads follow `replica_reads()` (the primary outside it); writes and
    migrations the primary."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()  # None: Django's default (the primary, or the instance's own alias)

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Same data under two names: a ticket read on the replica may be assigned a user read on the primary.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class PrimaryAfterWriteMiddleware:
    """A request with an unsafe method reads everything from the primary (it may read back what it wrote)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in UNSAFE_METHODS:
            return self.get_response(request)
        token = _request_writes.set(True)
        try:
            return self.get_response(request)
        finally:
            _request_writes.reset(token)

