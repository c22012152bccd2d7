"""Berth settings, read from the environment (see README.md, "Configuration")."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string, "
            "or DEBUG=true for a development server."
        )
    SECRET_KEY = "berth-insecure-development-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

BERTH_DATA_DIR = Path(env.str("BERTH_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
BERTH_STORAGE = env.str("BERTH_STORAGE", default="filesystem")
BERTH_MAX_LAYER_SIZE = env.int("BERTH_MAX_LAYER_SIZE", default=10 * 1000**3)
BERTH_MAX_MANIFEST_SIZE = 4 * 1024 * 1024
BERTH_UPLOAD_TIMEOUT = env.int("BERTH_UPLOAD_TIMEOUT", default=600)

if BERTH_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(
        f"BERTH_STORAGE={BERTH_STORAGE!r} is not supported; use 'filesystem' or 's3'."
    )

# S3-compatible storage (BERTH_STORAGE=s3), with django-storages' setting names.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="")
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="")
AWS_LOCATION = env.str("AWS_LOCATION", default="")
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
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
    "registry",
    "accounts",
    "packages_ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
# Server-side prepared statements for manifest pulls (registry/prepared.py) live on a database
# session; behind PgBouncer in transaction pooling mode sessions are shared, so turn them off.
BERTH_PREPARED_STATEMENTS = env.bool("BERTH_PREPARED_STATEMENTS", default=True)
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.RegistryTokenAuthentication",
        "accounts.authentication.PersonalAccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "registry.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
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
BERTH_LOGIN_FAILURE_WINDOW = env.int("BERTH_LOGIN_FAILURE_WINDOW", default=900)
BERTH_LOGIN_FAILURES_PER_USER = env.int("BERTH_LOGIN_FAILURES_PER_USER", default=10)
BERTH_LOGIN_FAILURES_PER_ADDRESS = env.int("BERTH_LOGIN_FAILURES_PER_ADDRESS", default=100)
# Behind a TLS-terminating reverse proxy: the /token realm docker follows must say https://, and
# failed sign-ins are counted per client address from X-Forwarded-For, not per proxy address.
BERTH_TRUST_PROXY_HEADERS = env.bool("BERTH_TRUST_PROXY_HEADERS", default=False)
if BERTH_TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:tokens"
LOGOUT_REDIRECT_URL = "accounts:login"
