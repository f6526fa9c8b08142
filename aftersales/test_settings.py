"""Settings for the test suite: the real settings with test-only speed-ups.

DATABASE_URL and REDIS_URL still come from the environment, so CI runs on PostgreSQL and Redis.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("AFTERSALES_VAR_DIR", tempfile.mkdtemp(prefix="aftersales-test-"))

from aftersales.settings import *  # noqa: E402,F403
from aftersales.settings import REST_FRAMEWORK  # noqa: E402

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STATIC_ROOT = tempfile.mkdtemp(prefix="aftersales-static-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_TASK_ALWAYS_EAGER = True
# Tests set up loads row by row and expect the next pick to see them (tests/tickets/test_assignment.py
# covers the counted-every-few-seconds path with its own setting).
ASSIGNMENT_LOAD_SECONDS = 0
QUEUE_COUNTS_SECONDS = 0  # tests count on every page too (tests/perf/test_queue_queries.py covers the cache)
SHARED_CHOICES_SECONDS = 0  # each test's people and tags (tests/tickets/test_page_parts.py covers the sharing)
CELERY_TASK_EAGER_PROPAGATES = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
LANGUAGE_CODE = "en"
