"""GET /healthz: is the database answering, and can the broker be reached?

The database is required (503 when it fails); the broker is only reported, because a broker
outage delays reminders but loses none (the database is the source of truth).
"""

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker_status() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return "ok (filesystem)" if folder.is_dir() else "missing folder (filesystem)"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    database = _database_status()
    broker = _broker_status()
    healthy = database == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "error", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


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
