"""The shared cache (Redis in production) fails open: an outage costs a miss, never a 500.

Everything the desk keeps in the cache can be recomputed or skipped: queue tab counts and agents'
loads are counted afresh, dashboard charts computed live, API throttles and the customer-link rate
limit let the request through (RATELIMIT_FAIL_OPEN). Django's RedisCache raises on a dead server;
this subclass logs and answers as an empty cache that stores nothing. After a failure it leaves
Redis alone for RETRY_AFTER_SECONDS, so a hung server (connect or read timing out) costs one request
per process a timeout, not every cache call of every request; the short socket timeouts come from
OPTIONS (settings.CACHES).
"""

from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What an unreachable or frozen server raises (BusyLoadingError, a restart's "loading", included).
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_AFTER_SECONDS = 5.0

# Per server, shared by the per-thread cache objects of a process: monotonic time until which Redis is
# not tried again.
_down_until: dict[str, float] = {}


def _fail_open(fallback):
    """Run the cache call; during an outage answer `fallback(*args, **kwargs)` instead."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if _down_until.get(self._location, 0.0) > time.monotonic():
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except OUTAGE_ERRORS as error:
                if self._location not in _down_until or _down_until[self._location] < time.monotonic():
                    logger.warning("cache unreachable (%r); serving without it for %.0f s", error, RETRY_AFTER_SECONDS)
                _down_until[self._location] = time.monotonic() + RETRY_AFTER_SECONDS
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _missing_key(key, *args, **kwargs):
    # Django's contract for incr/decr of an absent key; every caller handles it (django-ratelimit
    # then fails open, tickets/assignment.py counts at the next window).
    raise ValueError(f"Key {key!r} not found (cache unreachable).")


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)

    def ping(self) -> None:
        """Ask the server itself, past the outage window (for /healthz); raises when it is down."""
        self._cache.get_client(write=True).ping()
        _down_until.pop(self._location, None)

    @_fail_open(lambda key, value, timeout=DEFAULT_TIMEOUT, version=None: False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_fail_open(lambda key, default=None, version=None: default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_fail_open(lambda key, value, timeout=DEFAULT_TIMEOUT, version=None: None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_fail_open(lambda key, timeout=DEFAULT_TIMEOUT, version=None: False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_fail_open(lambda key, version=None: False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_fail_open(lambda keys, version=None: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_fail_open(lambda key, version=None: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_fail_open(_missing_key)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_fail_open(lambda data, timeout=DEFAULT_TIMEOUT, version=None: list(data))
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_fail_open(lambda keys, version=None: None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_fail_open(lambda: False)
    def clear(self):
        return super().clear()
