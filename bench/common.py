"""What the benchmarks share: a database of their own and Django set up on it.

``BENCH_DATABASE_URL`` (e.g. ``postgres://bench:bench@127.0.0.1:5432/bench``, created if
missing) or else a temporary SQLite file; never the developer's ``db.sqlite3``.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def postgres_database_ensure(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"], "password": config["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")


def bench_database_url(prefix: str) -> tuple[str, str | None]:
    """(database URL, temporary folder to remove afterwards or None)."""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url:
        if url.startswith(("postgres://", "postgresql://")):
            postgres_database_ensure(url)
        return url, None
    temp_dir = tempfile.mkdtemp(prefix=prefix)
    return f"sqlite:///{temp_dir}/bench.sqlite3", temp_dir


def django_setup(url: str) -> None:
    """Point Django at ``url`` (before settings load), set it up and migrate quietly."""
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "myschool.settings"
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def remove(temp_dir: str | None) -> None:
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers at ``url`` (within a second)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False
