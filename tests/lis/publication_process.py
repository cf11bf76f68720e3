"""A publication in a child process, for tests that need a real second process.

``python -m tests.lis.publication_process SCHOOL_CODE KIND SECONDS``: publishes the school and,
when the run reaches ``KIND`` (in its diff, after staging that kind's first batch; ``stamp``: just after its stamp, inside its final
transaction), prints ``inside`` and sleeps ``SECONDS``
(a test may ``kill -9`` it meanwhile), then finishes and prints the run's status.
:func:`child_environment` points the child at the test's own database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict) -> str:
    """The URL of the database a test runs on (its test database), for a child process."""
    if "postgresql" in settings_dict["ENGINE"]:
        host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
        return f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@{host}:{port}/{settings_dict['NAME']}"
    return f"sqlite:///{settings_dict['NAME']}"


def start(school_code: str, kind: str, seconds: float) -> subprocess.Popen:
    """Start the child; returns once it printed ``inside`` (or raises if it ended first)."""
    from django.db import connection

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.lis.publication_process", school_code, kind, str(seconds)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = child.stdout.readline().strip()
    if line != "inside":
        child.kill()
        raise RuntimeError(f"child publication did not start: {line!r} {child.stderr.read()}")
    return child


def main(school_code: str, kind: str, seconds: str) -> None:
    import django

    django.setup()
    from lis.publication import publish_school
    from myschool.models import School

    paused = []

    def pause(current_kind: str, _count: int) -> None:
        if current_kind == kind and not paused:
            paused.append(current_kind)
            print("inside", flush=True)
            time.sleep(float(seconds))

    if kind == "stamp":  # stop between the run's stamp and its commit: the window a pull must not slip into
        from lis.publication import service

        real_stamp = service._Publisher.stamp

        def stamp_then_pause(self):
            stamp = real_stamp(self)
            print("inside", flush=True)
            time.sleep(float(seconds))
            return stamp

        service._Publisher.stamp = stamp_then_pause
    result = publish_school(School.objects.get(code=school_code), progress=pause)
    print(result.status, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
