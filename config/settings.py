"""The one settings module. Everything that differs between machines comes from the environment.

With no environment at all Demur runs embedded: SQLite in WAL mode and Celery's filesystem broker
under ``DEMUR_DATA_DIR``. ``DATABASE_URL`` (postgres://…) and ``REDIS_URL`` (redis://…) switch to
PostgreSQL and Redis.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.secret_key import secret_key

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


def env_count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number of 0 or more, not {value!r}.")
    return int(value)


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
DATA_DIR = Path(os.environ.get("DEMUR_DATA_DIR", BASE_DIR / ".demur"))


def uses_a_database_server(url: str | None) -> bool:
    return bool(url) and not str(url).startswith("sqlite")


# Never a known key: a random one kept under DATA_DIR when embedded, the environment's otherwise
# (config/secret_key.py says which keys are refused and why).
SECRET_KEY = secret_key(
    environment_key=os.environ.get("DJANGO_SECRET_KEY"),
    debug=DEBUG,
    server_database=uses_a_database_server(os.environ.get("DATABASE_URL")),
    required=env_bool("DEMUR_REQUIRE_SECRET_KEY", False),
    data_dir=DATA_DIR,
)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- HTTPS behind a TLS-terminating proxy ---------------------------------------------------
# DEMUR_BEHIND_TLS_PROXY=1: the proxy speaks HTTPS to browsers and sets X-Forwarded-Proto
# (and must overwrite any the client sent). Cookies then travel over HTTPS only and browsers
# are told (HSTS) to use nothing else for DEMUR_HSTS_SECONDS.
BEHIND_TLS_PROXY = env_bool("DEMUR_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_count("DEMUR_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DEMUR_HSTS_INCLUDE_SUBDOMAINS", False)
    # Plain-HTTP requests that reach Django get a redirect to HTTPS; the health check, which
    # the container runtime sends straight to the server, does not.
    SECURE_SSL_REDIRECT = env_bool("DEMUR_SSL_REDIRECT", False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Proxies in front of the web server that append to X-Forwarded-For; 0 ignores that header,
# which the client could write (accounts/client_ip.py).
DEMUR_NUM_PROXIES = env_count("DEMUR_NUM_PROXIES", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "config.apps.DemurConfig",
    "template_partials",
    "accounts",
    "uploads",
    "benchmarks",
    "runs",
    "inference",
    "judging",
    "annotate",
    "analysis",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, carrying over sessions logged in under ModelBackend (accounts/backends.py).
    "accounts.backends.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.validation.RefuseUnstorableFields",  # NUL / lone surrogates: a 400 (issue 11)
    # Last: turns a login refused for too many failures into the lock-out page.
    "axes.middleware.AxesMiddleware",
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
                "accounts.roles.roles_context",
            ],
        },
    },
]


def database_settings(url: str | None) -> dict[str, Any]:
    """PostgreSQL (or anything dj-database-url reads) from the URL; embedded SQLite without one."""
    if url:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["OPTIONS"] = sqlite_options()
        elif env_bool("DEMUR_PREPARED_STATEMENTS", True):
            # The label POST's statements are prepared (accounts/prepared.py): psycopg prepares
            # only with a threshold set, and only those statements ask for it (the ORM's
            # cursors bind on the client and never prepare).
            options: dict[str, Any] = {**config.get("OPTIONS", {})}
            options.setdefault("prepare_threshold", 5)
            config["OPTIONS"] = options
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
# Failed logins, on the login form, the admin's and the API token endpoint alike (all go
# through authenticate() with the request): after AXES_FAILURE_LIMIT failures for one username,
# or from one address, logins stop for AXES_COOLOFF_TIME. Counts live in the database, which
# every web process shares.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, the request's user read by a prepared statement (issue 17).
    "accounts.backends.UserBackend",
]
AXES_FAILURE_LIMIT = env_count("DEMUR_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(seconds=env_count("DEMUR_LOGIN_COOLOFF_SECONDS", 15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.login_names.axes_username"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# A locked-out login stays locked for the cool-off from its last counted failure; tries during
# the lock-out do not prolong it, so the owner gets back in on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_COOLOFF_MESSAGE = "Too many failed logins: try again later."
AXES_VERBOSE = False

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Scripts only from this site, as files: no inline script, no eval (the labeling screen's and
# the reports' code is in static/js, Swagger UI's start-up script is a URL of its own). Inline
# styles stay allowed: matplotlib's SVG charts, Swagger UI and the admin style elements inline,
# and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Messages are text: never trusted as HTML from a cookie (accounts/messages.py).
MESSAGE_STORAGE = "accounts.messages.TextMessageStorage"

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
# A chunk whose worker has not beaten its heartbeat for this long is queued again (the worker
# died); a run with no progress for this long reads "stalled". Workers beat and sweep four times
# per period. Keep it well above a worker's longest pause (a model load, a garbage collection).
DEMUR_STALL_SECONDS = int(os.environ.get("DEMUR_STALL_SECONDS", 120))
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
        # Django's Redis cache, a client per connection pool rather than per call.
        return {"BACKEND": "accounts.redis_cache.RedisCache", "LOCATION": redis_url}
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }


CACHES = {
    "default": {**cache_settings(REDIS_URL), "KEY_PREFIX": "demur"},
    # Hints a process may keep for itself, where a round trip to Redis would cost more than the
    # hint saves (the progress bar's count, annotate/selectors.py).
    "process": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "demur"},
}
# Sessions read from the cache, written through to the database: the label POST (the hot path)
# reads its session without a database statement (issue 17).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.roles.IsResearcher"],
    "DEFAULT_PARSER_CLASSES": [  # JSON with a nesting limit and storable text only (issue 11)
        "accounts.parsers.StorableJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # Only the token endpoint is throttled (ScopedRateThrottle), per client address.
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("DEMUR_TOKEN_RATE", "10/minute")},
    # Behind a reverse proxy set this to the number of proxies, so that throttling sees the
    # client's address (X-Forwarded-For) and not the proxy's. Without a proxy it is 0: DRF then
    # ignores X-Forwarded-For, which the client writes itself (accounts/client_ip.py).
    "NUM_PROXIES": DEMUR_NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Demur API",
    "DESCRIPTION": "Benchmarks, model responses, judge verdicts and human labels.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.roles.IsResearcher"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components: the write endpoints take other fields than
    # they return.
    "COMPONENT_SPLIT_REQUEST": True,
    # Campaigns have a kind (single, pairwise) as benchmarks do: each enum named apart.
    # Benchmarks' kind is read (a benchmark) and written (an upload) under two components.
    "ENUM_NAME_OVERRIDES": {
        "CampaignKindEnum": "annotate.models.CampaignKind",
        "BenchmarkKindEnum": "benchmarks.models.BenchmarkKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Demur ----------------------------------------------------------------------------------
# Largest benchmark or response file an import accepts (bytes). CoCoNot's eval file is 0.2 MB;
# 100,000 prompts of CoCoNot size are about 20 MB. Over the limit an import stops before reading.
DEMUR_IMPORT_MAX_BYTES = int(os.environ.get("DEMUR_IMPORT_MAX_BYTES", 200 * 1024 * 1024))

# Files sent on the pages or to the API wait here for the worker that imports them, so web
# server and workers must share it (docker-compose.yml mounts one volume on both); each upload's
# folder is removed once it is imported.
DEMUR_UPLOAD_ROOT = Path(os.environ.get("DEMUR_UPLOAD_ROOT", DATA_DIR / "uploads"))
# Largest upload (the files of one request); a bigger one is a 413 and nothing is kept.
DEMUR_UPLOAD_MAX_BYTES = env_count("DEMUR_UPLOAD_MAX_BYTES", DEMUR_IMPORT_MAX_BYTES)
# Parts over FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) stream to a temporary file here, in
# the upload root, so that keeping one is a rename; uploads.handlers stops what is too big.
FILE_UPLOAD_TEMP_DIR = str(DEMUR_UPLOAD_ROOT / "incoming")
# Made here, as the broker's folders are; one that cannot be made is reported by Django's check
# (files.E001) rather than stopping every command.
with contextlib.suppress(OSError):
    Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_HANDLERS = [
    "uploads.handlers.UploadSizeLimit",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 4xx, or a client gone mid-request, is one line; a 5xx keeps its traceback
    # (accounts/logs.py).
    "filters": {"one_line_per_request_fault": {"()": "accounts.logs.OneLinePerRequestFault"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["one_line_per_request_fault"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DEMUR_LOG_LEVEL", "INFO")},
    # django-axes says three things per failed login; its warning (failure, lock-out) will do.
    "loggers": {"axes": {"level": "WARNING"}},
}
