"""Benchmark the demo school generator: ``python bench/seed.py [--students N] [--teachers N]``.

Uses the database in ``BENCH_DATABASE_URL`` (e.g. ``postgres://bench:bench@127.0.0.1:5432/bench_seed``,
created if missing) or else a fresh temporary SQLite file, never the developer's ``db.sqlite3``.
Migrates it, removes the previous bench school, then times ``demo_school_create`` and prints the rows
inserted (total and per model), seconds, rows per second and peak memory (ru_maxrss, MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_SCHOOL_CODE = "BENCH"


def postgres_database_ensure(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"],
        "password": config["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--teachers", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "myschool.settings"
    os.environ.setdefault("DJANGO_DEBUG", "true")
    temp_dir = None
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url:
        if url.startswith(("postgres://", "postgresql://")):
            postgres_database_ensure(url)
    else:
        temp_dir = tempfile.mkdtemp(prefix="bench-seed-")
        url = f"sqlite:///{temp_dir}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url  # read by myschool.settings, so before django.setup()

    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from myschool.demo import demo_school_create, demo_school_delete

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        if demo_school_delete(school_code=BENCH_SCHOOL_CODE):
            print(f"removed the previous bench school in {time.perf_counter() - started:.1f} s")
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        print(f"building {args.students:,} students and {args.teachers:,} teachers (seed {args.seed}) …")

        started = time.perf_counter()
        summary = demo_school_create(
            students=args.students, teachers=args.teachers, seed=args.seed, school_code=BENCH_SCHOOL_CODE
        )
        seconds = time.perf_counter() - started
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)

    for label, count in summary.counts.items():
        print(f"  {label:<28} {count:>9,}")
    print(f"rows inserted: {summary.total_rows:,}")
    print(f"seconds:       {seconds:.1f}")
    print(f"rows/s:        {summary.total_rows / seconds:,.0f}")
    print(f"peak memory:   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
