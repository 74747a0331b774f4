"""Project wiring. Everything an operator sets comes from the environment (docs/operations.md).

DATABASE_URL picks the database: ``postgres://user@host:port/name`` for production and for many
workers; without it, an embedded SQLite file under TRIPLEPLAY_HOME (default ./var) in WAL mode with
IMMEDIATE transactions, so that every writing transaction takes the write lock at BEGIN and
conditional UPDATEs are never raced (docs/concurrency.md).
"""

import os
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_switch(name: str) -> bool:
    """A feature that is on unless turned off (0, false, no, off)."""
    return os.environ.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


BASE_DIR = Path(__file__).resolve().parent
TRIPLEPLAY_HOME = Path(os.environ.get("TRIPLEPLAY_HOME", "var")).resolve()
TRIPLEPLAY_HOME.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("TRIPLEPLAY_DEBUG", False)
# The fallback key is for the embedded demo and tests only; `tripleplay serve` refuses to start with
# it unless TRIPLEPLAY_DEBUG or TRIPLEPLAY_DEMO is set (see tripleplay/ops/management/commands/serve.py).
INSECURE_DEFAULT_SECRET_KEY = "tripleplay-insecure-development-key-change-me"
SECRET_KEY = os.environ.get("TRIPLEPLAY_SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("TRIPLEPLAY_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TRIPLEPLAY_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
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
    "tripleplay.iptv",
    "tripleplay.ppv",
    "tripleplay.subscriptions",
    "tripleplay.rating",
    "tripleplay.invoicing",
    "tripleplay.collections",
    "tripleplay.webhooks",
    "tripleplay.web",
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
]

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
    url = os.environ.get("DATABASE_URL", "").strip()
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TRIPLEPLAY_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = TRIPLEPLAY_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/login/"  # the operator web interface (tripleplay.web); the admin has its own
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the API's session clients read it to send X-CSRFToken
CSRF_FAILURE_VIEW = "tripleplay.web.errors.csrf_failure"  # a clear 403 page instead of Django's

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
TRIPLEPLAY_METRICS_TOKEN = os.environ.get("TRIPLEPLAY_METRICS_TOKEN", "")

# Pay-per-view: how long an approved authorization holds the funds before it expires.
TRIPLEPLAY_PPV_HOLD_SECONDS = int(os.environ.get("TRIPLEPLAY_PPV_HOLD_SECONDS", "900"))
# Platform PPV calls answered before Django's middleware (tripleplay/api/ppv_wsgi.py, read by
# tripleplay/wsgi.py; its system check is tripleplay/api/checks.py), and, on PostgreSQL, the approving
# authorize and the charging confirm as one database function each (tripleplay/ppv/services.py).
TRIPLEPLAY_PPV_FAST_PATH = env_switch("TRIPLEPLAY_PPV_FAST_PATH")
TRIPLEPLAY_PPV_DB_FUNCTIONS = env_switch("TRIPLEPLAY_PPV_DB_FUNCTIONS")

# Invoicing and collections (docs/invoicing.md).
TRIPLEPLAY_INVOICE_GRACE_DAYS = int(os.environ.get("TRIPLEPLAY_INVOICE_GRACE_DAYS", "14"))  # due = issue + grace
TRIPLEPLAY_COLLECTIONS_POLICY = os.environ.get("TRIPLEPLAY_COLLECTIONS_POLICY",
                                               "0:reminder,7:late_fee:500,14:suspend,30:block")
TRIPLEPLAY_INVOICE_DIR = Path(os.environ.get("TRIPLEPLAY_INVOICE_DIR", str(TRIPLEPLAY_HOME / "invoices"))).resolve()
TRIPLEPLAY_INVOICE_ISSUER = os.environ.get("TRIPLEPLAY_INVOICE_ISSUER", "Tripleplay Networks")
TRIPLEPLAY_JOB_INTERVALS["invoice-run"] = int(os.environ.get("TRIPLEPLAY_JOB_INVOICE_RUN_SECONDS", "3600"))
TRIPLEPLAY_JOB_INTERVALS["invoice-documents"] = int(os.environ.get("TRIPLEPLAY_JOB_INVOICE_DOCUMENTS_SECONDS", "300"))
TRIPLEPLAY_JOB_INTERVALS["collections"] = int(os.environ.get("TRIPLEPLAY_JOB_COLLECTIONS_SECONDS", "3600"))
# Webhooks (docs/webhooks.md): every `tripleplay worker` also delivers webhooks between its provisioning
# batches, with ..._THREADS parallel requests (0: not in this worker; `tripleplay webhook-worker` then
# delivers), and derives the ppv.purchased events of confirmed purchases at most every ..._PPV_SECONDS.
TRIPLEPLAY_WEBHOOK_THREADS = int(os.environ.get("TRIPLEPLAY_WEBHOOK_THREADS", "4"))
TRIPLEPLAY_WEBHOOK_PPV_SECONDS = float(os.environ.get("TRIPLEPLAY_WEBHOOK_PPV_SECONDS", "5"))
# E-mail (invoices, collections notices): Django's framework. The default writes each message to a file
# under TRIPLEPLAY_HOME/mail, so nothing is sent by accident; production sets an SMTP backend and host.
EMAIL_BACKEND = os.environ.get("TRIPLEPLAY_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("TRIPLEPLAY_EMAIL_FILE_PATH", str(TRIPLEPLAY_HOME / "mail"))
EMAIL_HOST = os.environ.get("TRIPLEPLAY_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TRIPLEPLAY_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TRIPLEPLAY_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TRIPLEPLAY_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("TRIPLEPLAY_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("TRIPLEPLAY_EMAIL_FROM", "billing@tripleplay.invalid")
