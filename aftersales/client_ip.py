"""The client's address behind our own reverse proxies.

Behind N trusted proxies (docker-compose's nginx is one) REMOTE_ADDR is the nearest proxy, so
rate limits keyed on it would put every customer in one bucket. Each proxy appends the address it
saw to X-Forwarded-For; the entry N from the right is the one our outermost proxy saw, and
anything left of it is whatever the client claimed (never trusted). DRF's throttles read the same
count (REST_FRAMEWORK["NUM_PROXIES"]).
"""

from django.conf import settings


def client_ip(request) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def ratelimit_key(group, request) -> str:
    """django-ratelimit key: one bucket per client address."""
    return client_ip(request)
