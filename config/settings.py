"""The one settings module. Everything that differs between machines comes from the environment.

With no environment at all Demur runs embedded: SQLite in WAL mode and Celery's filesystem broker
under ``DEMUR_DATA_DIR``. ``DATABASE_URL`` (postgres://…) and ``REDIS_URL`` (redis://…) switch to
PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
DATA_DIR = Path(os.environ.get("DEMUR_DATA_DIR", BASE_DIR / ".demur"))

_DEV_SECRET = "demur-insecure-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("DEMUR_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: production refuses the built-in key.")
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "benchmarks",
    "inference",
    "judging",
    "annotate",
    "analysis",
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
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.roles.roles_context",
            ],
        },
    },
]


def database_settings(url: str | None) -> dict[str, Any]:
    """PostgreSQL (or anything dj-database-url reads) from the URL; embedded SQLite without one."""
    if url:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["OPTIONS"] = sqlite_options()
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
        "OPTIONS": sqlite_options(),
    }


def sqlite_options() -> dict[str, Any]:
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN, so
    # two writers queue on busy_timeout instead of failing with "database is locked" mid-way.
    return {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }


DATABASES = {"default": database_settings(os.environ.get("DATABASE_URL"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get(
    "DATABASE_URL"
):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")

BROKER_DIR = DATA_DIR / "broker"


# With acks_late, a message a killed worker held comes back after this many seconds; it must be
# longer than the slowest chunk (32 prompts), or a chunk still running is handed out again.
BROKER_VISIBILITY_TIMEOUT = int(os.environ.get("DEMUR_BROKER_VISIBILITY_TIMEOUT", 3600))


def celery_broker_settings(redis_url: str) -> dict[str, Any]:
    if redis_url:
        return {
            "CELERY_BROKER_URL": redis_url,
            "CELERY_BROKER_TRANSPORT_OPTIONS": {
                "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
                # Look for such messages every few seconds (kombu's default is 100 s).
                "unacked_restore_interval": max(1, min(10, BROKER_VISIBILITY_TIMEOUT // 3)),
                "unacked_restore_throttle": 1,
            },
        }
    # kombu's filesystem transport: a real broker between real processes, needing no server.
    # Writers and readers share one folder, which is what makes it a queue.
    return {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(BROKER_DIR / "queue"),
            "data_folder_out": str(BROKER_DIR / "queue"),
            "control_folder": str(BROKER_DIR / "control"),
            "processed_folder": str(BROKER_DIR / "processed"),
            "store_processed": False,
        },
    }


_broker = celery_broker_settings(REDIS_URL)
if not REDIS_URL:
    for _folder in ("queue", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL: str = _broker["CELERY_BROKER_URL"]
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = _broker["CELERY_BROKER_TRANSPORT_OPTIONS"]
# Progress is counted from rows, never from task results, so no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
# Anything that loads a local model goes to workers on the `gpu` queue; the rest to `default`.
CELERY_TASK_ROUTES = {
    "inference.tasks.generate_chunk_local": {"queue": "gpu"},
    "judging.tasks.judge_chunk_local": {"queue": "gpu"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]


# --- Cache ----------------------------------------------------------------------------------
def cache_settings(redis_url: str) -> dict[str, Any]:
    """One cache that every web process shares (the API's throttle counts live there): Redis when
    there is one, else files under the data folder (the embedded demo)."""
    if redis_url:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }


CACHES = {"default": {**cache_settings(REDIS_URL), "KEY_PREFIX": "demur"}}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.roles.IsResearcher"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # Only the token endpoint is throttled (ScopedRateThrottle), per client address.
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("DEMUR_TOKEN_RATE", "10/minute")},
    # Behind a reverse proxy set this to the number of proxies, so that throttling sees the
    # client's address (X-Forwarded-For) and not the proxy's.
    "NUM_PROXIES": int(os.environ["DEMUR_NUM_PROXIES"])
    if "DEMUR_NUM_PROXIES" in os.environ
    else None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Demur API",
    "DESCRIPTION": "Benchmarks, model responses, judge verdicts and human labels.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["config.roles.IsResearcher"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components: the write endpoints take other fields than
    # they return.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "analysis.api.schema.add_error_responses",
    ],
}

# --- Demur ----------------------------------------------------------------------------------
# Largest benchmark or response file an import accepts (bytes). CoCoNot's eval file is 0.2 MB;
# 100,000 prompts of CoCoNot size are about 20 MB. Over the limit an import stops before reading.
DEMUR_IMPORT_MAX_BYTES = int(os.environ.get("DEMUR_IMPORT_MAX_BYTES", 200 * 1024 * 1024))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DEMUR_LOG_LEVEL", "INFO")},
}
