"""Settings for the Central System: one module, configured from the environment.

Two ways to run, one code base (SPEC §1):

* **Embedded default** — nothing set: SQLite in ``var/``, the in-memory channel layer, and a
  Celery broker on the local filesystem (``var/celery/``) so that ``make run`` can start a worker
  and beat beside daphne with nothing else installed.
* **Production** — ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``: PostgreSQL with psycopg's
  connection pool, channels-redis, the Celery broker on Redis. ``SECRET_KEY`` is then required and
  cookies are marked secure.
"""

import contextlib
import ipaddress
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Runtime state of the embedded default (SQLite file, generated key, filesystem broker).
VAR_DIR = Path(env.str("CSMS_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Mode -------------------------------------------------------------------------------------
# Production is whatever runs on an external database server; SQLite is the embedded default.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
DEBUG = env.bool("DEBUG", default=False)

# --- Security ---------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (EMBEDDED or DEBUG):
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set (production).")
    # Embedded runs keep one generated key on disk so sessions survive restarts.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind a TLS-terminating proxy (deploy/nginx.conf) cookies must never travel in clear text.
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=not (EMBEDDED or DEBUG))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if env.bool("TRUST_X_FORWARDED_PROTO", default=not EMBEDDED):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # Admin login brute force: failed logins counted per user name and per address, locked out
    # for a cool-down (issue 19 §1) — the well-kept library for it, with its own admin pages.
    "axes",
    "csms",
    "csms.tenancy",
    "csms.webhooks",
    "csms.alerts",
    "chargepoints",
    "transactions",
    "smartcharging",
    "firmware",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but security: a database outage seen anywhere below is a JSON 503.
    "csms.outage.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Idempotency-Key on the API's POSTs: a retried request gets the first answer.
    "csms.api.idempotency.IdempotencyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]
# django-axes first: a locked-out user name or address is refused before any password is
# checked, the right one included.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The same bounds as for charge points' Basic auth (OCPP_BASIC_AUTH_*): this many failed logins
# per user name or per address lock it out for the cool-down; a success resets the count.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("ADMIN_LOGIN_LOCKOUT_SECONDS", default=900))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True

ROOT_URLCONF = "csms.urls"
ASGI_APPLICATION = "csms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the daphne process read while the Celery worker writes; IMMEDIATE transactions
    # take the write lock up front instead of failing half-way with "database is locked".
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # End-to-end tests run daphne in another process: the test database must be a file.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    _db["ENGINE"] = "django.db.backends.postgresql"
    # No persistent connections under ASGI (each ORM hop may run in another thread); the pool
    # keeps them cheap instead (Django >= 5.1).
    _db["CONN_MAX_AGE"] = 0
    # Statements run this many times on a connection are prepared: only those bound on the
    # server (csms.row_insert: the message log, meter values, status history — the same few
    # statements thousands of times) since Django's own cursors bind on the client. Empty
    # turns it off (a PgBouncer in transaction mode cannot keep prepared statements).
    _prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    _db.setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(_prepare_threshold) if _prepare_threshold else None
    )
    _db["OPTIONS"]["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=1),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channel layer ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_PREFIX = env.str("CHANNEL_PREFIX", default="csms")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": CHANNEL_PREFIX,
                "capacity": 1000,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache ------------------------------------------------------------------------------------
# The API's rate limits count in the cache: on Redis in production so that every daphne
# process counts against the same limit; in the process's memory in the embedded default.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------------
# JSON only; tasks take ids and stay short. Results are not kept: the database rows are the
# outcome of every job. Beat reads its schedule from the database so staff can edit it.
# A job is acknowledged after it ran (ACKS_LATE below), so a worker killed mid-job leaves it
# unacknowledged: Redis hands it to another worker once the visibility timeout passed
# (kombu's default is an hour). The timeout must outlast our longest job, or a job still
# running would be handed out a second time: every task is held to TIME_LIMIT, and the
# timeout is that plus a margin, so a dead worker's job runs again within a minute (a job that
# would need longer must be split into per-item tasks). Every task is safe to run twice
# (issue 16 §3): what a job queues carries its run's task id (``Command.job_key``), the rest
# re-check the state they advance.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=40)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=35)
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 10
)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT: a job still "
        "running would be handed to a second worker."
    )
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
        # Workers look for jobs past the timeout every 10 s; kombu only really scans every
        # tenth look (100 s), which would leave a dead worker's job waiting up to two minutes.
        "unacked_restore_throttle": 1,
    }
else:
    _broker_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["csms.tenancy.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["csms.tenancy.permissions.IsTenantClient"],
    # Every list filters, searches, orders and pages the same way (csms.api.lists).
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "csms.api.lists.DefaultSearchFilter",
        "csms.api.lists.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "csms.api.lists.StrictPageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    # Per token (csms.api.throttling); over it: 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["csms.api.throttling.TokenRateThrottle"],
    # 100 a second over a minute: a tenant provisioning its fleet one request at a time (about
    # 60 objects a second) is not refused; a runaway integration still is.
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="6000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "csms.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSMS API",
    "DESCRIPTION": "Tenant API of the OCPP 1.6-J Central System. "
    "Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The error shape, Idempotency-Key, tags and the command payloads (csms.api.openapi).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "csms.api.openapi.postprocess",
    ],
}
# Bulk creation (CSV import, JSON lists): at most this many rows per request.
API_BULK_MAX_ROWS = env.int("API_BULK_MAX_ROWS", default=10000)
# The largest ?page_size= a list accepts.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)
# Idempotency-Key (csms.api.idempotency): how long a key's first answer is kept per token.
API_IDEMPOTENCY_KEY_TTL_SECONDS = env.int("API_IDEMPOTENCY_KEY_TTL_SECONDS", default=86400)
# API tokens: how often ``last_used_at`` may be written for one token (a write per request
# would make every API call a database write).
API_TOKEN_LAST_USED_RESOLUTION_SECONDS = 60

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "chargepoints.passwords.ChargePointPasswordHasher",
]

# --- Internationalisation, static files ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
# The embedded default serves static files straight from the apps (no collectstatic step).
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG
# WhiteNoise warns on every request when STATIC_ROOT does not exist yet (before collectstatic).
with contextlib.suppress(OSError):
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not (EMBEDDED or DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- TLS and certificates (issue 19; csms.tls, csms.pki) -----------------------------------------
# With a certificate and its key, `make run` (manage.py serve) serves wss:// and https:// on
# TLS_PORT beside plain HTTP: TLS 1.2+ with the whitepaper's cipher suites (csms.tls.context).
# The ALT pair is a second certificate of the other key type (RSA beside ECDSA, or the reverse):
# the four suites a Central System must offer (whitepaper A00.FR.317) need both.
TLS_CERT_FILE = env.str("TLS_CERT_FILE", default="")
TLS_KEY_FILE = env.str("TLS_KEY_FILE", default="")
TLS_ALT_CERT_FILE = env.str("TLS_ALT_CERT_FILE", default="")
TLS_ALT_KEY_FILE = env.str("TLS_ALT_KEY_FILE", default="")
TLS_PORT = env.int("TLS_PORT", default=8443)
for _cert, _key in (("TLS_CERT_FILE", "TLS_KEY_FILE"), ("TLS_ALT_CERT_FILE", "TLS_ALT_KEY_FILE")):
    if bool(globals()[_cert]) != bool(globals()[_key]):
        raise ImproperlyConfigured(f"{_cert} and {_key} go together: set both or neither.")
if TLS_ALT_CERT_FILE and not TLS_CERT_FILE:
    raise ImproperlyConfigured("TLS_ALT_CERT_FILE is a second certificate: set TLS_CERT_FILE too.")
# CA certificates (PEM bundle) that charge points' client certificates may chain to: with it,
# the TLS endpoint asks for a client certificate (security profile 3). REQUIRED refuses, in the
# TLS handshake, every client without a valid one: for a port that serves profile 3 only
# (whitepaper A00.FR.006); otherwise the application decides per charge point.
TLS_CLIENT_CA_FILE = env.str("TLS_CLIENT_CA_FILE", default="")
TLS_CLIENT_CERT_REQUIRED = env.bool("TLS_CLIENT_CERT_REQUIRED", default=False)
if TLS_CLIENT_CERT_REQUIRED and not TLS_CLIENT_CA_FILE:
    raise ImproperlyConfigured("TLS_CLIENT_CERT_REQUIRED needs TLS_CLIENT_CA_FILE.")
# Addresses or networks (CIDR) of the proxies whose X-SSL-Client-* and X-Forwarded-For headers
# are believed (deploy/nginx.conf, csms.forwarded); empty believes no proxy. Checked against
# the TCP peer, never against X-Forwarded-For (which a client can write).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    for _proxy in TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_error}") from None
# CA private keys are stored encrypted with a key derived from this (csms.pki.key_storage);
# empty derives it from SECRET_KEY (and SECRET_KEY_FALLBACKS). Set it in production, so that a
# new SECRET_KEY does not make every stored CA key unreadable. Old values go in FALLBACKS.
PKI_ENCRYPTION_KEY = env.str("PKI_ENCRYPTION_KEY", default="")
PKI_ENCRYPTION_KEY_FALLBACKS = env.list("PKI_ENCRYPTION_KEY_FALLBACKS", default=[])

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# plain: one readable line each; json: one JSON object per line (python-json-logger) with the
# fields time, level, logger, message and, on every line of an OCPP connection's work,
# tenant, charge_point and message_id (csms.log_context).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"ocpp_context": {"()": "csms.log_context.OcppContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["ocpp_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Refused handshakes, bad credentials: kept apart so operators can ship them elsewhere.
        "csms.security": {"level": "INFO"},
        "django.channels.server": {"level": "WARNING"},
        # daphne's start-up chatter ("Starting server at", "HTTP/2 support not enabled",
        # endpoints): `manage.py serve` says where it serves itself, once it does.
        "daphne": {"level": "WARNING"},
    },
}
# With JSON logs, Celery workers and beat log through the handler above instead of setting up
# their own plain one (so that their lines are JSON too).
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# --- Metrics (csms.metrics, /metrics) ----------------------------------------------------------
# Who may scrape: a client presenting this bearer token, or one connecting from these networks
# (judged on the TCP peer). Empty token: networks only. Several daphne processes are summed
# through prometheus-client's multiprocess directory, PROMETHEUS_MULTIPROC_DIR (manage.py
# serve sets it to var/metrics/ unless given, and empties it on start).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1"])
try:
    for _network in METRICS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_error}") from None
# Each process writes its database pool and work-under-way gauges this often.
METRICS_SAMPLE_SECONDS = env.float("METRICS_SAMPLE_SECONDS", default=5.0)
# prometheus-client reads PROMETHEUS_MULTIPROC_DIR itself, and writes there from the first
# metric on: the directory must exist by then.
if _metrics_dir := env.str("PROMETHEUS_MULTIPROC_DIR", default=""):
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)

# --- Server process ---------------------------------------------------------------------------
# Garbage collector of daphne processes (csms.runtime): thresholds (gen0, gen1, gen2; empty:
# Python's defaults), whether to freeze the start-up heap and what survives each full collection
# (thawed every GC_THAW_SECONDS to reclaim cycles among them). Measured by ``make bench``.
GC_THRESHOLDS = tuple(env.list("GC_THRESHOLDS", cast=int, default=[50_000, 20, 100]))
GC_FREEZE_AFTER_STARTUP = env.bool("GC_FREEZE_AFTER_STARTUP", default=True)
GC_FREEZE_SURVIVORS = env.bool("GC_FREEZE_SURVIVORS", default=True)
GC_THAW_SECONDS = env.float("GC_THAW_SECONDS", default=1800.0)
GC_LOG_SLOW_MS = env.float("GC_LOG_SLOW_MS", default=0.0)
# How long a thread may hold the interpreter lock while another waits for it (csms.runtime;
# Python's default is 5 ms). Empty: Python's default.
GIL_SWITCH_INTERVAL_MS = env.str("GIL_SWITCH_INTERVAL_MS", default="")

# --- OCPP -------------------------------------------------------------------------------------
# WebSocket pings keep idle connections honest; OCPP's own Heartbeat does the rest.
OCPP_WEBSOCKET_PING_INTERVAL = env.int("OCPP_WEBSOCKET_PING_INTERVAL", default=90)
OCPP_WEBSOCKET_PING_TIMEOUT = env.int("OCPP_WEBSOCKET_PING_TIMEOUT", default=30)
# Seconds a WebSocket handshake may take (chargers themselves wait 30-60 s); daphne's is 5.
OCPP_WEBSOCKET_CONNECT_TIMEOUT = env.int("OCPP_WEBSOCKET_CONNECT_TIMEOUT", default=30)
# Frames longer than this are answered with a FormationViolation and not parsed.
OCPP_MAX_FRAME_SIZE = env.int("OCPP_MAX_FRAME_SIZE", default=65536)
# A connection's request headers (a charger's handshake) must be complete this many seconds
# after its TCP accept, or it is dropped (slowloris; csms.server_patches.headers_deadline).
HTTP_HEADERS_TIMEOUT_SECONDS = env.float("HTTP_HEADERS_TIMEOUT_SECONDS", default=10.0)
# Frames per second a connection may send, sustained, and in a burst (csms.ocpp.rate_limit):
# beyond, a frame is answered GenericError and not handled or logged; a connection refused
# OCPP_FRAME_FLOOD_REFUSALS frames within OCPP_FRAME_FLOOD_WINDOW_SECONDS is closed and logged.
# A charger replaying its offline queue waits for each answer, well within these.
OCPP_FRAME_RATE = env.float("OCPP_FRAME_RATE", default=100.0)
OCPP_FRAME_BURST = env.int("OCPP_FRAME_BURST", default=1000)
OCPP_FRAME_FLOOD_REFUSALS = env.int("OCPP_FRAME_FLOOD_REFUSALS", default=500)
OCPP_FRAME_FLOOD_WINDOW_SECONDS = env.float("OCPP_FRAME_FLOOD_WINDOW_SECONDS", default=10.0)
# Message log: every frame in and out, kept this many days (purged by a Celery beat task).
OCPP_MESSAGE_LOG_RETENTION_DAYS = env.int("OCPP_MESSAGE_LOG_RETENTION_DAYS", default=30)
# Presence: last_seen is written at most this often per charge point (not once per frame).
OCPP_LAST_SEEN_RESOLUTION_SECONDS = env.int("OCPP_LAST_SEEN_RESOLUTION_SECONDS", default=60)
# Charge point Basic-auth passwords: PBKDF2 iterations. Lower than Django's user default on
# purpose: passwords are 16-40 random characters (security whitepaper) and a reconnect storm
# must not spend seconds of CPU per handshake.
OCPP_PASSWORD_ITERATIONS = env.int("OCPP_PASSWORD_ITERATIONS", default=20000)
# Basic-auth brute force (chargepoints.security.brute_force): this many failed handshakes of one
# identity, or from one source address, within the window lock it out (every attempt refused,
# the right password too) for LOCKOUT seconds.
OCPP_BASIC_AUTH_IDENTITY_LIMIT = env.int("OCPP_BASIC_AUTH_IDENTITY_LIMIT", default=10)
OCPP_BASIC_AUTH_SOURCE_LIMIT = env.int("OCPP_BASIC_AUTH_SOURCE_LIMIT", default=50)
OCPP_BASIC_AUTH_WINDOW_SECONDS = env.int("OCPP_BASIC_AUTH_WINDOW_SECONDS", default=300)
OCPP_BASIC_AUTH_LOCKOUT_SECONDS = env.int("OCPP_BASIC_AUTH_LOCKOUT_SECONDS", default=900)
# The security log (chargepoints.security.security_log): rows kept this many days.
SECURITY_LOG_RETENTION_DAYS = env.int("SECURITY_LOG_RETENTION_DAYS", default=180)
# Charge point certificates we signed are renewed (TriggerMessage SignChargePointCertificate)
# this many days before they expire, and a security event says they are expiring.
CERTIFICATE_RENEWAL_DAYS = env.int("CERTIFICATE_RENEWAL_DAYS", default=30)
# Who signs charge points' CSRs (SignCertificate.req): a dotted path to a callable
# (chargepoints.security.certificates.CertificateSigner); the default is the tenant's own
# Charge Point CA. An external CA's signer returns None and delivers CertificateSigned itself.
CERTIFICATE_SIGNER = env.str(
    "CERTIFICATE_SIGNER", default="chargepoints.security.certificates.tenant_ca_signer"
)
# BootNotification.conf interval for Pending/Rejected charge points: when to boot again.
OCPP_BOOT_RETRY_INTERVAL = env.int("OCPP_BOOT_RETRY_INTERVAL", default=60)
# Central-System-initiated commands (the outbox)
OCPP_CALL_TIMEOUT_SECONDS = env.float("OCPP_CALL_TIMEOUT_SECONDS", default=30.0)
OCPP_COMMAND_TTL_SECONDS = env.int("OCPP_COMMAND_TTL_SECONDS", default=300)
OCPP_OUTBOX_POLL_SECONDS = env.float("OCPP_OUTBOX_POLL_SECONDS", default=2.0)
# Threads that run the OCPP path's database work, one per pooled connection: the CALL batches
# (below) and the rest for handshakes, closes and the outbox.
OCPP_DB_THREADS = env.int(
    "OCPP_DB_THREADS",
    default=_db.get("OPTIONS", {}).get("pool", {}).get("max_size", 6) if not EMBEDDED else 6,
)
# Group commit (csms.ocpp.execution.group_commit): at most this many batches of inbound CALLs in
# flight per process, each of at most this many calls; calls that arrive while all are busy go
# together in the next one (one transaction, one message-log insert).
OCPP_CALL_BATCH_PARALLEL = env.int("OCPP_CALL_BATCH_PARALLEL", default=2)
OCPP_CALL_BATCH_MAX = env.int("OCPP_CALL_BATCH_MAX", default=50)
# Calls whose transaction may commit without waiting for the WAL flush when a batch holds
# nothing else (csms.ocpp.execution.group_commit.commit_durability). Never transaction messages.
OCPP_ASYNC_COMMIT_ACTIONS = frozenset(env.list("OCPP_ASYNC_COMMIT_ACTIONS", default=["Heartbeat"]))
_DURABLE_ACTIONS = {
    "StartTransaction",
    "StopTransaction",
    "MeterValues",
    "SecurityEventNotification",
}
if _DURABLE_ACTIONS & OCPP_ASYNC_COMMIT_ACTIONS:
    raise ImproperlyConfigured(
        "OCPP_ASYNC_COMMIT_ACTIONS may not hold transaction messages (OCPP 1.6 §4.7): "
        + ", ".join(sorted(_DURABLE_ACTIONS & OCPP_ASYNC_COMMIT_ACTIONS))
    )
# Admission control in reconnect storms (csms.ocpp.execution.admission): while a process's database
# work takes longer than MAX_LATENCY seconds (queueing included; chargers give up after ~30 s)
# or MAX_IN_FLIGHT items are under way, BootNotification is answered Pending with an interval
# drawn from RETRY_MIN..RETRY_MAX seconds, so the fleet comes back in waves. MAX_IN_FLIGHT 0
# defers every boot; a negative value turns admission control off.
OCPP_ADMISSION_MAX_IN_FLIGHT = env.int("OCPP_ADMISSION_MAX_IN_FLIGHT", default=5000)
OCPP_ADMISSION_MAX_LATENCY_SECONDS = env.float("OCPP_ADMISSION_MAX_LATENCY_SECONDS", default=15.0)
OCPP_ADMISSION_RETRY_MIN_SECONDS = env.int("OCPP_ADMISSION_RETRY_MIN_SECONDS", default=10)
OCPP_ADMISSION_RETRY_MAX_SECONDS = env.int("OCPP_ADMISSION_RETRY_MAX_SECONDS", default=30)

# --- Firmware campaigns and diagnostics (firmware app) ----------------------------------------
# The address charge points reach this platform at: GetDiagnostics is sent an upload location
# under it (the built-in upload receiver, /uploads/diagnostics/<token>/). By default the address
# this process really serves: HOST and PORT, which `manage.py serve` (make run) passes on to
# every process it starts; a wildcard HOST (0.0.0.0, ::) names this machine instead. Behind a
# proxy, or wherever chargers see another name, set it.
HOST = env.str("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)


def _served_url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - naming the wildcard, not binding it
        host = socket.gethostname()  # no DNS lookup at start-up
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


CSMS_PUBLIC_URL = env.str("CSMS_PUBLIC_URL", default="") or _served_url(HOST, PORT)
# Largest diagnostics file the upload receiver accepts (bigger bodies are answered 413).
DIAGNOSTICS_UPLOAD_MAX_BYTES = env.int("DIAGNOSTICS_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# Diagnostics requests: after this long without news, TriggerMessage(DiagnosticsStatus-
# Notification); after the time-out, the request ends timed_out.
DIAGNOSTICS_QUIET_SECONDS = env.int("DIAGNOSTICS_QUIET_SECONDS", default=600)
DIAGNOSTICS_TIMEOUT_SECONDS = env.int("DIAGNOSTICS_TIMEOUT_SECONDS", default=3600)
# Defaults of new firmware campaigns (each campaign may set its own).
FIRMWARE_QUIET_SECONDS = env.int("FIRMWARE_QUIET_SECONDS", default=900)
FIRMWARE_TIMEOUT_SECONDS = env.int("FIRMWARE_TIMEOUT_SECONDS", default=7200)
FIRMWARE_WINDOW_DAYS = env.int("FIRMWARE_WINDOW_DAYS", default=7)
# Names of the firmware app's enums in the OpenAPI document (several models have a "status").
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "FirmwareUpdateStatusEnum": "firmware.models.FirmwareUpdateStatus",
        "FirmwareJobStatusEnum": "firmware.models.FirmwareJobStatus",
        "DiagnosticsRequestStatusEnum": "firmware.models.DiagnosticsRequestStatus",
    }
)

# Smart charging: site rebalances wait this long so a burst of starts/stops collapses into one.
SMARTCHARGING_REBALANCE_DELAY_SECONDS = env.float(
    "SMARTCHARGING_REBALANCE_DELAY_SECONDS", default=2.0
)
# A SetChargingProfile answered Rejected is sent again this many times, the first retry after
# the base delay, each next one after twice the one before (then charging_profile.rejected).
SMARTCHARGING_PROFILE_RETRIES = env.int("SMARTCHARGING_PROFILE_RETRIES", default=3)
SMARTCHARGING_PROFILE_RETRY_BASE_SECONDS = env.float(
    "SMARTCHARGING_PROFILE_RETRY_BASE_SECONDS", default=30.0
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ChargingRateUnitEnum": "smartcharging.models.ChargingRateUnit",
        "CommandStatusEnum": "chargepoints.models.CommandStatus",
    }
)

# --- Alerts (csms.alerts) and e-mail -----------------------------------------------------------
# Outgoing mail (alert digests) through Django's e-mail backend: EMAIL_URL as smtp://user:password
# @host:587 or submissions:// (TLS); the default prints mails to the log (consolemail://).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(EMAIL_CONFIG)  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ... as parsed
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="csms@localhost")
# How long a process may answer "which alert rules does this tenant have" from memory.
ALERTS_RULES_CACHE_SECONDS = env.float("ALERTS_RULES_CACHE_SECONDS", default=5.0)
# An alert digest lists at most this many alerts by name (then "and N more").
ALERTS_DIGEST_MAX_LISTED = env.int("ALERTS_DIGEST_MAX_LISTED", default=50)

# --- Webhooks (csms.webhooks) -----------------------------------------------------------------
# How long a process may answer "who listens to this tenant's events" from memory (the hot OCPP
# path asks on every emitting frame); changes made in the same process apply at once.
WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS = env.float("WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS", default=5.0)
# Every delivery attempt gives up after this long (connect, send, and each read).
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# SSRF guard: endpoint URLs that resolve to private, loopback, link-local, multicast or reserved
# addresses are refused unless this is on (development and tests only).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Retries: exponential backoff with jitter; with these defaults 10 attempts span about a day
# (15 s, 45 s, 2 min, 7 min, 20 min, 1 h, 3 h, 9 h, 10 h, each +-20 %).
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=10)
WEBHOOKS_RETRY_BASE_SECONDS = env.float("WEBHOOKS_RETRY_BASE_SECONDS", default=15.0)
WEBHOOKS_RETRY_FACTOR = env.float("WEBHOOKS_RETRY_FACTOR", default=3.0)
WEBHOOKS_RETRY_MAX_DELAY_SECONDS = env.float("WEBHOOKS_RETRY_MAX_DELAY_SECONDS", default=36000.0)
WEBHOOKS_RETRY_JITTER = env.float("WEBHOOKS_RETRY_JITTER", default=0.2)
# An endpoint is disabled (with an endpoint.disabled event) when a delivery is given up and
# either this many deliveries in a row were given up or nothing succeeded for this long.
WEBHOOKS_DISABLE_AFTER_FAILED_DELIVERIES = env.int(
    "WEBHOOKS_DISABLE_AFTER_FAILED_DELIVERIES", default=3
)
WEBHOOKS_DISABLE_AFTER_FAILING_SECONDS = env.int(
    "WEBHOOKS_DISABLE_AFTER_FAILING_SECONDS", default=86400
)
# A delivery task that has not started this long after it was queued counts as lost (a worker
# died, the broker dropped it): the outbox re-scan (beat) queues it again.
WEBHOOKS_REQUEUE_AFTER_SECONDS = env.int("WEBHOOKS_REQUEUE_AFTER_SECONDS", default=300)
# transaction.meter_values (opt-in per endpoint): at most one event per transaction this often.
WEBHOOKS_METER_VALUES_INTERVAL_SECONDS = env.int(
    "WEBHOOKS_METER_VALUES_INTERVAL_SECONDS", default=300
)
# Stored response bodies are cut to this many bytes in the delivery log.
WEBHOOKS_RESPONSE_EXCERPT_BYTES = env.int("WEBHOOKS_RESPONSE_EXCERPT_BYTES", default=1024)
# One replay request re-sends at most this many events.
WEBHOOKS_REPLAY_MAX_EVENTS = env.int("WEBHOOKS_REPLAY_MAX_EVENTS", default=10000)
# Events, their deliveries and attempts are purged after this many days (beat, nightly).
WEBHOOKS_EVENT_RETENTION_DAYS = env.int("WEBHOOKS_EVENT_RETENTION_DAYS", default=30)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "WebhookEventTypeEnum": "csms.webhooks.event_types.EventType",
        "WebhookSubscribableEventTypeEnum": "csms.webhooks.event_types.SUBSCRIBABLE_CHOICES",
        "WebhookDeliveryStatusEnum": "csms.webhooks.models.DeliveryStatus",
    }
)
