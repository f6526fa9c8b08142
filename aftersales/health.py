"""GET /healthz: can the desk serve, and which of its helpers is down?

The database is required: 503 when it fails. The cache and the broker are reported but do not fail
the check: without the cache pages are counted afresh and rate limits let requests through
(aftersales/cache.py); without the broker reminders and e-mails wait in the database and jobs are
picked up again by the periodic sweeps. Either down answers 200 with status "degraded" and names it
in "down", so a load balancer keeps the web processes in service while monitoring raises the alarm.
"""

from pathlib import Path

from django.core.cache import caches
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

PROBE_TIMEOUT_SECONDS = 1


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _cache_status() -> str:
    cache = caches["default"]
    ping = getattr(cache, "ping", None)  # the shared Redis cache (aftersales/cache.py)
    if ping is None:
        return "ok (local memory)"
    try:
        ping()
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


def _broker_status() -> str:
    # The Celery app's own configuration: where .delay actually publishes.
    url = str(celery_app.conf.broker_url)
    if url.startswith("filesystem://"):
        folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
        return "ok (filesystem)" if folder.is_dir() else "missing folder (filesystem)"
    try:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    parts = {"database": _database_status(), "cache": _cache_status(), "broker": _broker_status()}
    down = [name for name, state in parts.items() if not state.startswith("ok")]
    if "database" in down:
        status, code = "error", 503
    else:
        status, code = ("degraded" if down else "ok"), 200
    return JsonResponse({"status": status, **parts, "down": down}, status=code)


class HealthzMiddleware:
    """Answers /healthz before any other middleware, so no Host header or scheme can break it.

    Health checks call a web process by its own address (the container's `127.0.0.1:8000`, a pod IP),
    which is rightly not in ALLOWED_HOSTS: past this point CommonMiddleware would answer 400
    (DisallowedHost) and SecurityMiddleware could redirect the check to https. Nothing here reads the
    Host header; every other path is still validated as before. First in MIDDLEWARE.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)
