"""Berth settings, read from the environment (see README.md, "Configuration")."""

import json
from pathlib import Path

import environ
from botocore.config import Config as BotoConfig
from django.core.exceptions import ImproperlyConfigured

# It imports nothing that needs the apps loaded, so BERTH_CI_ISSUERS is checked here, at startup.
from accounts.oidc import parse_issuers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
BERTH_DATA_DIR = Path(env.str("BERTH_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
# `make run` writes a key to this file once, so README's manage.py commands, run without the
# environment make gives its own commands, sign with the same key as the server.
SECRET_KEY_FILE = BERTH_DATA_DIR / "secret_key"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    try:
        SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY is not set and {SECRET_KEY_FILE} can't be read: {exc}")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and there is no key in {SECRET_KEY_FILE}. Set SECRET_KEY to a long "
            "random string, run `make run` once (it writes that file), or set DEBUG=true for a "
            "development server."
        )
    SECRET_KEY = "berth-insecure-development-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

BERTH_STORAGE = env.str("BERTH_STORAGE", default="filesystem")
BERTH_MAX_LAYER_SIZE = env.int("BERTH_MAX_LAYER_SIZE", default=10 * 1000**3)
BERTH_MAX_MANIFEST_SIZE = 4 * 1024 * 1024
BERTH_UPLOAD_TIMEOUT = env.int("BERTH_UPLOAD_TIMEOUT", default=600)
# Seconds a client is told to wait (Retry-After) when the database or blob storage is unavailable.
BERTH_RETRY_AFTER = env.int("BERTH_RETRY_AFTER", default=10)

if BERTH_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(
        f"BERTH_STORAGE={BERTH_STORAGE!r} is not supported; use 'filesystem' or 's3'."
    )

# S3-compatible storage (BERTH_STORAGE=s3), read by django-storages' S3Storage, which configures
# the one boto3 client (registry/storage/s3_bucket.py). Unset values are None so boto3 falls back
# to its own defaults (credential chain, region).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="") or None
AWS_LOCATION = env.str("AWS_LOCATION", default="")
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
# django-storages ignores AWS_S3_ADDRESSING_STYLE and AWS_S3_SIGNATURE_VERSION once this is set,
# so it carries them. botocore's "auto" style is path-style for an endpoint URL (MinIO and most
# S3-compatible servers want that). Adaptive retries back off when S3 throttles (503 SlowDown);
# short timeouts and few attempts let an S3 outage fail a request within seconds, not minutes.
AWS_S3_CLIENT_CONFIG = BotoConfig(
    signature_version="s3v4",
    s3={"addressing_style": AWS_S3_ADDRESSING_STYLE or "auto"},
    retries={"mode": "adaptive", "total_max_attempts": env.int("BERTH_S3_MAX_ATTEMPTS", default=3)},
    connect_timeout=env.float("BERTH_S3_CONNECT_TIMEOUT", default=3.0),
    read_timeout=env.float("BERTH_S3_READ_TIMEOUT", default=20.0),
)
# Answer blob GETs with a redirect to a presigned URL (clients must reach AWS_S3_ENDPOINT_URL).
BERTH_BLOB_REDIRECT = env.bool("BERTH_BLOB_REDIRECT", default=BERTH_STORAGE == "s3")
if BERTH_STORAGE == "s3" and not AWS_STORAGE_BUCKET_NAME:
    raise ImproperlyConfigured(
        "BERTH_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (and usually AWS_S3_ENDPOINT_URL, "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); see README.md, \"S3-compatible storage\"."
    )

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registry",
    "accounts",
    "packages_ui",
    "api",
    "retention",
    "events",
    "audit",
    "sources",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts and from where, for the audit log (audit/context.py).
    "audit.context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, so its process_exception sees a view's database or storage outage first (config/outages.py).
    "config.outages.OutageMiddleware",
]

ROOT_URLCONF = "config.urls"

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

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BERTH_DATA_DIR / 'berth.sqlite3'}"
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A persistent connection a PostgreSQL restart broke is replaced before a request uses it, not failed on.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that is unreachable rather than refusing would hold every request for minutes (the
    # kernel's TCP timeout) instead of answering 503. DATABASE_URL's ?connect_timeout= overrides it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Server-side prepared statements for manifest pulls (registry/prepared.py) live on a database
# session; behind PgBouncer in transaction pooling mode sessions are shared, so turn them off.
BERTH_PREPARED_STATEMENTS = env.bool("BERTH_PREPARED_STATEMENTS", default=True)
# Manifest pulls with a registry token answered in front of Django (registry/api/pull.py, config/wsgi.py).
BERTH_FAST_PULL = env.bool("BERTH_FAST_PULL", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BERTH_DATA_DIR / "static"))

# Manifests are read whole (they are small and bounded); blob routes never touch
# request.body, so this limit only guards form and manifest bodies.
DATA_UPLOAD_MAX_MEMORY_SIZE = BERTH_MAX_MANIFEST_SIZE + 1024

# The distribution API configures DRF on its own base view (registry/api/base.py: authentication,
# errors); DRF's global defaults stay as DRF ships them for any other API.
# The REST API at /api/v3/ (api/base.py) does the same; its OpenAPI description and docs page,
# with Swagger UI from drf-spectacular-sidecar, so no CDN is needed:
SPECTACULAR_SETTINGS = {
    "TITLE": "Berth REST API",
    "DESCRIPTION": "GitHub's packages REST API for container packages, with download counts and sizes.",
    "VERSION": "2022-11-28",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v3",
    "PREPROCESSING_HOOKS": ["api.schema.only_rest_api"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A client that went away mid-upload is logged once, by the upload view, as a warning.
    "filters": {"skip_client_gone": {"()": "registry.api.streams.SkipClientGone"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["skip_client_gone"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Accounts: sign-up, registry tokens from /token, and throttling of failed sign-ins.
BERTH_ALLOW_SIGNUP = env.bool("BERTH_ALLOW_SIGNUP", default=True)
# Registry tokens live at least BERTH_UPLOAD_TIMEOUT plus a margin, so long pushes finish.
BERTH_REGISTRY_TOKEN_LIFETIME = env.int("BERTH_REGISTRY_TOKEN_LIFETIME", default=3600)
# Refresh tokens (the OAuth2 POST form of /token, access_type=offline) live this long, never past
# their personal access token's expiry; each exchange re-checks that personal access token.
BERTH_REFRESH_TOKEN_LIFETIME = env.int("BERTH_REFRESH_TOKEN_LIFETIME", default=30 * 24 * 3600)
# Wrong passwords on the sign-in page count per (username, address) and per address; invalid tokens
# at /token and /v2/ count per address. A valid token is never refused.
BERTH_LOGIN_FAILURE_WINDOW = env.int("BERTH_LOGIN_FAILURE_WINDOW", default=900)
BERTH_LOGIN_FAILURES_PER_USER = env.int("BERTH_LOGIN_FAILURES_PER_USER", default=10)
BERTH_LOGIN_FAILURES_PER_ADDRESS = env.int("BERTH_LOGIN_FAILURES_PER_ADDRESS", default=100)
BERTH_TOKEN_FAILURES_PER_ADDRESS = env.int("BERTH_TOKEN_FAILURES_PER_ADDRESS", default=100)
# Behind a TLS-terminating reverse proxy: the /token realm docker follows must say https://, and
# failed sign-ins are counted per client address from X-Forwarded-For, not per proxy address.
BERTH_TRUST_PROXY_HEADERS = env.bool("BERTH_TRUST_PROXY_HEADERS", default=False)
if BERTH_TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# Served over HTTPS only (directly or behind that proxy): secure cookies, HSTS, and plain HTTP
# redirected to HTTPS, /v2/ included: a client on plain HTTP is sent to HTTPS, never served.
BERTH_HTTPS = env.bool("BERTH_HTTPS", default=False)
if BERTH_HTTPS:
    SECURE_SSL_REDIRECT = True
    # The container's HEALTHCHECK and a load balancer's probes speak plain HTTP to the port.
    SECURE_REDIRECT_EXEMPT = [r"^-/health$", r"^-/ready$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("BERTH_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading puts the domain in the browsers' built-in lists, hard to leave for months and
    # binding on every subdomain: a decision for whoever owns the domain, so off unless asked for.
    SECURE_HSTS_PRELOAD = env.bool("BERTH_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:tokens"
LOGOUT_REDIRECT_URL = "accounts:login"

# Webhooks and background work (events/): deliveries retry with a backoff doubling from
# BERTH_WEBHOOK_RETRY_BASE seconds (at most an hour apart) for BERTH_WEBHOOK_RETRY_HOURS.
BERTH_WEBHOOK_ALLOW_PRIVATE = env.bool("BERTH_WEBHOOK_ALLOW_PRIVATE", default=False)
BERTH_WEBHOOK_TIMEOUT = env.float("BERTH_WEBHOOK_TIMEOUT", default=10.0)
BERTH_WEBHOOK_RETRY_BASE = env.float("BERTH_WEBHOOK_RETRY_BASE", default=10.0)
BERTH_WEBHOOK_RETRY_HOURS = env.float("BERTH_WEBHOOK_RETRY_HOURS", default=25.0)
BERTH_WORKER_POLL_INTERVAL = env.float("BERTH_WORKER_POLL_INTERVAL", default=1.0)
BERTH_DOWNLOAD_FOLD_INTERVAL = env.int("BERTH_DOWNLOAD_FOLD_INTERVAL", default=60)
# Webhook events, deliveries and attempts are forgotten after this many days (pending ones never).
BERTH_WEBHOOK_RETENTION_DAYS = env.int("BERTH_WEBHOOK_RETENTION_DAYS", default=30)
# The worker applies the retention policies every this many seconds; 0 leaves it to `manage.py retention`.
BERTH_RETENTION_INTERVAL = env.int("BERTH_RETENTION_INTERVAL", default=86400)
# /metrics (config/metrics.py): a bearer token it asks for when set; the files every process writes to.
BERTH_METRICS_TOKEN = env.str("BERTH_METRICS_TOKEN", default="")
BERTH_METRICS_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(BERTH_DATA_DIR / "metrics"))
BERTH_AUDIT_RETENTION_DAYS = env.int("BERTH_AUDIT_RETENTION_DAYS", default=365)

# CI jobs sign in with their OIDC ID tokens (accounts/oidc.py): the issuers Berth trusts, as a JSON list of
# {"issuer", "audience", "repository_url": "https://github.com/{repository}", ...} (README.md, "CI jobs sign in").
try:
    _ci_issuers = json.loads(env.str("BERTH_CI_ISSUERS", default="[]") or "[]")
except ValueError as exc:
    raise ImproperlyConfigured(f"BERTH_CI_ISSUERS is not valid JSON: {exc}")
parse_issuers(_ci_issuers)
BERTH_CI_ISSUERS = _ci_issuers
# Clock skew allowed on exp, nbf and iat; how long fetched keys are used; the least time between two
# fetches on a key id the cached keys lack (an unknown key id can be sent by anyone).
BERTH_CI_LEEWAY_SECONDS = env.int("BERTH_CI_LEEWAY_SECONDS", default=60)
BERTH_CI_JWKS_TTL = env.int("BERTH_CI_JWKS_TTL", default=3600)
BERTH_CI_JWKS_REFETCH_SECONDS = env.int("BERTH_CI_JWKS_REFETCH_SECONDS", default=60)
