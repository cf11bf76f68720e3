"""Benchmark the publication: ``python bench/publish.py [--students N] [--teachers N] [--reuse]``.

Builds the generated demo school (default: the default demo school, 1,200 students and 90
teachers; ``--students 50000 --teachers 4000`` for the large one) in the bench database (see
``bench/common.py``), ticks every course and class, then times, each in a fresh process so
its peak memory is its own:

1. the first publication (everything created);
2. an incremental publication after 1% of the rows changed (1% of students, teachers and
   courses renamed, 1% of course memberships removed), the changes made through tracked write
   paths (``save()``, the membership admin's delete), so the run diffs only what they touch
   (issue 19, ``lis.publication.incremental``);
3. an incremental publication after a single edit (one student renamed).

``--reuse`` skips building and the first publication: the bench school must already be
published from its current data (e.g. by an earlier run of this script); its change log is
cleared first (the migration that introduced it asks every school for a full run).

Each prints rows (objects produced), seconds, rows/s, peak RSS, the counts per kind, and the
commit-order lock of the delta watermark: how long the run took to take it (its cost to the run)
and how long it held it from stamp to commit (the most an API request waits).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from common import bench_database_url, django_setup, peak_rss_mb, remove

BENCH_SCHOOL_CODE = "BENCHPUB"


def prepare(students: int, teachers: int) -> None:
    from django.db import transaction

    from lis.models import ClassSelection, CourseSelection, PublicationRun, PublishedObject, SchoolSyncSettings
    from lis.publication import published_objects_delete
    from myschool import models as m
    from myschool.demo import demo_school_create, demo_school_delete

    school = m.School.objects.filter(code=BENCH_SCHOOL_CODE).first()
    if school is not None:
        published_objects_delete(PublishedObject.objects.filter(school=school))
        PublicationRun.objects.filter(school=school).delete()
        demo_school_delete(school_code=BENCH_SCHOOL_CODE)
    started = time.perf_counter()
    summary = demo_school_create(students=students, teachers=teachers, seed=1, school_code=BENCH_SCHOOL_CODE)
    school = summary.school
    with transaction.atomic():
        SchoolSyncSettings.objects.create(school=school, should_sync=True)
        CourseSelection.objects.bulk_create(
            [CourseSelection(course_id=pk, sync=True) for pk in m.Course.objects.filter(school=school).values_list("pk", flat=True)],
            batch_size=5000,
        )
        ClassSelection.objects.bulk_create(
            [ClassSelection(school_class_id=pk, sync=True) for pk in m.SchoolClass.objects.filter(school=school).values_list("pk", flat=True)],
            batch_size=5000,
        )
    print(f"prepared {students:,} students, {teachers:,} teachers ({summary.total_rows:,} rows) in {time.perf_counter() - started:.1f} s")


def change_one_percent() -> None:
    """1% of students, teachers and courses renamed (``save()``), 1% of course memberships deleted as
    the membership admin deletes them: tracked write paths (lis.publication.changes)."""
    from django.db import transaction

    from myschool import models as m
    from myschool.signals import school_data_changed_notify

    school = m.School.objects.get(code=BENCH_SCHOOL_CODE)
    started = time.perf_counter()
    with transaction.atomic():
        for model, field in ((m.Student, "given_name"), (m.Teacher, "given_name"), (m.Course, "name")):
            pks = list(model.objects.filter(school=school).order_by("pk").values_list("pk", flat=True)[::100])
            for start in range(0, len(pks), 2000):
                for obj in model.objects.filter(pk__in=pks[start : start + 2000]):
                    setattr(obj, field, _toggled(getattr(obj, field), " (changed)"))
                    obj.save()
        doomed = list(m.CourseStudent.objects.filter(course__school=school).order_by("pk").values_list("pk", flat=True)[::100])
        for start in range(0, len(doomed), 2000):
            chunk = doomed[start : start + 2000]
            school_data_changed_notify(sender=m.CourseStudent, school_ids=[school.pk], pks=chunk)
            m.CourseStudent.objects.filter(pk__in=chunk).delete()
    print(f"1% changed through tracked writes in {time.perf_counter() - started:.1f} s")


def _toggled(value: str, suffix: str) -> str:
    """``value`` without its trailing bench tags, plus ``suffix`` unless it had one (repeated ``--reuse`` runs stay short)."""
    base = re.sub(r"( \(\w+\))+$", "", value)
    return base if value != base else base + suffix


def change_one_student() -> None:
    """One student renamed (``save()``)."""
    from myschool import models as m

    student = m.Student.objects.filter(school__code=BENCH_SCHOOL_CODE).order_by("pk")[1000]
    student.given_name = _toggled(student.given_name, " (edited)")
    student.save()


def clear_change_log() -> None:
    from lis.models import SchoolChange

    SchoolChange.objects.filter(school__code=BENCH_SCHOOL_CODE).delete()


def publish(label: str, *, incremental: bool = False) -> None:
    from django.db import connection

    from lis.publication import publish_school
    from myschool.models import School

    from lis.publication.lock import CommitOrderLock

    # Time the watermark's commit-order lock (issue 15): what taking it costs the run, and how
    # long API requests could wait (from the run's stamp to its commit).
    window = {}
    real_acquire, real_release = CommitOrderLock.acquire, CommitOrderLock.release

    def timed_acquire(lock):
        before = time.perf_counter()
        real_acquire(lock)
        window["acquired"] = time.perf_counter()
        window["acquire"] = window["acquired"] - before

    def timed_release(lock):
        real_release(lock)
        window.setdefault("held", time.perf_counter() - window.get("acquired", time.perf_counter()))

    CommitOrderLock.acquire, CommitOrderLock.release = timed_acquire, timed_release
    school = School.objects.get(code=BENCH_SCHOOL_CODE)
    started = time.perf_counter()
    result = publish_school(school, incremental=incremental)
    seconds = time.perf_counter() - started
    counts = result.counts()
    rows = sum(c["created"] + c["updated"] + c["unchanged"] for c in counts.values())
    print(f"== {label} ({connection.vendor})")
    print(f"status:   {result.status}")
    print(f"run:      {result.run.notes if result.run else ''}")
    for kind, c in counts.items():
        print(f"  {kind:<16} {c['created']:>8,} created {c['updated']:>8,} updated {c['deleted']:>8,} deleted {c['unchanged']:>8,} unchanged")
    print(f"rows:     {rows:,}")
    print(f"seconds:  {seconds:.1f}")
    print(f"rows/s:   {rows / seconds:,.0f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    if "acquire" in window:
        print(
            f"commit-order lock: taken in {window['acquire'] * 1000:.1f} ms ({window['acquire'] / seconds:.2%} of the run); "
            f"held stamp→commit {window['held']:.2f} s ({window['held'] / seconds:.1%} of the run: the most an API request waits)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1200)
    parser.add_argument("--teachers", type=int, default=90)
    parser.add_argument("--reuse", action="store_true", help="The bench school is built and published already (see above).")
    parser.add_argument("--phase", choices=["prepare", "first", "incremental", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one step on the parent's database
        django_setup(args.database_url)
        if args.phase == "prepare":
            prepare(args.students, args.teachers)
            return
        if args.phase == "first":
            publish("first publication")
        elif args.phase == "incremental":
            change_one_percent()
            publish("incremental publication, 1% changed", incremental=True)
        else:
            change_one_student()
            publish("incremental publication, a single edit", incremental=True)
        return

    # The parent stays small: a child's peak RSS starts from its parent's size at fork.
    url, temp_dir = bench_database_url("bench-publish-")
    try:
        django_setup(url)
        if args.reuse:
            clear_change_log()
        for phase in ("incremental", "single") if args.reuse else ("prepare", "first", "incremental", "single"):
            sys.stdout.flush()
            subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--database-url", url,
                 "--students", str(args.students), "--teachers", str(args.teachers)],
                check=True,
            )
    finally:
        remove(temp_dir)


if __name__ == "__main__":
    main()
