"""Django settings for MySchool, read once from the environment (12-factor).

Every knob is an environment variable; README.md lists them all. Booleans are parsed
strictly (``true``/``false``/``1``/``0``/empty) so a typo fails at start instead of silently
meaning "off". With ``DJANGO_DEBUG`` off, ``DJANGO_SECRET_KEY`` is required and the
production security settings are on, so ``manage.py check --deploy`` has nothing to say.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Return the boolean environment variable ``name``.

    Accepts ``true``/``false``/``1``/``0`` (any case) and the empty string or absence,
    which mean ``default``. Anything else raises ``ImproperlyConfigured``.
    """
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ImproperlyConfigured(f"{name} must be true, false, 1, 0 or empty, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    """Return the integer environment variable ``name`` or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def env_overrides(names: dict[str, str], parse=env_int) -> dict:
    """An app's namespaced settings dict: ``key → parse(environment variable names[key])`` for each
    variable that is set and not empty. The defaults are written once, in the app's own ``conf``
    (``lis/conf.py``, ``oneroster_api/conf.py``, ``myschool/csv_reader.py``, ``myschool/emails/conf.py``),
    which falls back to them for every key missing here."""
    return {key: parse(name, None) for key, name in names.items() if os.environ.get(name, "").strip()}


def env_str(name: str, default: str | None) -> str | None:
    """Return the environment variable ``name`` stripped, or ``default`` when unset or empty."""
    return os.environ.get(name, "").strip() or default


def env_list(name: str, default: str = "") -> list[str]:
    """Return the comma-separated environment variable ``name`` as a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG-on"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# The sample roster the demo imports (unless ROSTER_DATA names another) and the tests read: fictitious people.
SAMPLE_ROSTER = BASE_DIR / "myschool" / "sample_data" / "contoso-25"

# Absolute links that leave the request cycle (emails, printed connection lines) start here.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "myschool.apps.MySchoolAdminConfig",  # django.contrib.admin with MySchool's AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "axes",
    "myschool",
    "lis",
    "oneroster_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "myschool.synctime.SyncTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "myschool.urls"

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

WSGI_APPLICATION = "myschool.wsgi.application"
ASGI_APPLICATION = "myschool.asgi.application"

# The embedded default is an SQLite file in the project folder; postgres:// URLs use psycopg 3.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite keeps connections per thread and gains nothing from persistence. WAL lets the API
    # and the admin read while a publication writes; IMMEDIATE transactions queue writers on the
    # busy timeout instead of failing when a read-then-write transaction meets a writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("DATABASE_SQLITE_TIMEOUT", 20),
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Support's LIS feature grants give school administrators their LIS permissions (lis/backends.py).
# django-axes' backend comes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "lis.backends.FeatureGrantBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin login throttling (django-axes), set for school staff: a school's staff usually share one
# address (the school's NAT), so failures are counted per (username, IP address): one person's typos
# never lock out colleagues, and nobody elsewhere can lock a member of staff out. After
# AXES_FAILURE_LIMIT failures the pair is locked for AXES_COOLOFF_MINUTES, counted from the last
# counted failure (tries during the lockout do not extend it, so the time the page shows holds).
# A successful login clears the count. The lockout page (429, Retry-After) says when to try again.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1.")
AXES_COOLOFF_TIME = _dt.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "myschool.login_lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "myschool.clientip.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Dates people read: one format (myschool/formats), in the sync zone (myschool.synctime).
FORMAT_MODULE_PATH = ["myschool.formats"]
USE_I18N = True
USE_TZ = True

# The zone in which "the nightly run at 00:00" and "once per calendar day" are meant.
SYNC_TIME_ZONE = os.environ.get("SYNC_TIME_ZONE", "CET")
try:
    ZoneInfo(SYNC_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"SYNC_TIME_ZONE {SYNC_TIME_ZONE!r} is not a known time zone.") from None

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))

# Mail: console by default (the demo); SMTP (or any backend) from the environment. With debug off a
# backend that delivers nothing (console, file, locmem, dummy) fails the system check myschool.E001.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "MySchool <no-reply@myschool.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAILS = env_list("SUPPORT_EMAILS")

# Redis is optional: without it Celery tasks run inline and caches are per process.
REDIS_URL = os.environ.get("REDIS_URL", "")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = SYNC_TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Production security. Off with DJANGO_DEBUG so the local demo works over plain HTTP.
# How many reverse proxies append to X-Forwarded-For in front of the app (myschool.clientip).
TRUSTED_PROXIES = env_int("DJANGO_TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXIES must be 0 or more.")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", not DEBUG) else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# OAuth 2.0 (django-oauth-toolkit): client-credentials only, RFC 9700 behaviour throughout.
from lis.oneroster import SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE  # noqa: E402 (a pure module)

OAUTH2_PROVIDER = {
    "SCOPES": {
        SCOPE_ROSTER_CORE: "Read orgs, sessions, courses, classes, users, enrollments",
        SCOPE_ROSTER: "Read all rostering data",
        SCOPE_DEMOGRAPHICS: "Read demographics",
    },
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# Named explicitly so our migrations can depend on the (swappable) toolkit models.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# The LIS integration's own knobs: LIS_<KEY> (lis/conf.py holds and documents each default).
from lis.conf import DEFAULTS as LIS_DEFAULTS  # noqa: E402 (only django.conf)

LIS = env_overrides({key: f"LIS_{key}" for key in LIS_DEFAULTS})

# Limits on CSV files read from outside: the OneRoster importer and the primary-email upload
# (myschool/csv_reader.py documents each). Sizes are uncompressed, in MB.
from myschool.csv_reader import DEFAULTS as CSV_DEFAULTS  # noqa: E402 (only csv, re, django.conf)

MYSCHOOL_CSV = env_overrides({key: f"MYSCHOOL_CSV_{key}" for key in CSV_DEFAULTS})
if min(MYSCHOOL_CSV.values(), default=1) < 1:
    raise ImproperlyConfigured("The MYSCHOOL_CSV_* limits must be at least 1.")

# Primary emails (myschool/emails/conf.py documents each). The tenant provider lives in lis, which
# knows the Microsoft tenants; myschool only calls it through this path.
MYSCHOOL_EMAILS = {
    **env_overrides({"BULK_LIMIT": "MYSCHOOL_BULK_EMAIL_LIMIT"}),
    "TENANT_PROVIDER": "lis.domains.school_email_tenant",
}

# OneRoster API (oneroster_api): the toolkit validator it needs (client credentials only, scopes by
# intersection) and its own knobs. Rates are "<count>/<s|min|hour|day>".
OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "oneroster_api.oauth.validators.OneRosterOAuth2Validator"
OAUTH2_PROVIDER["OAUTH2_SERVER_CLASS"] = "oneroster_api.oauth.server.ClientCredentialsServer"
from myschool.ratelimit import parse_rate  # noqa: E402 (the cache is only reached when a limit is counted)
from oneroster_api.conf import DEFAULTS as ONEROSTER_API_DEFAULTS  # noqa: E402 (django.conf, lis.oneroster)

_RATES = ("TOKEN_RATE", "TOKEN_IP_RATE", "API_RATE")
ONEROSTER_API = {
    **env_overrides({key: f"ONEROSTER_{key}" for key in ONEROSTER_API_DEFAULTS if key not in _RATES}),
    **env_overrides({key: f"ONEROSTER_{key}" for key in _RATES}, parse=env_str),
}
for _name in _RATES:
    try:
        parse_rate(ONEROSTER_API.get(_name, ONEROSTER_API_DEFAULTS[_name]))
    except ValueError:
        raise ImproperlyConfigured(f"ONEROSTER_{_name} must look like 30/min, not {ONEROSTER_API[_name]!r}.") from None
_api = {**ONEROSTER_API_DEFAULTS, **ONEROSTER_API}
if not 1 <= _api["DEFAULT_LIMIT"] <= _api["MAX_LIMIT"]:
    raise ImproperlyConfigured("ONEROSTER_DEFAULT_LIMIT must be between 1 and ONEROSTER_MAX_LIMIT.")

# The nightly publication: 00:00 in SYNC_TIME_ZONE (CELERY_TIMEZONE), which follows summer time.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "publish-nightly": {"task": "lis.tasks.publish_nightly", "schedule": crontab(minute=0, hour=0)},
    # Erase the secrets of credential handoffs whose 24 hours are over (the page refuses them anyway).
    "expire-handoffs": {"task": "lis.tasks.expire_handoffs", "schedule": crontab(minute=15)},
    # Email support about active integrations that stopped calling the API.
    "alert-silent-integrations": {"task": "lis.tasks.alert_silent_integrations", "schedule": crontab(minute=0, hour=7)},
    # Delete expired OAuth access tokens (django-oauth-toolkit's clear_expired); tokens live one hour.
    "clear-expired-tokens": {"task": "oneroster_api.tasks.clear_expired_tokens", "schedule": crontab(minute=30)},
}
# Incremental publication of the schools with logged changes, every LIS_INCREMENTAL_EVERY_MINUTES (0: off).
_INCREMENTAL_EVERY = LIS.get("INCREMENTAL_EVERY_MINUTES", LIS_DEFAULTS["INCREMENTAL_EVERY_MINUTES"])
if _INCREMENTAL_EVERY > 0:
    from datetime import timedelta  # noqa: E402

    CELERY_BEAT_SCHEDULE["publish-changed"] = {
        "task": "lis.tasks.publish_changed", "schedule": timedelta(minutes=_INCREMENTAL_EVERY),
    }
