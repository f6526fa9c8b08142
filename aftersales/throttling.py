"""Rate limits that fail open: the cache (Redis in production) counting requests must not take the
API down with it. When it cannot be reached the request is let through and the outage logged."""

import hashlib
import logging

from rest_framework import throttling

logger = logging.getLogger(__name__)


class FailOpen:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # any cache backend error (redis.ConnectionError, timeouts...)
            logger.warning("rate-limit cache unreachable; request allowed", exc_info=True)
            return True


class AnonRateThrottle(FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpen, throttling.UserRateThrottle):
    pass


class _FixedWindowThrottle(throttling.SimpleRateThrottle):
    """The view's `throttle_scope` rate per sender (the source named in its `throttle_source_header`, from one
    client address), in fixed windows: one cache increment per request. DRF's own throttles keep each
    client's request times as a list read and written whole every request, up to the rate's thousands of
    entries at a busy webhook (6,000 a minute). A fixed window may let up to twice the rate through
    across a window's edge; for a flood guard that is enough. The header is not verified yet when this runs,
    so the address is in the key too: another sender naming a source does not use up that source's rate."""

    def __init__(self):
        pass  # the rate is the view's: read in allow_request

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        # The sender's words, hashed: a key of fixed length and safe characters whatever the header holds.
        source = hashlib.sha256(request.headers.get(getattr(view, "throttle_source_header", ""), "").encode())
        key = f"throttle_fixed:{self.scope}:{window}:{self.get_ident(request)}:{source.hexdigest()[:32]}"
        return self._counted(key) <= self.num_requests

    def _counted(self, key: str) -> int:
        """This request's number in its window (0: the cache could not count it, so it goes through)."""
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request (or the cache is down: then the add fails too)
            if self.cache.add(key, 1, self.duration + 1):
                return 1
            try:
                return self.cache.incr(key)  # another request added it meanwhile
            except ValueError:
                return 0

    def wait(self):
        return self.wait_seconds


class SignedWebhookThrottle(FailOpen, _FixedWindowThrottle):
    pass
