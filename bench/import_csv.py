"""Peak memory of the OneRoster CSV importer on a large ``users.csv`` (default 50 MB).

Generates a bundle in a temporary folder (one district, four schools, ``users.csv`` of the given
size: realistic SIS rows with uuid sourcedIds, 95% students), then, each in a fresh process so
the figures are its own:

- ``read``: :func:`read_bundle` only (the streaming reader: every value parsed and checked);
- ``import``: the whole ``import_oneroster_csv`` (read, plan, write in one transaction).

Each prints the database, rows, seconds, rows/s and peak RSS. The import starts from an empty
database (``flush``, so a PostgreSQL bench database can be reused). The bundle is deleted
afterwards. Uses ``BENCH_DATABASE_URL`` (e.g. ``postgres://myschool:myschool@127.0.0.1:5432/bench``)
or a temporary SQLite file (bench/common.py); run it once with each.

    .venv/bin/python bench/import_csv.py [--megabytes 50] [--phases read,import]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database_url, django_setup, peak_rss_mb, remove  # noqa: E402

USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password"
)
GIVEN = ["Ada", "Björn", "Chiara", "Dmitri", "Elif", "Farah", "Gonzalo", "Hana", "Ines", "Jonas", "Kofi", "Lena"]
FAMILY = ["Andersen", "Bakker", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Horvat", "Ivanova", "Jansen"]


def generate(folder: Path, megabytes: int) -> int:
    """Write the bundle into ``folder``; returns the number of users (rows of users.csv)."""
    rng = random.Random(17)
    district = str(uuid.UUID(int=rng.getrandbits(128)))
    schools = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(4)]
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n"
    )
    with (folder / "orgs.csv").open("w") as orgs:
        orgs.write("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n")
        orgs.write(f"{district},active,2026-11-30T08:00:00.000Z,Bench District,district,D1,\n")
        for n, school in enumerate(schools, start=1):
            orgs.write(f"{school},active,2026-11-30T08:00:00.000Z,Bench School {n},school,BS{n},{district}\n")
    target = megabytes * 1024 * 1024
    users = 0
    with (folder / "users.csv").open("w", encoding="utf-8", newline="") as out:
        out.write(USERS_HEADER + "\r\n")
        written = len(USERS_HEADER) + 2
        while written < target:
            users += 1
            given, family, middle = rng.choice(GIVEN), rng.choice(FAMILY), rng.choice(GIVEN)
            role = "teacher" if users % 20 == 0 else "student"
            login = unicodedata.normalize("NFKD", f"{given[0]}{family}{users}".lower()).encode("ascii", "ignore").decode()
            row = (
                f"{uuid.UUID(int=rng.getrandbits(128))},active,2026-11-30T08:00:00.000Z,true,{schools[users % 4]},{role},"
                f"{login},{{SIS:{users}}},{given},{family},{middle},{100000 + users},{login}@bench.example,,,,"
                f"{'' if role == 'teacher' else f'{rng.randint(1, 12):02d}'},\r\n"
            )
            out.write(row)
            written += len(row.encode())
    return users


def run_phase(phase: str, bundle: Path) -> None:
    from django.core.management import call_command
    from django.db import connection

    from myschool.oneroster_csv import import_oneroster_csv
    from myschool.oneroster_csv.bundle import read_bundle

    if phase == "import":
        call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    if phase == "read":
        rows = sum(len(rows) for rows in read_bundle(bundle).files.values())
    else:
        result = import_oneroster_csv(bundle)
        rows = sum(c.created + c.updated + c.unchanged for c in result.counts.values())
    seconds = time.perf_counter() - started
    print(f"== {phase} ({connection.vendor})")
    print(f"rows:     {rows:,}")
    print(f"seconds:  {seconds:.1f}")
    print(f"rows/s:   {rows / seconds:,.0f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50, help="size of users.csv (default 50)")
    parser.add_argument("--phases", default="read,import", help="comma-separated: read, import")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one phase
        django_setup(args.database_url)
        run_phase(args.phase, Path(args.bundle))
        return

    # The parent stays small: a child's peak RSS starts from its parent's size at fork.
    url, temp_dir = bench_database_url("bench-import-")
    folder = Path(tempfile.mkdtemp(prefix="bench-import-bundle-"))
    try:
        started = time.perf_counter()
        users = generate(folder, args.megabytes)
        size = (folder / "users.csv").stat().st_size / 1024 / 1024
        print(f"generated users.csv: {size:.1f} MB, {users:,} users in {time.perf_counter() - started:.1f} s")
        for phase in args.phases.split(","):
            sys.stdout.flush()
            subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--bundle", str(folder), "--database-url", url], check=True
            )
    finally:
        remove(str(folder))
        remove(temp_dir)


if __name__ == "__main__":
    main()
