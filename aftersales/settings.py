"""Settings for the after-sales desk, read from the environment.

Every value a deployment changes comes from an environment variable (see README and
.env.example). The embedded default (no variables at all, DEBUG on) is SQLite and a
filesystem Celery broker, so `make run` works on a bare machine.
"""

import re
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("AFTERSALES_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

# No secret default outside DEBUG: a production start without SECRET_KEY must fail loudly.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-key-only-for-debug-never-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_ratelimit",
    "customers",
    "orders",
    "tickets",
]

MIDDLEWARE = [
    # First: /healthz answers before the Host check and the https redirect (aftersales/health.py).
    "aftersales.health.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: a NUL in a form field is a 400 with a reason, never a database error (aftersales/limits.py).
    "aftersales.limits.RefuseControlCharactersMiddleware",
    # A POST (PUT, PATCH, DELETE) reads only the primary: it may read back what it wrote (aftersales/db_router.py).
    "aftersales.db_router.PrimaryAfterWriteMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tickets.middleware.DeskLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aftersales.urls"
WSGI_APPLICATION = "aftersales.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.desk",
            ],
        },
    },
    # The hot pages (the queue, the dashboard, the ticket page) and the desk's shell: tickets/jinja_env.py says why.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "tickets.jinja_env.environment",
            "context_processors": [  # what the shell reads (the backend adds the request)
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.desk",
                "tickets.context_processors.csrf_once",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Reports, exports and the dashboard's charts read from a PostgreSQL streaming replica when one is given
# (aftersales/db_router.py: what reads there, the read-after-write rule, the fallback to the primary).
if env.str("REPLICA_DATABASE_URL", default=""):
    DATABASES["replica"] = env.db("REPLICA_DATABASE_URL")
    if {DATABASES[a]["ENGINE"] for a in DATABASES} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured("REPLICA_DATABASE_URL needs PostgreSQL for it and for DATABASE_URL.")
    # The test run has no replica of its test database: the alias reads the primary's (Django makes no copy).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    # A replica that does not answer costs a report a few seconds once, then the primary answers.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DATABASE_ROUTERS = ["aftersales.db_router.ReplicaRouter"]
# Behind a pooler in transaction mode (PgBouncer, docker-compose.yml) a connection may change server between
# two transactions, so a server-side cursor (a named cursor `.iterator()` keeps open) could vanish mid-read.
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    for alias in DATABASES:
        DATABASES[alias]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        DATABASES[alias]["CONN_HEALTH_CHECKS"] = True
        DATABASES[alias]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_TRANSACTION_POOLING
    # template0 so the test database gets the cluster's UTF-8 locale (CJK trigram search needs it).
    DATABASES["default"]["TEST"] = {"TEMPLATE": "template0", "CHARSET": "UTF8"}
else:
    # SQLite in the embedded default: wait for the writer instead of failing with "database is locked"
    # when the web server and the embedded worker write at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# i18n: the desk speaks Chinese first, English second; times in the shop's time zone.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploads go through Django's storage API only: the disk by default (one host, or a shared volume),
# an S3-compatible object store (S3, MinIO, Aliyun OSS, Tencent COS) with MEDIA_STORAGE=s3, so any
# number of web and worker processes on any host see the same files. Needs the `s3` extra.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("S3_SECRET_KEY", default="") or None,
            "file_overwrite": False,  # two uploads of photo.jpg keep both
            "querystring_auth": True,  # evidence is private: links expire
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured("MEDIA_STORAGE must be 'filesystem' or 's3'.")

# Evidence uploads (photos, videos, PDFs): checked by content, not by the name the browser sends.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Rule thresholds (tickets/suggestions.py); defaults, not platform law.
RISK_AMOUNT_THRESHOLD = Decimal(env.str("RISK_AMOUNT_THRESHOLD", default="1000"))
REPEAT_CONTACT_DAYS = env.int("REPEAT_CONTACT_DAYS", default=7)

# Celery: Redis when REDIS_URL is set; otherwise a filesystem broker so the embedded
# default needs no server (dev only: it never redelivers).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_DATA_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task taken by a worker that then died (SIGKILL, OOM, lost host) goes back to the queue this
        # long after delivery (tasks are acknowledged late), looked for every 10 s by every worker. Hence
        # every task's time limit is below it, and no ETA/countdown reaches it (a later one runs twice).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        # A dead Redis refuses at once; a frozen one must not hold a request's .delay (or a worker) for
        # long: each attempt gives up after 2 s, and a publish is tried twice (TASK_PUBLISH_RETRY_POLICY).
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "out"),
        "data_folder_out": str(CELERY_DATA_DIR / "out"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing (.delay) gives up after a second try; enqueue_after_commit (aftersales/celery.py) logs it and a
# periodic job does the work later, so a broker outage never turns a saved request into a 500.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# Below the visibility timeout (300 s): a task still running when it expires would be handed out again.
CELERY_TASK_TIME_LIMIT = 240
CELERY_TASK_SOFT_TIME_LIMIT = 200
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Redis fails open (aftersales/cache.py): an outage is a cache miss, and the short timeouts keep a dead
# or frozen server from holding a request for more than a fraction of a second.
CACHES = {
    "default": (
        {
            "BACKEND": "aftersales.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The customer link is rate-limited through this cache; if it is down, customers get through rather
# than being locked out (like the API throttles).
RATELIMIT_FAIL_OPEN = True
# Reverse proxies of our own in front of the web processes (docker-compose's nginx: 1); rate limits
# and the customer's recorded address then come from X-Forwarded-For (aftersales/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# W001 names only memcached and django-redis; Django's own RedisCache counts with Redis INCR, atomic
# across processes, which is all the limiter needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if not REDIS_URL:
    # Per-process memory cache: right for `make run` (one process), never for several web processes.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a bad or missing token answers 401 with WWW-Authenticate (session still works).
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # A JSON API: form encodings would make "0" a valid boolean and every field a string. Attachments are
    # the one multipart upload (their own parser_classes).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["aftersales.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "aftersales.api.StableCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aftersales.api.exception_handler",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
    "DEFAULT_THROTTLE_CLASSES": [
        "aftersales.throttling.AnonRateThrottle",
        "aftersales.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/minute"),
        "user": env.str("THROTTLE_USER", default="2000/minute"),
        "intake": env.str("THROTTLE_INTAKE", default="6000/minute"),
        "inbound_mail": env.str("THROTTLE_INBOUND_MAIL", default="6000/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "After-sales desk API",
    "DESCRIPTION": "Tickets, customers, orders and the after-sales workflow.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # What the desk sends out (the platform chat outbox). OpenAPI 3.0 has no webhooks: they are published as
    # `x-webhooks` (read by ReDoc); 3.1 would also make 7.0 an integer in every query parameter.
    "WEBHOOKS": ["tickets.outbound.schema.outbox_webhook"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aftersales.api.document_input_rules",
        "aftersales.api.document_error_responses",
        "tickets.api.serializers.document_ticket_create_rule",
        "aftersales.api.webhooks_as_extension",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "SubtaskStatusEnum": "tickets.models.Subtask.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "PlatformEnum": "customers.models.Platform",
        "ChannelEnum": "tickets.models.Channel",
        "SolutionKindEnum": "tickets.models.Solution.Kind",
        "SubtaskKindEnum": "tickets.models.Subtask.Kind",
        "ApprovalKindEnum": "tickets.models.ApprovalRequest.Kind",
        "NotificationKindEnum": "tickets.notifications.Notification.Kind",
        "TicketTypeEnum": "tickets.models.TicketType",
        "IntakeStateEnum": "tickets.models.IntakeEvent.State",
    },
}

# Security: strict by default outside DEBUG (`manage.py check --deploy` is clean).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# New tickets go to the least-loaded on-duty agent (tickets/assignment.py).
AUTO_ASSIGN_NEW_TICKETS = env.bool("AUTO_ASSIGN_NEW_TICKETS", default=True)
# An agent who took a high-risk contact may keep it (the page offers "hand to a senior" and "keep it");
# False: only the hand-over is offered.
HIGH_RISK_AGENTS_MAY_KEEP = env.bool("HIGH_RISK_AGENTS_MAY_KEEP", default=True)
# How often the agents' open-ticket counts behind it are taken (assignments since are added on top); 0: every time.
ASSIGNMENT_LOAD_SECONDS = env.int("ASSIGNMENT_LOAD_SECONDS", default=10)
# How often the queue tabs' counts are taken for all agents (shared cache); 0: on every page.
QUEUE_COUNTS_SECONDS = env.int("QUEUE_COUNTS_SECONDS", default=5)
# How long a whole table's choices (the desk's people, its tags) are shared by the filter bar and the dashboard's
# reassign lists: someone added is offered within it; 0: read on every page.
SHARED_CHOICES_SECONDS = env.int("SHARED_CHOICES_SECONDS", default=30)
# The most tickets one queue export (CSV, XLSX) holds; a bigger selection is refused with its count.
QUEUE_EXPORT_MAX_ROWS = env.int("QUEUE_EXPORT_MAX_ROWS", default=50_000)
if QUEUE_EXPORT_MAX_ROWS < 1:
    raise ImproperlyConfigured("QUEUE_EXPORT_MAX_ROWS must be at least 1")

# Platform intake (tickets/intake.py): events per worker transaction, and how often beat looks for events left
# pending (their task never queued: broker down).
INTAKE_BATCH_SIZE = env.int("INTAKE_BATCH_SIZE", default=200)
INTAKE_SWEEP_SECONDS = env.int("INTAKE_SWEEP_SECONDS", default=30)
# How long the worker's task waits after the first event of a burst, so the events that follow within it are made
# in the same batch (a few statements for all) rather than one small batch each.
INTAKE_GATHER_MS = env.int("INTAKE_GATHER_MS", default=100)
if INTAKE_BATCH_SIZE < 1 or INTAKE_SWEEP_SECONDS < 5:
    raise ImproperlyConfigured("INTAKE_BATCH_SIZE must be at least 1 and INTAKE_SWEEP_SECONDS at least 5.")
if not 0 <= INTAKE_GATHER_MS <= 5000:
    raise ImproperlyConfigured("INTAKE_GATHER_MS must be from 0 to 5000.")

# SLA sweep (tickets/sla/sweep.py, run by Celery beat).
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=60)
SLA_SWEEP_BATCH_SIZE = env.int("SLA_SWEEP_BATCH_SIZE", default=1000)
AUTO_CLOSE_DAYS = env.int("AUTO_CLOSE_DAYS", default=7)
# The customer's signed link (tickets/portal): how long a link stays valid and how often one address may use it.
CUSTOMER_LINK_DAYS = env.int("CUSTOMER_LINK_DAYS", default=30)
CUSTOMER_LINK_RATE = env.str("CUSTOMER_LINK_RATE", default="30/m")
# A survey score at or below this alerts the supervisors.
CSAT_ALERT_SCORE = env.int("CSAT_ALERT_SCORE", default=2)
if CUSTOMER_LINK_DAYS < 1 or not 0 <= CSAT_ALERT_SCORE <= 5:
    raise ImproperlyConfigured("CUSTOMER_LINK_DAYS must be at least 1 and CSAT_ALERT_SCORE between 0 and 5.")
if not re.fullmatch(r"\d+/\d*[smhd]", CUSTOMER_LINK_RATE):
    raise ImproperlyConfigured("CUSTOMER_LINK_RATE must look like 30/m (a count per s, m, h or d).")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="desk@localhost")
# Notification e-mails sent per second at most (the mail provider's limit); 0: as fast as SMTP takes them.
NOTIFICATION_EMAIL_RATE = env.float("NOTIFICATION_EMAIL_RATE", default=0)
if NOTIFICATION_EMAIL_RATE < 0:
    raise ImproperlyConfigured("NOTIFICATION_EMAIL_RATE must be 0 (unlimited) or a positive number per second.")
# A mail server that stops answering fails the send after this long instead of holding the e-mail run.
EMAIL_TIMEOUT = 30
# Conversations with the customer (README "Conversations with the customer"): shop mailboxes are configured in
# the admin (IMAP in, SMTP out), platform chat outboxes too; the SMS gateway here. Nothing configured: replies
# stay recorded on the ticket with the state "no channel configured".
MAIL_POLL_SECONDS = env.int("MAIL_POLL_SECONDS", default=60)
# A mail above this size is refused whole (its sender and subject recorded); attachments are checked one by
# one against the evidence rules (tickets/uploads.py). 50 MB as the big providers: base64 makes a 30 MB file a
# 41 MB mail, which must still arrive (its text kept, the file refused by the evidence limit).
MAIL_MAX_BYTES = env.int("MAIL_MAX_BYTES", default=50 * 1024 * 1024)
# Attempts per delivery before it is dead (shown to supervisors); the waits between them grow (30 s to 1 h).
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=8)
OUTBOUND_TIMEOUT_SECONDS = env.int("OUTBOUND_TIMEOUT_SECONDS", default=10)
# A generic HTTP SMS gateway (the shape Chinese providers use: a registered signature 签名 and a template
# code 模板 with parameters; free text is not allowed). Blank URL: no SMS.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", default="")
SMS_LINK_TEMPLATE = env.str("SMS_LINK_TEMPLATE", default="")
# Texts one number may receive, per hour and per day (providers block numbers that get more).
SMS_PER_NUMBER_HOUR = env.int("SMS_PER_NUMBER_HOUR", default=3)
SMS_PER_NUMBER_DAY = env.int("SMS_PER_NUMBER_DAY", default=10)
if MAIL_POLL_SECONDS < 5 or OUTBOUND_MAX_ATTEMPTS < 1 or OUTBOUND_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured(
        "MAIL_POLL_SECONDS must be at least 5, OUTBOUND_MAX_ATTEMPTS and OUTBOUND_TIMEOUT_SECONDS at least 1."
    )

CELERY_BEAT_SCHEDULE = {
    # Platform events whose ticket was not made yet because their task was never queued (broker down).
    "intake-sweep": {
        "task": "tickets.tasks.intake_process_task",
        "schedule": float(INTAKE_SWEEP_SECONDS),
        "options": {"expires": max(INTAKE_SWEEP_SECONDS - 5, 5)},
    },
    "sla-sweep": {
        "task": "tickets.tasks.sla_sweep_task",
        "schedule": float(SLA_SWEEP_SECONDS),
        # A sweep that could not start in time is superseded by the next one.
        "options": {"expires": max(SLA_SWEEP_SECONDS - 5, 5)},
    },
    "incident-detect": {
        "task": "tickets.tasks.incident_detect_task",
        "schedule": 900.0,
        "options": {"expires": 840},
    },
    "auto-close": {
        "task": "tickets.tasks.auto_close_task",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
    # Each run drains the unsent notices for up to ~50 s (tickets/sla/mail.py).
    "notification-emails": {
        "task": "tickets.tasks.notifications_email_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Replies whose send failed (or was never queued: broker down) are tried again when due (tickets/outbound).
    "deliveries-retry": {
        "task": "tickets.tasks.deliveries_retry_task",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The shop's mailboxes over IMAP (tickets/mail).
    "mailboxes-poll": {
        "task": "tickets.tasks.mailboxes_poll_task",
        "schedule": float(MAIL_POLL_SECONDS),
        "options": {"expires": max(MAIL_POLL_SECONDS - 5, 5)},
    },
    # A running price-difference batch whose job was never queued (broker down at "Run") or was lost.
    "pricediff-resume-stalled": {
        "task": "tickets.pricediff.tasks.pricediff_resume_stalled_task",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
}

# Price protection (价保): a price drop within this many days of the order is refunded in bulk.
PRICE_PROTECTION_DAYS = env.int("PRICE_PROTECTION_DAYS", default=30)
# A bulk price-difference batch refunding more than this in total (CNY), or with any row above the
# uploader's own refund limit, waits for a second person's approval (another supervisor, or finance).
PRICEDIFF_APPROVAL_TOTAL = Decimal(env.str("PRICEDIFF_APPROVAL_TOTAL", default="5000"))
# Incident detection (tickets/incidents/detect.py): N tickets sharing product and category within T hours.
INCIDENT_MIN_TICKETS = env.int("INCIDENT_MIN_TICKETS", default=5)
INCIDENT_WINDOW_HOURS = env.int("INCIDENT_WINDOW_HOURS", default=24)
# The trend rule beside it: a product's fault tickets of the last INCIDENT_TREND_DAYS, split in two halves
# (two weeks by default); the recent half must count at least INCIDENT_TREND_MIN and at least
# INCIDENT_TREND_FACTOR times the earlier half.
INCIDENT_TREND_DAYS = env.int("INCIDENT_TREND_DAYS", default=14)
INCIDENT_TREND_FACTOR = env.float("INCIDENT_TREND_FACTOR", default=2.0)
INCIDENT_TREND_MIN = env.int("INCIDENT_TREND_MIN", default=5)
if INCIDENT_TREND_DAYS < 2 or INCIDENT_TREND_FACTOR <= 1 or INCIDENT_TREND_MIN < 1:
    raise ImproperlyConfigured(
        "INCIDENT_TREND_DAYS must be at least 2, INCIDENT_TREND_FACTOR above 1 and INCIDENT_TREND_MIN at least 1."
    )
# Shipping watch: a parcel with no tracking update for this many hours counts as stalled (Tmall: 48 h same region).
LOGISTICS_STALL_HOURS = env.int("LOGISTICS_STALL_HOURS", default=48)
