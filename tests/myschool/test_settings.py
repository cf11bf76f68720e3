"""Settings come from the environment, strictly; production-like variables pass `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3y-" + "x9Qz!r" * 10,
    "DJANGO_ALLOWED_HOSTS": "myschool.example",
    "DATABASE_URL": "postgres://myschool:pw@db.internal:5432/myschool",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PUBLIC_BASE_URL": "https://myschool.example",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.internal",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "SYNC_"))}
    clean["DJANGO_SETTINGS_MODULE"] = "myschool.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_with_production_variables_prints_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    result = manage("check", env={k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr


@pytest.mark.parametrize("value", ["yes", "on", "maybe", "False!", "2"])
def test_debug_flag_is_parsed_strictly(value):
    result = manage("check", env={**PRODUCTION, "DJANGO_DEBUG": value})
    assert result.returncode != 0
    assert f"DJANGO_DEBUG must be true, false, 1, 0 or empty, not {value.strip().lower()!r}" in result.stderr


@pytest.mark.parametrize("value", ["TRUE", "1", "true"])
def test_debug_flag_accepts_true_spellings_and_then_needs_no_secret(value):
    result = manage("check", env={"DJANGO_DEBUG": value})
    assert result.returncode == 0, result.stderr


def test_unknown_sync_time_zone_is_refused():
    result = manage("check", env={**PRODUCTION, "SYNC_TIME_ZONE": "Mars/Olympus"})
    assert result.returncode != 0
    assert "SYNC_TIME_ZONE 'Mars/Olympus' is not a known time zone" in result.stderr


def test_database_url_selects_the_backend():
    from django.conf import settings

    script = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    postgres = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "myschool.settings", **PRODUCTION},
        capture_output=True,
        text=True,
    )
    assert postgres.stdout.strip() == "django.db.backends.postgresql"
    default = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}; print(settings.DATABASES['default']['NAME'])"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DJANGO_SETTINGS_MODULE": "myschool.settings", "DJANGO_DEBUG": "true"},
        capture_output=True,
        text=True,
    )
    engine, name = default.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(ROOT / "db.sqlite3")
    assert settings.CELERY_TIMEZONE == settings.SYNC_TIME_ZONE


@pytest.mark.parametrize("backend", [None, "console", "filebased", "locmem", "dummy"])
def test_a_backend_that_delivers_no_mail_is_refused_when_debug_is_off(backend):
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_BACKEND"}  # None: the default, console
    if backend:
        env["EMAIL_BACKEND"] = f"django.core.mail.backends.{backend}.EmailBackend"
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "myschool.E001" in result.stderr
    assert "smtp" in result.stderr  # the hint names the fix


def test_the_demo_and_test_settings_pass_the_mail_check():
    demo = manage("check", env={"DJANGO_DEBUG": "true"})  # scripts/demo: console backend, debug on
    assert demo.returncode == 0, demo.stderr
    tests = manage("check", env={"DJANGO_SETTINGS_MODULE": "tests.settings"})  # pytest and CI (locmem, debug off)
    assert tests.returncode == 0, tests.stderr


def test_each_default_is_written_once_in_its_apps_conf():
    """settings.py carries only what the environment sets; every default comes from the app's conf."""
    code = (
        "from django.conf import settings; from lis.conf import lis_setting; "
        "from oneroster_api.conf import api_setting; from myschool.csv_reader import csv_setting; "
        "print(settings.LIS, settings.ONEROSTER_API, settings.MYSCHOOL_CSV); "
        "print(lis_setting('SUPPORT_RUNS_PER_DAY'), lis_setting('SILENCE_ALERT_HOURS'), api_setting('API_RATE'), "
        "api_setting('TOKEN_RATE'), csv_setting('MAX_UPLOAD_MB'))"
    )
    env = {"DJANGO_DEBUG": "true", "LIS_SUPPORT_RUNS_PER_DAY": "3", "ONEROSTER_API_RATE": "5/min"}
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "{'SUPPORT_RUNS_PER_DAY': 3} {'API_RATE': '5/min'} {}",
        "3 48 5/min 30/min 2",
    ]
