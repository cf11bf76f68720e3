"""Benchmark the publication: ``python bench/publish.py [--students N] [--teachers N] [--published]``.

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

``--published`` skips building and the first publication: the bench school must already be
published from its current data (e.g. by an earlier run of this script); its change log is
cleared first (the migration that introduced it asks every school for a full run).

Each prints rows (objects produced), seconds, rows/s, peak RSS, the CPU time of its own process
(Python's share, less sensitive to a busy machine than seconds), the counts per kind, and the
commit-order lock of the delta watermark: how long the run took to take it (its cost to the run)
and how long it held it from stamp to commit (the most an API request waits).

``--reuse`` keeps the bench school when it is already built (same sizes) and only empties its
publications, so the first publication can be timed again without rebuilding a 50,000-student
school. ``--profile DIR`` writes each run's cProfile statistics to ``DIR/<phase>.prof`` and
prints the top functions by cumulative time (profiling slows the run: time it without).
``--first-only`` stops after the first publication (quicker turns when timing only it).
``--sql-top N`` prints the N SQL statements (numbers folded) that took the most time in total,
as Django's cursor saw them: the stage writer's BEGIN/COMMIT are in, its COPY and the run's
final COMMIT (deferred foreign-key checks) are not.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import time

from common import bench_database_url, django_setup, peak_rss_mb, remove

BENCH_SCHOOL_CODE = "BENCHPUB"


def prepare(students: int, teachers: int, *, reuse: bool = False) -> None:
    from lis.models import PublicationRun, PublishedObject
    from lis.publication import published_objects_delete
    from myschool import models as m
    from myschool.demo import demo_school_create, demo_school_delete

    school = m.School.objects.filter(code=BENCH_SCHOOL_CODE).first()
    if school is not None:
        started = time.perf_counter()
        if reuse and not m.School.objects.exclude(pk=school.pk).exists():
            _truncate_store()  # the bench school is alone: faster than deleting 500,000 objects
        published_objects_delete(PublishedObject.objects.filter(school=school))
        published_objects_delete(PublishedObject.objects.filter(school=None))
        PublicationRun.objects.filter(school=school).delete()
        sizes = (m.Student.objects.filter(school=school).count(), m.Teacher.objects.filter(school=school).count())
        if reuse and sizes == (students, teachers):
            _tick_everything(school)
            _analyze()
            print(f"reused the bench school ({students:,} students, {teachers:,} teachers), publications emptied in {time.perf_counter() - started:.1f} s")
            return
        demo_school_delete(school_code=BENCH_SCHOOL_CODE)
    started = time.perf_counter()
    summary = demo_school_create(students=students, teachers=teachers, seed=1, school_code=BENCH_SCHOOL_CODE)
    _tick_everything(summary.school)
    print(f"prepared {students:,} students, {teachers:,} teachers ({summary.total_rows:,} rows) in {time.perf_counter() - started:.1f} s")


def _tick_everything(school) -> None:
    """The school syncs and every course and class is ticked (the generator creates unticked selection rows)."""
    from django.db import transaction

    from lis.models import ClassSelection, CourseSelection, SchoolSyncSettings
    from myschool import models as m

    with transaction.atomic():
        SchoolSyncSettings.objects.update_or_create(school=school, defaults={"should_sync": True})
        for selection, model, field in ((CourseSelection, m.Course, "course"), (ClassSelection, m.SchoolClass, "school_class")):
            selection.objects.filter(**{f"{field}__school": school}).update(sync=True)
            missing = model.objects.filter(school=school).exclude(pk__in=selection.objects.values(f"{field}_id"))
            selection.objects.bulk_create(
                [selection(**{f"{field}_id": pk}, sync=True) for pk in missing.values_list("pk", flat=True)], batch_size=5000
            )


def _truncate_store() -> None:
    from django.db import connection

    from lis.models import PublishedObject, PublishedReference

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {PublishedReference._meta.db_table}, {PublishedObject._meta.db_table}")


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


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


def _sql_timing():
    """Record (calls, seconds) per SQL statement shape from now on; returns the dict."""
    import re
    from collections import defaultdict

    from django.db.backends import utils

    timings = defaultdict(lambda: [0, 0.0])
    real_execute = utils.CursorWrapper.execute

    def execute(self, sql, params=None):
        before = time.perf_counter()
        try:
            return real_execute(self, sql, params)
        finally:
            shape = re.sub(r"\d+", "N", re.sub(r"%s(, %s)+", "%s…", sql))[:150]
            timing = timings[shape]
            timing[0] += 1
            timing[1] += time.perf_counter() - before

    utils.CursorWrapper.execute = execute
    return timings


def publish(label: str, profile_dir: str = "", sql_top: int = 0, *, incremental: bool = False) -> None:
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
    timings = _sql_timing() if sql_top else None
    profiler = None
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    result = publish_school(school, incremental=incremental)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats
        from pathlib import Path

        profiler.disable()
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        path = Path(profile_dir) / f"{'first' if label.startswith('first') else 'single' if 'single' in label else 'incremental'}.prof"
        profiler.dump_stats(path)
        print(f"profile:  {path}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
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
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU:      {cpu.ru_utime + cpu.ru_stime - cpu_before:.1f} s in this process during the run (the database's work is not in it)")
    if timings is not None:
        print(f"SQL through Django's cursor: {sum(t[1] for t in timings.values()):.1f} s; the top {sql_top}:")
        for shape, (calls, spent) in sorted(timings.items(), key=lambda item: -item[1][1])[:sql_top]:
            print(f"  {spent:8.2f} s {calls:6,}×  {shape}")
    if "acquire" in window:
        print(
            f"commit-order lock: taken in {window['acquire'] * 1000:.1f} ms ({window['acquire'] / seconds:.2%} of the run); "
            f"held stamp→commit {window['held']:.2f} s ({window['held'] / seconds:.1%} of the run: the most an API request waits)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1200)
    parser.add_argument("--teachers", type=int, default=90)
    parser.add_argument("--reuse", action="store_true", help="keep an already built bench school of the same size")
    parser.add_argument("--profile", metavar="DIR", default="", help="write cProfile statistics of each run to DIR")
    parser.add_argument("--sql-top", type=int, default=0, metavar="N", help="print the N costliest SQL statement shapes")
    parser.add_argument("--published", action="store_true", help="the bench school is built and published already: time only the incremental runs")
    parser.add_argument("--first-only", action="store_true", help="stop after the first publication (no incremental runs)")
    parser.add_argument("--phase", choices=["prepare", "first", "incremental", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one step on the parent's database
        django_setup(args.database_url)
        if args.phase == "prepare":
            prepare(args.students, args.teachers, reuse=args.reuse)
            return
        if args.phase == "first":
            publish("first publication", args.profile, args.sql_top)
        elif args.phase == "incremental":
            change_one_percent()
            publish("incremental publication, 1% changed", args.profile, args.sql_top, incremental=True)
        else:
            change_one_student()
            publish("incremental publication, a single edit", args.profile, args.sql_top, incremental=True)
        return

    # The parent stays small: a child's peak RSS starts from its parent's size at fork.
    url, temp_dir = bench_database_url("bench-publish-")
    try:
        django_setup(url)
        if args.published:
            clear_change_log()
        phases = ("incremental", "single") if args.published else ("prepare", "first", "incremental", "single")
        for phase in phases[:2] if args.first_only and not args.published else phases:
            sys.stdout.flush()
            subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--database-url", url,
                 "--students", str(args.students), "--teachers", str(args.teachers),
                 *(["--reuse"] if args.reuse else []), *(["--profile", args.profile] if args.profile else []),
                 *(["--sql-top", str(args.sql_top)] if args.sql_top else [])],
                check=True,
            )
    finally:
        remove(temp_dir)


if __name__ == "__main__":
    main()
