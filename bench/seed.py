"""Benchmark the demo school generator: ``python bench/seed.py [--students N] [--teachers N]``.

Uses the database in ``BENCH_DATABASE_URL`` (e.g. ``postgres://bench:bench@127.0.0.1:5432/bench_seed``,
created if missing) or else a fresh temporary SQLite file, never the developer's ``db.sqlite3``.
Migrates it, removes the previous bench school, then times ``demo_school_create`` and prints the rows
inserted (total and per model), seconds, rows per second and peak memory (ru_maxrss, MB).
"""

from __future__ import annotations

import argparse
import time

from common import bench_database_url, django_setup, peak_rss_mb, remove

BENCH_SCHOOL_CODE = "BENCH"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--teachers", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    url, temp_dir = bench_database_url("bench-seed-")
    try:
        django_setup(url)
        from django.db import connection

        from myschool.demo import demo_school_create, demo_school_delete

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
        remove(temp_dir)

    for label, count in summary.counts.items():
        print(f"  {label:<28} {count:>9,}")
    print(f"rows inserted: {summary.total_rows:,}")
    print(f"seconds:       {seconds:.1f}")
    print(f"rows/s:        {summary.total_rows / seconds:,.0f}")
    print(f"peak memory:   {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
