"""Project wiring. Everything an operator sets comes from the environment (docs/operations.md).

DATABASE_URL picks the database: ``postgres://user@host:port/name`` for production and for many
workers; without it, an embedded SQLite file under TRIPLEPLAY_HOME (default ./var) in WAL mode with
IMMEDIATE transactions, so that every writing transaction takes the write lock at BEGIN and
conditional UPDATEs are never raced (docs/concurrency.md).
"""

import json
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_switch(name: str) -> bool:
    """A feature that is on unless turned off (0, false, no, off)."""
    return os.environ.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file that NAME_FILE names (systemd's LoadCredential=, Docker and
    Kubernetes secrets), so that it need not sit in the environment of every process. Setting both is
    refused: which one wins would be a guess. Trailing newlines of the file are dropped."""
    path = os.environ.get(name + "_FILE", "").strip()
    if path and name in os.environ:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text().rstrip("\r\n")
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {e.strerror}") from None
    return os.environ.get(name, default)


BASE_DIR = Path(__file__).resolve().parent
TRIPLEPLAY_HOME = Path(os.environ.get("TRIPLEPLAY_HOME", "var")).resolve()
TRIPLEPLAY_HOME.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("TRIPLEPLAY_DEBUG", False)
# The fallback key is for the embedded demo and tests only; `tripleplay serve` refuses to start with
# it unless TRIPLEPLAY_DEBUG or TRIPLEPLAY_DEMO is set (see tripleplay/ops/management/commands/serve.py).
INSECURE_DEFAULT_SECRET_KEY = "tripleplay-insecure-development-key-change-me"
SECRET_KEY = env_secret("TRIPLEPLAY_SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("TRIPLEPLAY_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TRIPLEPLAY_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",  # operator login throttling (django-axes): its attempts and lockouts tables
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI from its bundled static files instead of a CDN
    "tripleplay.core",
    "tripleplay.audit",
    "tripleplay.access",
    "tripleplay.catalog",
    "tripleplay.customers",
    "tripleplay.ledger",
    "tripleplay.subscriber_access",
    "tripleplay.promotions",
    "tripleplay.iptv",
    "tripleplay.ppv",
    "tripleplay.subscriptions",
    "tripleplay.rating",
    "tripleplay.bundles",
    "tripleplay.orders",
    "tripleplay.sessions",  # label "charging_sessions": "sessions" is django.contrib.sessions'
    "tripleplay.invoicing",
    "tripleplay.collections",
    "tripleplay.payments",
    "tripleplay.vouchers",
    "tripleplay.radius",
    "tripleplay.webhooks",
    "tripleplay.notifications",
    "tripleplay.web",
    "tripleplay.selfcare",
    "tripleplay.api",  # no models: its system check guards the lean PPV path (tripleplay/api/checks.py)
    "tripleplay.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out operator login with the lockout page
]

# Operator logins (the web interface and the admin) are throttled by django-axes: after
# TRIPLEPLAY_LOGIN_FAILURE_LIMIT failures for one username, or from one client address, further
# attempts are refused for TRIPLEPLAY_LOGIN_COOLOFF_MINUTES (429), even with the right password; a
# success resets that username's count. Per username stops guessing one operator's password from many
# addresses; per address stops one address from trying many usernames. The price: an attacker can lock
# an operator out for the cool-off (an admin can clear it: `tripleplay django axes_reset_username NAME`).
# The address is the client's behind the proxy (core/clientip.py). The subscriber portal has its own
# throttle (docs/selfcare.md), API clients use tokens.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("TRIPLEPLAY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("TRIPLEPLAY_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "tripleplay.core.clientip.client_address"
AXES_LOCKOUT_TEMPLATE = "web/lockout.html"
AXES_VERBOSE = False

ROOT_URLCONF = "tripleplay.urls"
WSGI_APPLICATION = "tripleplay.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def database_settings() -> dict:
    url = env_secret("DATABASE_URL").strip()  # it may carry the database password
    if url:
        db = dj_database_url.parse(url, conn_max_age=int(os.environ.get("TRIPLEPLAY_DB_CONN_MAX_AGE", "60")))
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(TRIPLEPLAY_HOME / "tripleplay.sqlite3")}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        options = db.setdefault("OPTIONS", {})
        # IMMEDIATE: a writing transaction holds the write lock from BEGIN, so a conditional
        # UPDATE can never interleave with another writer; busy writers wait up to `timeout`.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
        options.setdefault(
            "init_command",
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        # Tests use a file (not :memory:) so that WAL and several threads behave as in production.
        db.setdefault("TEST", {}).setdefault("NAME", str(TRIPLEPLAY_HOME / "test_tripleplay.sqlite3"))
    return db


DATABASES = {"default": database_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "en"
# The subscriber portal (/my/) speaks these; the operator interface stays in English (docs/selfcare.md).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = os.environ.get("TRIPLEPLAY_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = TRIPLEPLAY_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # "invoices" (invoice PDFs) is added below, once TRIPLEPLAY_INVOICE_DIR is known.
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/login/"  # the operator web interface (tripleplay.web); the admin has its own
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the API's session clients read it to send X-CSRFToken
CSRF_FAILURE_VIEW = "tripleplay.web.errors.csrf_failure"  # a clear 403 page instead of Django's

# HTTPS behind a TLS-terminating proxy (deploy/nginx): the proxy tells the scheme in X-Forwarded-Proto
# (and must set it itself, never pass a client's on), cookies go over HTTPS only, a plain-HTTP request
# is redirected and browsers are told to use HTTPS for a year (HSTS). The monitoring endpoints stay
# reachable over plain HTTP on the host itself (load balancers and Prometheus probe them there).
# `tripleplay check --deploy` is clean with it on and a real secret key (docs/operations.md).
TRIPLEPLAY_HTTPS = env_bool("TRIPLEPLAY_HTTPS")
# Reverse proxies in front that append to X-Forwarded-For (core/clientip.py): the deploy kit's nginx.
TRIPLEPLAY_PROXY_COUNT = int(os.environ.get("TRIPLEPLAY_PROXY_COUNT", "1" if TRIPLEPLAY_HTTPS else "0"))
if TRIPLEPLAY_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("TRIPLEPLAY_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TRIPLEPLAY_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("TRIPLEPLAY_HSTS_PRELOAD", False)
    # Preloading is the operator's submission to the browsers' lists, not a setting to default on.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Money (docs/money.md). Rounding mode for every minor-unit rounding: any decimal.ROUND_* name.
TRIPLEPLAY_ROUNDING = os.environ.get("TRIPLEPLAY_ROUNDING", "ROUND_HALF_UP")
TRIPLEPLAY_DEFAULT_CURRENCY = os.environ.get("TRIPLEPLAY_DEFAULT_CURRENCY", "USD")

# API
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
TRIPLEPLAY_API_MAX_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = TRIPLEPLAY_API_MAX_BODY_BYTES

# TRIPLEPLAY_LOG_JSON=1: one JSON object per log line, with the request's id (tripleplay/core/logs.py).
TRIPLEPLAY_LOG_JSON = env_bool("TRIPLEPLAY_LOG_JSON", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "tripleplay.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if TRIPLEPLAY_LOG_JSON else "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TRIPLEPLAY_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# Periodic jobs run by `tripleplay worker` (seconds; 0 turns a job off). docs/operations.md
TRIPLEPLAY_JOB_INTERVALS = {
    "expire-holds": int(os.environ.get("TRIPLEPLAY_JOB_EXPIRE_HOLDS_SECONDS", "60")),
    "import-packages": int(os.environ.get("TRIPLEPLAY_JOB_IMPORT_PACKAGES_SECONDS", str(6 * 3600))),
    "reconcile": int(os.environ.get("TRIPLEPLAY_JOB_RECONCILE_SECONDS", str(24 * 3600))),
    "dated-changes": int(os.environ.get("TRIPLEPLAY_JOB_DATED_CHANGES_SECONDS", "3600")),
    "charge": int(os.environ.get("TRIPLEPLAY_JOB_CHARGE_SECONDS", "3600")),  # recurring subscription charges
    "sweep-sessions": int(os.environ.get("TRIPLEPLAY_JOB_SWEEP_SESSIONS_SECONDS", "60")),
    "radius-reconcile": int(os.environ.get("TRIPLEPLAY_JOB_RADIUS_RECONCILE_SECONDS", "300")),
}
TRIPLEPLAY_JOB_RECONCILE_REPAIR = env_bool("TRIPLEPLAY_JOB_RECONCILE_REPAIR", False)

# Monitoring (docs/operations.md, D71). A worker writes its heartbeat at most every
# TRIPLEPLAY_WORKER_HEARTBEAT_SECONDS; /readyz fails when the newest is older than ..._STALE_SECONDS
# (0: no heartbeat check), or when a job's last success is older than TRIPLEPLAY_READY_JOB_STALE_INTERVALS
# of its intervals (0: jobs are reported, never fail readiness). /metrics asks for
# "Authorization: Bearer TRIPLEPLAY_METRICS_TOKEN" when that is set, and is open otherwise.
TRIPLEPLAY_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("TRIPLEPLAY_WORKER_HEARTBEAT_SECONDS", "5"))
TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS = int(os.environ.get("TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS", "60"))
TRIPLEPLAY_READY_JOB_STALE_INTERVALS = int(os.environ.get("TRIPLEPLAY_READY_JOB_STALE_INTERVALS", "3"))
# FreeRADIUS's rlm_rest authenticates to /aaa/v1/radius/ with HTTP Basic freeradius:<this> (docs/radius.md).
TRIPLEPLAY_RADIUS_TOKEN = env_secret("TRIPLEPLAY_RADIUS_TOKEN")
# rlm_rest's calls answered by aaa's views before Django's middleware (tripleplay/api/aaa_wsgi.py).
TRIPLEPLAY_AAA_FAST_PATH = env_switch("TRIPLEPLAY_AAA_FAST_PATH")
# A PAP Access-Request's password checked by authorize itself, and the login recorded there: one rlm_rest
# call per Access-Request instead of two (D240); 0 leaves the check to FreeRADIUS's pap and post-auth.
TRIPLEPLAY_RADIUS_PAP_CHECK = env_switch("TRIPLEPLAY_RADIUS_PAP_CHECK")
# On PostgreSQL, the FreeRADIUS configuration tripleplay renders (radius.server) has the rlm_sql module
# tripleplay_sql, whose queries call tripleplay's database functions without Python: a plain PAP
# Access-Request (D270-D273) and an Interim-Update inside its session's fast window (D280-D282); a request
# they do not take falls through to rlm_rest. 0 renders the rest-only configuration (as on SQLite).
TRIPLEPLAY_RADIUS_SQL = env_switch("TRIPLEPLAY_RADIUS_SQL")
# The SQL path's own login (D300, D301): postgres://role:password@host:port/name, a role that may only call
# the SQL path's functions (`tripleplay radius-sql-role`), for the rendered mods/tripleplay_sql and the logins
# reader. Unset: they log in as DATABASE_URL's user, the owner of the whole database (`check --deploy` warns).
TRIPLEPLAY_RADIUS_SQL_URL = env_secret("TRIPLEPLAY_RADIUS_SQL_URL").strip()
TRIPLEPLAY_METRICS_TOKEN = env_secret("TRIPLEPLAY_METRICS_TOKEN")

# Pay-per-view: how long an approved authorization holds the funds before it expires.
# Real-time charging sessions (docs/sessions.md): the quota reserved per start or update unless the
# client asks for another (``requested``, at most the MAX), and how long a silent session lives.
TRIPLEPLAY_SESSION_QUOTA_SECONDS = int(os.environ.get("TRIPLEPLAY_SESSION_QUOTA_SECONDS", "300"))
TRIPLEPLAY_SESSION_QUOTA_BYTES = int(os.environ.get("TRIPLEPLAY_SESSION_QUOTA_BYTES", str(50_000_000)))
TRIPLEPLAY_SESSION_MAX_SECONDS = int(os.environ.get("TRIPLEPLAY_SESSION_MAX_SECONDS", str(4 * 3600)))
TRIPLEPLAY_SESSION_MAX_BYTES = int(os.environ.get("TRIPLEPLAY_SESSION_MAX_BYTES", str(10_000_000_000)))
TRIPLEPLAY_SESSION_IDLE_SECONDS = int(os.environ.get("TRIPLEPLAY_SESSION_IDLE_SECONDS", "900"))
# On PostgreSQL, a report that adds usage is charged by one database function when it can be
# (sessions/sql, D212); 0 keeps every report in Python (tripleplay/sessions/services.py).
TRIPLEPLAY_SESSION_DB_FUNCTIONS = env_switch("TRIPLEPLAY_SESSION_DB_FUNCTIONS")
# A RADIUS session's fast window (D280): reports inside the usage its hold covers, for at most this many
# seconds, are charged by one database function (radius_sql_interim) without a ledger write; 0: none.
# The window closes this lead before each local midnight (a bill-cycle boundary falls on one), and the
# sessions job (every TRIPLEPLAY_JOB_SWEEP_SESSIONS_SECONDS) posts what it charged before the boundary.
TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS = int(os.environ.get("TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS", "900"))
TRIPLEPLAY_SESSION_FAST_SETTLE_LEAD_SECONDS = int(os.environ.get("TRIPLEPLAY_SESSION_FAST_SETTLE_LEAD_SECONDS", "300"))
TRIPLEPLAY_PPV_HOLD_SECONDS = int(os.environ.get("TRIPLEPLAY_PPV_HOLD_SECONDS", "900"))
# Platform PPV calls answered before Django's middleware (tripleplay/api/ppv_wsgi.py, read by
# tripleplay/wsgi.py; its system check is tripleplay/api/checks.py), and, on PostgreSQL, the approving
# authorize and the charging confirm as one database function each (tripleplay/ppv/services.py).
TRIPLEPLAY_PPV_FAST_PATH = env_switch("TRIPLEPLAY_PPV_FAST_PATH")
TRIPLEPLAY_PPV_DB_FUNCTIONS = env_switch("TRIPLEPLAY_PPV_DB_FUNCTIONS")

# Invoicing and collections (docs/invoicing.md).
# Vouchers (docs/vouchers.md): the key of the codes' HMAC (default: the secret key; changing it makes every
# unredeemed code unknown), and the throttle against guessing: this many refused attempts per customer
# and per client within the window, then 429 until the oldest leaves it.
TRIPLEPLAY_VOUCHER_KEY = os.environ.get("TRIPLEPLAY_VOUCHER_KEY", "") or SECRET_KEY
TRIPLEPLAY_VOUCHER_MAX_FAILURES = int(os.environ.get("TRIPLEPLAY_VOUCHER_MAX_FAILURES", "5"))
TRIPLEPLAY_VOUCHER_FAILURE_WINDOW_SECONDS = int(os.environ.get("TRIPLEPLAY_VOUCHER_FAILURE_WINDOW_SECONDS", "900"))

TRIPLEPLAY_INVOICE_GRACE_DAYS = int(os.environ.get("TRIPLEPLAY_INVOICE_GRACE_DAYS", "14"))  # due = issue + grace
# The worker's invoice-run job: batch loops in its process, one connection each (PostgreSQL; SQLite runs
# one; D263). Two overlap the batch's Python with PostgreSQL's inserts and commit of another batch.
TRIPLEPLAY_INVOICE_RUN_THREADS = int(os.environ.get("TRIPLEPLAY_INVOICE_RUN_THREADS", "2"))
TRIPLEPLAY_COLLECTIONS_POLICY = os.environ.get("TRIPLEPLAY_COLLECTIONS_POLICY",
                                               "0:reminder,7:late_fee:500,14:suspend,30:block")
TRIPLEPLAY_INVOICE_DIR = Path(os.environ.get("TRIPLEPLAY_INVOICE_DIR", str(TRIPLEPLAY_HOME / "invoices"))).resolve()
# Invoice PDFs go through Django's storage API (invoicing/documents.py): the file system under
# TRIPLEPLAY_INVOICE_DIR by default; any storage backend with its options as JSON otherwise, e.g. an
# S3-compatible store with django-storages (docs/operations.md), so that every web host serves the same files.
STORAGES["invoices"] = {
    "BACKEND": os.environ.get("TRIPLEPLAY_INVOICE_STORAGE", "django.core.files.storage.FileSystemStorage"),
    "OPTIONS": (json.loads(os.environ["TRIPLEPLAY_INVOICE_STORAGE_OPTIONS"])
                if os.environ.get("TRIPLEPLAY_INVOICE_STORAGE_OPTIONS") else
                {"location": str(TRIPLEPLAY_INVOICE_DIR), "file_permissions_mode": 0o640,
                 "directory_permissions_mode": 0o750}),
}
TRIPLEPLAY_INVOICE_ISSUER = os.environ.get("TRIPLEPLAY_INVOICE_ISSUER", "Tripleplay Networks")
TRIPLEPLAY_JOB_INTERVALS["invoice-run"] = int(os.environ.get("TRIPLEPLAY_JOB_INVOICE_RUN_SECONDS", "3600"))
TRIPLEPLAY_JOB_INTERVALS["invoice-documents"] = int(os.environ.get("TRIPLEPLAY_JOB_INVOICE_DOCUMENTS_SECONDS", "300"))
TRIPLEPLAY_JOB_INTERVALS["collections"] = int(os.environ.get("TRIPLEPLAY_JOB_COLLECTIONS_SECONDS", "3600"))
# promos: free trials' reminders and ends (docs/charging.md#promotions-free-trials-and-coupon-codes).
TRIPLEPLAY_JOB_INTERVALS["trials"] = int(os.environ.get("TRIPLEPLAY_JOB_TRIALS_SECONDS", "3600"))
# Webhooks (docs/webhooks.md): every `tripleplay worker` also delivers webhooks between its provisioning
# batches, with ..._THREADS parallel requests (0: not in this worker; `tripleplay webhook-worker` then
# delivers), and derives the ppv.purchased events of confirmed purchases at most every ..._PPV_SECONDS.
TRIPLEPLAY_WEBHOOK_THREADS = int(os.environ.get("TRIPLEPLAY_WEBHOOK_THREADS", "4"))
TRIPLEPLAY_WEBHOOK_PPV_SECONDS = float(os.environ.get("TRIPLEPLAY_WEBHOOK_PPV_SECONDS", "5"))
# Delivered events (every delivery succeeded) older than this many days are deleted by the
# webhooks-prune job (daily); failed and pending ones are kept. 0 keeps everything (D120).
TRIPLEPLAY_WEBHOOK_RETENTION_DAYS = int(os.environ.get("TRIPLEPLAY_WEBHOOK_RETENTION_DAYS", "30"))
TRIPLEPLAY_JOB_INTERVALS["webhooks-prune"] = int(os.environ.get("TRIPLEPLAY_JOB_WEBHOOKS_PRUNE_SECONDS", "86400"))
# An Idempotency-Key of an API create (D117) is remembered this many hours, then may be used again.
TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS = int(os.environ.get("TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS", "24"))
TRIPLEPLAY_JOB_INTERVALS["idempotency-keys-prune"] = int(
    os.environ.get("TRIPLEPLAY_JOB_IDEMPOTENCY_KEYS_PRUNE_SECONDS", "3600"))
# E-mail (invoices, collections notices): Django's framework. The default writes each message to a file
# under TRIPLEPLAY_HOME/mail, so nothing is sent by accident; production sets an SMTP backend and host.
EMAIL_BACKEND = os.environ.get("TRIPLEPLAY_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("TRIPLEPLAY_EMAIL_FILE_PATH", str(TRIPLEPLAY_HOME / "mail"))
EMAIL_HOST = os.environ.get("TRIPLEPLAY_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TRIPLEPLAY_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TRIPLEPLAY_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("TRIPLEPLAY_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("TRIPLEPLAY_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("TRIPLEPLAY_EMAIL_FROM", "billing@tripleplay.invalid")

# Online payments (tripleplay/payments, docs/payments.md). The provider's API address defaults to the
# real Stripe; tests and the demo point it at the local simulator (tripleplay/simulators/stripe_api.py).
TRIPLEPLAY_PAYMENT_PROVIDER = os.environ.get("TRIPLEPLAY_PAYMENT_PROVIDER", "stripe")
TRIPLEPLAY_STRIPE_SECRET_KEY = os.environ.get("TRIPLEPLAY_STRIPE_SECRET_KEY", "")
TRIPLEPLAY_STRIPE_WEBHOOK_SECRET = os.environ.get("TRIPLEPLAY_STRIPE_WEBHOOK_SECRET", "")
TRIPLEPLAY_STRIPE_API_BASE = os.environ.get("TRIPLEPLAY_STRIPE_API_BASE", "https://api.stripe.com")
TRIPLEPLAY_STRIPE_TIMEOUT_SECONDS = float(os.environ.get("TRIPLEPLAY_STRIPE_TIMEOUT_SECONDS", "10"))
TRIPLEPLAY_STRIPE_MAX_RETRIES = int(os.environ.get("TRIPLEPLAY_STRIPE_MAX_RETRIES", "2"))
TRIPLEPLAY_STRIPE_WEBHOOK_TOLERANCE_SECONDS = int(os.environ.get("TRIPLEPLAY_STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300"))
# Notifications by e-mail and SMS (tripleplay/notifications, docs/notifications.md). E-mail goes through
# the EMAIL_* settings above; SMS through Twilio's Messages API, whose address tests and the demo point
# at the simulator (tripleplay/simulators/sms_twilio.py). No account SID: SMS notifications fail visibly.
TRIPLEPLAY_TWILIO_API_BASE = os.environ.get("TRIPLEPLAY_TWILIO_API_BASE", "https://api.twilio.com")
TRIPLEPLAY_TWILIO_ACCOUNT_SID = os.environ.get("TRIPLEPLAY_TWILIO_ACCOUNT_SID", "")
TRIPLEPLAY_TWILIO_AUTH_TOKEN = env_secret("TRIPLEPLAY_TWILIO_AUTH_TOKEN")
TRIPLEPLAY_TWILIO_FROM = os.environ.get("TRIPLEPLAY_TWILIO_FROM", "")
TRIPLEPLAY_TWILIO_STATUS_CALLBACK = os.environ.get("TRIPLEPLAY_TWILIO_STATUS_CALLBACK", "")
TRIPLEPLAY_SMS_TIMEOUT_SECONDS = float(os.environ.get("TRIPLEPLAY_SMS_TIMEOUT_SECONDS", "10"))
TRIPLEPLAY_NOTIFY_PACKAGE_ENDING_DAYS = int(os.environ.get("TRIPLEPLAY_NOTIFY_PACKAGE_ENDING_DAYS", "3"))
TRIPLEPLAY_JOB_INTERVALS["low-balance"] = int(os.environ.get("TRIPLEPLAY_JOB_LOW_BALANCE_SECONDS", "60"))
TRIPLEPLAY_JOB_INTERVALS["package-ending"] = int(os.environ.get("TRIPLEPLAY_JOB_PACKAGE_ENDING_SECONDS", "3600"))
# Where the provider sends a customer back after a hosted checkout (this site's public address).
TRIPLEPLAY_PUBLIC_URL = os.environ.get("TRIPLEPLAY_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The largest top-up a subscriber may start in the portal, in the customer's currency's major units
# (docs/selfcare.md): a typing slip of 100000 instead of 100.00 never reaches the provider.
TRIPLEPLAY_PORTAL_TOP_UP_MAX = os.environ.get("TRIPLEPLAY_PORTAL_TOP_UP_MAX", "1000")
try:
    if not Decimal(TRIPLEPLAY_PORTAL_TOP_UP_MAX).is_finite() or Decimal(TRIPLEPLAY_PORTAL_TOP_UP_MAX) <= 0:
        raise InvalidOperation
except InvalidOperation:
    raise ImproperlyConfigured(
        f"TRIPLEPLAY_PORTAL_TOP_UP_MAX must be a positive decimal number, not {TRIPLEPLAY_PORTAL_TOP_UP_MAX!r}") from None
# Auto-pay: days after the due date on which an issued invoice is charged (first attempt, retries).
TRIPLEPLAY_AUTOPAY_RETRY_DAYS = [int(d) for d in os.environ.get("TRIPLEPLAY_AUTOPAY_RETRY_DAYS", "0,1,3").split(",")]
TRIPLEPLAY_JOB_INTERVALS["autopay"] = int(os.environ.get("TRIPLEPLAY_JOB_AUTOPAY_SECONDS", "3600"))
# The subscriber portal /my/ (docs/selfcare.md). TRIPLEPLAY_PORTAL_URL is the public address the
# invitation and reset e-mails link to.
TRIPLEPLAY_PORTAL_URL = os.environ.get("TRIPLEPLAY_PORTAL_URL", "http://127.0.0.1:8000")
TRIPLEPLAY_PORTAL_INVITE_HOURS = int(os.environ.get("TRIPLEPLAY_PORTAL_INVITE_HOURS", "72"))
TRIPLEPLAY_PORTAL_RESET_MINUTES = int(os.environ.get("TRIPLEPLAY_PORTAL_RESET_MINUTES", "60"))
TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS = int(os.environ.get("TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS", "1800"))
TRIPLEPLAY_PORTAL_SESSION_MAX_SECONDS = int(os.environ.get("TRIPLEPLAY_PORTAL_SESSION_MAX_SECONDS", str(12 * 3600)))
TRIPLEPLAY_PORTAL_THROTTLE_SECONDS = int(os.environ.get("TRIPLEPLAY_PORTAL_THROTTLE_SECONDS", "900"))
TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY = int(os.environ.get("TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY", "5"))
TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_ADDRESS", "30"))
TRIPLEPLAY_JOB_INTERVALS["portal-cleanup"] = int(os.environ.get("TRIPLEPLAY_JOB_PORTAL_CLEANUP_SECONDS", "3600"))
# Vacation holds (docs/charging.md#vacation-holds, D151): the longest hold in days, the notice a
# subscriber gives in the portal (an operator may start one today), and the daily job that starts and
# ends holds on their dates.
TRIPLEPLAY_HOLD_MAX_DAYS = int(os.environ.get("TRIPLEPLAY_HOLD_MAX_DAYS", "90"))
TRIPLEPLAY_HOLD_MIN_NOTICE_DAYS = int(os.environ.get("TRIPLEPLAY_HOLD_MIN_NOTICE_DAYS", "1"))
TRIPLEPLAY_JOB_INTERVALS["vacation-holds"] = int(os.environ.get("TRIPLEPLAY_JOB_VACATION_HOLDS_SECONDS", "3600"))
