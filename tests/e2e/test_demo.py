"""README's first command end to end: `manage.py demo` on its own database, served on a free port,
checked over real HTTP by `sds_check` (oneroster-1.1.md §6)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_database(tmp_path):
    """A database URL of the subprocess's own (it cannot see pytest's test database)."""
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'demo.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"e2e_demo_{uuid.uuid4().hex[:8]}"
    params = {"host": settings["HOST"] or None, "port": settings["PORT"] or None, "user": settings["USER"], "password": settings["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.django_db
def test_the_main_job_runs_end_to_end_and_passes_sds_check(own_database):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PUBLIC_BASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "myschool.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": own_database,
        "PORT": str(free_port()),
    }
    migrate = run(["migrate", "--noinput"], env)
    assert migrate.returncode == 0, migrate.stderr

    demo = run(["demo", "--check-only"], env)

    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = demo.stdout
    port = env["PORT"]
    assert f"OneRoster base URL: http://127.0.0.1:{port}/ims/oneroster/v1p1\n" in out
    assert f"Token URL: http://127.0.0.1:{port}/oauth/token/\n" in out
    assert re.search(r"^Client ID: \S+$", out, re.M) and re.search(r"^Client secret: \S{20,}$", out, re.M)
    assert re.search(rf"^Credential handoff page .*: http://127\.0\.0\.1:{port}/handoff/#\S+$", out, re.M)
    assert "10001: succeeded; published now: org 1, academicSession 2, course 2, class 2, user 24, enrollment 46 (" in out
    assert "RESULT: PASS" in out

    again = run(["demo", "--check-only"], env)  # a second run reuses everything and rotates the credentials

    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Rotating the OAuth credentials" in again.stdout and "RESULT: PASS" in again.stdout


@pytest.mark.django_db
def test_a_missing_bundle_says_which_variable_to_set(monkeypatch, tmp_path):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("ROSTER_DATA", str(tmp_path / "no-such-bundle"))
    with pytest.raises(CommandError) as caught:
        call_command("demo", "--check-only")
    assert f"There is no OneRoster CSV bundle at {tmp_path / 'no-such-bundle'}. Set ROSTER_DATA=" in str(caught.value)


def test_the_sample_roster_is_inside_the_repository():
    from django.conf import settings

    assert settings.SAMPLE_ROSTER.is_relative_to(ROOT)
    assert (settings.SAMPLE_ROSTER / "manifest.csv").is_file()
