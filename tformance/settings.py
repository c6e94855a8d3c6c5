"""tformance settings, read from the environment in this one place.

Every variable is listed in the README's Configuration table. Unset variables
fall back to a self-contained default: an embedded PostgreSQL under .data/,
a local-memory cache, Celery running tasks in-process, Sentry off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return parse_bool(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_overrides(parsers: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """The settings among `parsers` that the environment sets; the others keep their app's default."""
    return {name: parse(os.environ[name]) for name, parse in parsers.items() if os.environ.get(name, "").strip()}


# Off unless asked for: a debug page shows settings and tracebacks to whoever hits an error.
# `make demo`, `make test` and the other make targets turn it on for a developer's machine.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-local-demo-and-tests"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "waffle",
    "apps.teams",
    "apps.metrics",
    "apps.integrations",
    "flags",
    "shadow",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

ROOT_URLCONF = "tformance.urls"
WSGI_APPLICATION = "tformance.wsgi.application"

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

# --- Database: PostgreSQL only -------------------------------------------------
DATA_DIR = Path(os.environ.get("TFORMANCE_DATA_DIR", BASE_DIR / ".data"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("DATABASE_URL must point at PostgreSQL (postgres://…)")
else:
    from tformance.embedded_db import embedded_database_settings

    DATABASES = {"default": embedded_database_settings(DATA_DIR)}
# Lets two test runs share one server (each names its own test database).
if os.environ.get("TFORMANCE_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TFORMANCE_TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis is a cache that cannot hurt (tformance/redis_cache.py): a hung server costs at most this long per
# call, a failing one is skipped for REDIS_BREAKER_SECONDS, and warned about once per interval.
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.25)
REDIS_BREAKER_SECONDS = env_float("REDIS_BREAKER_SECONDS", 1.0)
REDIS_WARN_INTERVAL_SECONDS = env_float("REDIS_WARN_INTERVAL_SECONDS", 60.0)
# Rollout flags never go through Redis (flags/store.py): each process keeps its own copy, re-checked
# against PostgreSQL. The "flags" cache is local memory in every process, for waffle and sampling rates.
FLAGS_LOCAL_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tformance-flags"}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "tformance.redis_cache.GuardedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tformance",
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            },
        },
        "flags": FLAGS_LOCAL_CACHE,
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tformance"},
        "flags": FLAGS_LOCAL_CACHE,
    }
    CELERY_BROKER_URL = "memory://"
    # Without a broker, tasks run in-process at call time.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "weekly-metrics-all-teams": {
        "task": "apps.metrics.tasks.aggregate_all_teams_weekly_metrics_task",
        "schedule": crontab(minute=0, hour=1, day_of_week="mon"),
    },
    "copilot-sync-all-teams": {
        "task": "apps.integrations.tasks.sync_all_teams_copilot_metrics_task",
        "schedule": crontab(minute=30, hour=2),
    },
    # The rollout autopilot (shadow.autopilot): each run acts on every active plan, one run at a time.
    "shadow-autopilot": {
        "task": "shadow.autopilot.run_autopilot_task",
        "schedule": env_float("SHADOW_AUTOPILOT_INTERVAL_SECONDS", 300.0),
    },
}

# --- GitHub --------------------------------------------------------------------
GITHUB_API_URL = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_HTTP_TIMEOUT = env_float("GITHUB_HTTP_TIMEOUT", 10.0)
GITHUB_MAX_ATTEMPTS = env_int("GITHUB_MAX_ATTEMPTS", 3)
GITHUB_RETRY_BACKOFF = env_float("GITHUB_RETRY_BACKOFF", 1.0)

# --- Auth, i18n, static --------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "teams:picker"
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Flags ---------------------------------------------------------------------
# FLAGS_* defaults live in flags/conf.py, SHADOW_* defaults in shadow/conf.py:
# each is written once there, and set here only when the environment sets it.
globals().update(env_overrides({
    "FLAGS_RAISE_ON_UNKNOWN": parse_bool, "FLAGS_PERCENT_SALT": str, "FLAGS_MAX_STALE_SECONDS": float,
}))
WAFFLE_FLAG_MODEL = "flags.Flag"
WAFFLE_CACHE_NAME = "flags"
WAFFLE_CREATE_MISSING_FLAGS = False
# flags.admin registers the flag admin with the team list; waffle's own would hide it.
WAFFLE_ENABLE_ADMIN_PAGES = False
# waffle's shipped migrations create its own Flag tables even when the model is
# swapped (django-waffle issue 338); those orphan tables then block test flushes.
# These migrations are waffle's models as they are, with Flag marked swappable.
MIGRATION_MODULES = {"waffle": "flags.waffle_migrations"}

# --- Shadow comparisons --------------------------------------------------------
globals().update(env_overrides({
    "SHADOW_DEFAULT_RATE": float,
    "SHADOW_TIME_BUDGET_MS": int,
    "SHADOW_VERIFY_BUDGET_MS": int,
    "SHADOW_MIN_COMPARISONS": int,
    "SHADOW_EVIDENCE_DAYS": int,
    "SHADOW_ROLLBACK_THRESHOLD": int,
    "SHADOW_RAISE_ON_MISMATCH": parse_bool,
    "SHADOW_MAX_DIFF_LINES": int,
    "SHADOW_DEFERRED_QUEUE": str.strip,
    "SHADOW_EVIDENCE_TIMEOUT_MS": int,
    "SHADOW_DROPPED_LOG_SECONDS": float,
    "SHADOW_LOCK_TIMEOUT_MS": int,
    "SHADOW_THREADS": int,
}))

# --- Logging -------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- Sentry --------------------------------------------------------------------
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)
if SENTRY_DSN:
    from tformance.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
