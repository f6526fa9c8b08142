"""Rate limits that fail open: the cache (Redis in production) counting requests must not take the
API down with it. When it cannot be reached the request is let through and the outage logged."""

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


class ScopedRateThrottle(FailOpen, throttling.ScopedRateThrottle):
    pass
