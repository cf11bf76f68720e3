"""publish_school: exact counts, diff semantics, commit-time stamps, atomicity, the lock and the guard."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from lis.models import (
    ClassSelection,
    CourseSelection,
    PublicationRun,
    PublishedObject,
    PublishedReference,
    RunStatus,
    SchoolSyncSettings,
)
from lis.publication import PublicationInProgress, homeroom_course_id, publish_school
from lis.publication import service as publication_service
from lis.publication.lock import SchoolRunLock
from myschool import models as m
from myschool.oneroster_csv import import_oneroster_csv
from tests import factories as f
from tests.lis import publication_process
from tests.lis.publication_fixtures import published, small_school, state

CONTOSO = settings.SAMPLE_ROSTER

pytestmark = pytest.mark.django_db


@pytest.fixture
def small():
    return small_school()


def kinds_count(**filters) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in PublishedObject.objects.filter(**filters).values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_contoso_sample_publishes_exactly():
    import_oneroster_csv(CONTOSO)
    for school in m.School.objects.all():
        SchoolSyncSettings.objects.create(school=school, should_sync=True)
    for course in m.Course.objects.all():
        CourseSelection.objects.create(course=course, sync=True)
    for school in m.School.objects.all():
        assert publish_school(school).status == RunStatus.SUCCEEDED

    assert kinds_count(status="active") == {
        "org": 2, "academicSession": 2, "course": 2, "class": 2, "user": 24, "enrollment": 46
    }
    assert not PublishedObject.objects.filter(kind="demographics").exists()
    user = published("user")["usr-13007"].payload
    assert (user["username"], user["identifier"], user["email"]) == ("RLees", "13012", "rlees@contoso.example")
    assert published("academicSession")["as-year-2018"].payload["schoolYear"] == "2018"


def test_first_publication_of_a_small_school(small):
    result = publish_school(small.school)

    assert result.status == RunStatus.SUCCEEDED
    # 1 school + its district; year + 2 terms; 2 subjects + Homeroom; 2 courses + 1 homeroom;
    # 6 students + 3 teachers; 6 course + 6 homeroom student memberships, 3 course + 1 homeroom teacher ones.
    assert kinds_count() == {"org": 2, "academicSession": 3, "course": 3, "class": 3, "user": 9, "enrollment": 16}
    objects = published()
    homeroom_course = homeroom_course_id(school_sourced_id=small.school.sourced_id, year_sourced_id=small.year.sourced_id)
    assert objects[homeroom_course].payload["title"] == "Homeroom"
    assert objects[small.homeroom.sourced_id].payload["course"]["sourcedId"] == homeroom_course
    # A course without terms of its own takes all terms of its year; a homeroom takes all terms.
    all_terms = [t.sourced_id for t in small.terms]
    assert [t["sourcedId"] for t in objects[small.courses[1].sourced_id].payload["terms"]] == all_terms
    assert [t["sourcedId"] for t in objects[small.courses[0].sourced_id].payload["terms"]] == all_terms[:1]
    assert set(
        PublishedReference.objects.filter(obj__sourced_id=small.homeroom.sourced_id).values_list("name", "sourced_id")
    ) == {("terms", t) for t in all_terms}
    main = m.CourseTeacher.objects.get(course=small.courses[0], is_main_teacher=True)
    other = m.CourseTeacher.objects.get(course=small.courses[0], is_main_teacher=False)
    assert objects[main.sourced_id].payload["primary"] is True
    assert objects[other.sourced_id].payload["primary"] is False
    run = result.run
    assert run.committed_at and {o.date_last_modified for o in objects.values()} == {run.committed_at}
    assert run.counts["enrollment"] == {"created": 16, "updated": 0, "deleted": 0, "unchanged": 0}
    assert all("password" not in o.payload for o in objects.values())


def test_stamp_has_millisecond_precision(small):
    run = publish_school(small.school).run
    assert run.committed_at.microsecond % 1000 == 0


def test_a_second_run_changes_nothing(small):
    publish_school(small.school)
    before = state()
    result = publish_school(small.school)
    assert state() == before
    assert all(c["created"] == c["updated"] == c["deleted"] == 0 for k, c in result.run.counts.items() if k not in ("purged", "withheld"))


def test_renaming_a_class_changes_only_that_class(small):
    publish_school(small.school)
    before = state()
    small.courses[0].name = "Algebra 1 (renamed)"
    small.courses[0].save()

    run = publish_school(small.school).run

    after = state()
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {("class", small.courses[0].sourced_id)}
    assert after[("class", small.courses[0].sourced_id)][1] == run.committed_at > before[("class", small.courses[0].sourced_id)][1]


def test_unticking_a_class_tombstones_it_and_its_enrollments_and_ticking_brings_them_back(small):
    publish_school(small.school)
    course = small.courses[1]
    enrollment_ids = set(m.CourseStudent.objects.filter(course=course).values_list("sourced_id", flat=True)) | set(
        m.CourseTeacher.objects.filter(course=course).values_list("sourced_id", flat=True)
    )
    CourseSelection.objects.filter(course=course).update(sync=False)

    first = publish_school(small.school).run

    objects = published()
    assert objects[course.sourced_id].status == "tobedeleted"
    assert objects[course.sourced_id].payload["title"] == "Drawing"  # the last payload is kept
    assert {sid for sid, o in objects.items() if o.status == "tobedeleted"} == {
        course.sourced_id, course.subject.sourced_id, *enrollment_ids
    }
    assert all(objects[sid].date_last_modified == first.committed_at for sid in enrollment_ids)

    CourseSelection.objects.filter(course=course).update(sync=True)
    second = publish_school(small.school).run

    objects = published()
    assert objects[course.sourced_id].status == "active"
    assert objects[course.sourced_id].date_last_modified == second.committed_at > first.committed_at


def test_a_student_who_leaves_becomes_tobedeleted_with_their_enrollments(small):
    publish_school(small.school)
    leaver = small.students[0]
    leaver.status = m.Status.LEFT
    leaver.save()

    publish_school(small.school)

    objects = published()
    assert objects[leaver.sourced_id].status == "tobedeleted"
    memberships = list(m.CourseStudent.objects.filter(student=leaver).values_list("sourced_id", flat=True)) + list(
        m.ClassStudent.objects.filter(student=leaver).values_list("sourced_id", flat=True)
    )
    assert memberships and all(objects[sid].status == "tobedeleted" for sid in memberships)
    assert objects[small.students[1].sourced_id].status == "active"


def test_moving_the_active_year_tombstones_last_years_rows_and_is_guarded(small, settings):
    settings.LIS = {"MASS_DELETION_PERCENT": 30, "MASS_DELETION_MIN_OBJECTS": 1}
    publish_school(small.school)
    before = state()
    next_year = f.AcademicYearFactory(
        school=small.school, name="2027/28", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31)
    )
    small.school.active_year = next_year
    small.school.save()

    held = publish_school(small.school)

    assert held.status == RunStatus.HELD
    assert held.hold_reason.startswith("3 of 3 published classes (100%) would become tobedeleted; the limit is 30%.")
    assert state() == before  # a held run writes nothing
    assert held.run.status == RunStatus.HELD and held.run.hold_reason

    confirmed = publish_school(small.school, allow_mass_deletion=True, confirms=held.run)

    assert confirmed.status == RunStatus.SUCCEEDED
    objects = published()
    old_rows = [small.year.sourced_id, *(t.sourced_id for t in small.terms), *(c.sourced_id for c in small.courses), small.homeroom.sourced_id]
    assert all(objects[sid].status == "tobedeleted" for sid in old_rows)
    assert all(o.status == "tobedeleted" for o in objects.values() if o.kind == "enrollment")
    assert objects[next_year.sourced_id].status == "active"


def test_the_guard_ignores_small_changes(small, settings):
    settings.LIS = {"MASS_DELETION_PERCENT": 30, "MASS_DELETION_MIN_OBJECTS": 10}
    publish_school(small.school)
    ClassSelection.objects.update(sync=False)
    CourseSelection.objects.update(sync=False)
    assert publish_school(small.school).status == RunStatus.SUCCEEDED  # 3 classes is below the minimum of 10


def test_switching_a_school_off_tombstones_everything_once(small, settings):
    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 0}
    publish_school(small.school)
    SchoolSyncSettings.objects.filter(school=small.school).update(should_sync=False)

    before = state()

    held = publish_school(small.school)  # the guard covers switching off too

    assert held.status == RunStatus.HELD and state() == before
    assert held.hold_reason.startswith("3 of 3 published classes (100%) would become tobedeleted")
    assert "should sync school" in held.hold_reason
    result = publish_school(small.school, allow_mass_deletion=True, confirms=held.run)
    assert result.status == RunStatus.SUCCEEDED
    assert set(PublishedObject.objects.values_list("status", flat=True)) == {"tobedeleted"}
    before = state()
    publish_school(small.school)
    assert state() == before


def test_a_delta_cutoff_that_falls_inside_a_run_still_sees_its_changes(small):
    publish_school(small.school)
    for student in small.students:
        student.given_name += " Jr"
        student.save()
    cutoffs = []

    publish_school(small.school, progress=lambda kind, n: cutoffs.append(timezone.now()) if kind == "user" else None)

    cutoff = cutoffs[0]  # a pull made here, mid-run, saw none of the run's changes…
    changed = PublishedObject.objects.filter(date_last_modified__gte=cutoff)
    # …and the next delta pull from that moment returns every one of them.
    assert {s.sourced_id for s in small.students} <= set(changed.values_list("sourced_id", flat=True))


def test_a_failure_midway_leaves_the_previous_publication_served(small, monkeypatch):
    publish_school(small.school)
    small.courses[0].name = "Renamed"
    small.courses[0].save()
    small.students[0].status = m.Status.LEFT
    small.students[0].save()
    before = state()
    real_update = publication_service._Publisher.update

    def update_then_crash(self, kind, updates):
        real_update(self, kind, updates)
        if kind == "class":
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(publication_service._Publisher, "update", update_then_crash)

    with pytest.raises(RuntimeError, match="disk on fire"):
        publish_school(small.school)

    assert state() == before
    run = PublicationRun.objects.latest("pk")
    assert run.status == RunStatus.FAILED and "RuntimeError: disk on fire" in run.error and run.finished_at
    assert lock_is_free(small.school)  # released


@contextmanager
def lock_held_elsewhere(school):
    """The school's run lock held by another connection (another thread), as a live run holds it."""
    taken, done = threading.Event(), threading.Event()
    outcome = {}

    def hold():
        from django.db import connection

        lock = SchoolRunLock(school.pk)
        outcome["taken"] = lock.acquire()
        taken.set()
        done.wait(30)
        lock.release()
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(10)
    try:
        yield outcome["taken"]
    finally:
        done.set()
        thread.join(10)


def lock_is_free(school) -> bool:
    with lock_held_elsewhere(school) as taken:
        return taken


def test_a_held_lock_refuses_a_second_run_and_logs_it(small):
    with lock_held_elsewhere(small.school) as taken:
        assert taken
        with pytest.raises(PublicationInProgress):
            publish_school(small.school, trigger="support")
    assert not PublishedObject.objects.exists()
    refused = PublicationRun.objects.latest("pk")
    assert (refused.status, refused.trigger, refused.error) == (
        RunStatus.FAILED, "support", "Another publication of this school is running."
    )
    assert refused.finished_at is not None
    assert lock_is_free(small.school)


def test_a_run_left_running_is_marked_abandoned_by_the_next_run(small):
    crashed = PublicationRun.objects.create(school=small.school, trigger="nightly")  # status running, no live lock

    assert publish_school(small.school).status == RunStatus.SUCCEEDED

    crashed.refresh_from_db()
    assert crashed.status == RunStatus.ABANDONED and "Abandoned" in crashed.error and crashed.finished_at


@pytest.mark.django_db(transaction=True)
def test_a_killed_run_is_noticed_at_once_and_the_next_run_proceeds():
    small = small_school()
    child = publication_process.start(small.school.code, "user", 600)  # stops inside its transaction
    try:
        dead = PublicationRun.objects.get(status=RunStatus.RUNNING)
        assert not lock_is_free(small.school)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)

    started = time.monotonic()
    result = publish_school(small.school)

    assert result.status == RunStatus.SUCCEEDED
    assert time.monotonic() - started < 30  # not LIS_LOCK_TIMEOUT_SECONDS: the dead process's lock died with it
    dead.refresh_from_db()
    assert dead.status == RunStatus.ABANDONED and dead.finished_at is not None
    assert PublishedObject.objects.filter(status="active", kind="user").count() == 9  # 6 students, 3 teachers


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_of_one_school_never_overlap():
    small = small_school()
    events: list[str] = []
    first_inside, release_first = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_progress(kind, n):
        events.append("first")
        if kind == "user":
            first_inside.set()
            release_first.wait(10)

    def run_first():
        from django.db import connection

        try:
            outcome["first"] = publish_school(small.school, progress=first_progress).status
        finally:
            connection.close()

    def run_second():
        from django.db import connection

        try:
            outcome["second"] = publish_school(small.school, progress=lambda kind, n: events.append("second")).status
        except PublicationInProgress:
            outcome["second"] = "refused"
        finally:
            connection.close()

    first = threading.Thread(target=run_first)
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=run_second)
    second.start()
    second.join(1.5)  # on PostgreSQL the second run is refused at once; on SQLite it waits for the first
    release_first.set()
    first.join(20)
    second.join(30)

    assert outcome["first"] == RunStatus.SUCCEEDED
    assert outcome["second"] in ("refused", RunStatus.SUCCEEDED)
    if "second" in events:  # it ran, but only after the first had finished
        assert events.index("second") > len(events) - 1 - events[::-1].index("first")


def test_old_tombstones_are_purged_after_the_retention(small, settings):
    settings.LIS = {"TOMBSTONE_RETENTION_DAYS": 90}
    publish_school(small.school)
    CourseSelection.objects.filter(course=small.courses[1]).update(sync=False)
    publish_school(small.school)
    old = PublishedObject.objects.get(sourced_id=small.courses[1].sourced_id)
    PublishedObject.objects.filter(pk=old.pk).update(date_last_modified=timezone.now() - dt.timedelta(days=91))

    result = publish_school(small.school)

    assert not PublishedObject.objects.filter(pk=old.pk).exists()
    assert result.run.counts["purged"] >= 1
    assert PublishedObject.objects.filter(status="tobedeleted", sourced_id=small.courses[1].subject.sourced_id).exists()


def test_demographics_only_when_the_school_shares_them(small):
    publish_school(small.school)
    assert not PublishedObject.objects.filter(kind="demographics").exists()
    SchoolSyncSettings.objects.filter(school=small.school).update(share_demographics=True)

    publish_school(small.school)

    demographics = published("demographics")
    assert set(demographics) == {s.sourced_id for s in small.students}
    assert demographics[small.students[0].sourced_id].payload == {"birthDate": "2011-01-01", "sex": "male"}


def test_only_members_of_ticked_groups_when_the_school_says_so(small):
    outsider = f.StudentFactory(school=small.school)
    f.TeacherFactory(school=small.school)  # teaches nothing
    publish_school(small.school)
    assert published("user")[outsider.sourced_id].status == "active"

    SchoolSyncSettings.objects.filter(school=small.school).update(users_to_publish="group_members")
    publish_school(small.school)

    users = published("user", status="active")
    assert outsider.sourced_id not in users
    assert set(users) == {p.sourced_id for p in (*small.students, *small.teachers)}


def test_other_years_and_unticked_rows_are_never_published(small):
    other_year = f.AcademicYearFactory(school=small.school, name="2025/26", start_date=dt.date(2025, 8, 1), end_date=dt.date(2026, 7, 31))
    old_course = f.CourseFactory(school=small.school, year=other_year, subject=small.courses[0].subject)
    CourseSelection.objects.create(course=old_course, sync=True)
    never_ticked = f.CourseFactory(school=small.school, year=small.year, subject=small.courses[0].subject)

    publish_school(small.school)

    objects = published()
    assert old_course.sourced_id not in objects and other_year.sourced_id not in objects
    assert never_ticked.sourced_id not in objects


def test_a_school_that_does_not_sync_publishes_nothing(small):
    SchoolSyncSettings.objects.filter(school=small.school).update(should_sync=False)
    publish_school(small.school)
    assert not PublishedObject.objects.exists()


def test_district_org_is_shared_and_tombstoned_when_no_school_names_it(small):
    second = small_school("SM2")
    second.school.group = small.school.group
    second.school.save()
    publish_school(small.school)
    publish_school(second.school)
    district = small.school.group.sourced_id
    assert published("org")[district].school is None
    SchoolSyncSettings.objects.filter(school=small.school).update(should_sync=False)
    publish_school(small.school)
    assert published("org")[district].status == "active"  # the second school still names it
    SchoolSyncSettings.objects.filter(school=second.school).update(should_sync=False)
    publish_school(second.school)
    assert published("org")[district].status == "tobedeleted"


def test_dry_run_reports_the_same_changes_and_writes_nothing(small):
    dry = publish_school(small.school, dry_run=True)
    assert not PublishedObject.objects.exists() and not PublicationRun.objects.exists()
    real = publish_school(small.school)
    assert dry.counts() == real.counts()
    assert dry.changes["class"].examples["created"][0].endswith(")")


def test_dry_run_counts_the_district_org_the_run_would_tombstone(small):
    publish_school(small.school)
    district = small.school.group.sourced_id
    small.school.group = None  # the school leaves its trust: no school names the district org any more
    small.school.save()

    dry = publish_school(small.school, dry_run=True)
    assert published("org")[district].status == "active"  # the dry run wrote nothing
    real = publish_school(small.school)

    assert dry.counts()["org"] == real.counts()["org"] == {"created": 0, "updated": 1, "deleted": 1, "unchanged": 0}
    assert dry.counts() == real.counts()
    assert published("org")[district].status == "tobedeleted"


def test_dry_run_of_a_school_switched_off_counts_its_district_org_and_the_hold(small, settings):
    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 0}
    publish_school(small.school)
    SchoolSyncSettings.objects.filter(school=small.school).update(should_sync=False)

    dry = publish_school(small.school, dry_run=True)
    confirmed = publish_school(small.school, allow_mass_deletion=True)

    assert dry.counts()["org"]["deleted"] == 2  # the school org and its district org
    assert dry.counts() == confirmed.counts()
    assert "published classes" in dry.hold_reason and "published users" in dry.hold_reason
    assert not PublishedObject.objects.filter(status="active").exists()


def test_publish_roster_command_dry_run_and_real(small, capsys):
    call_command("publish_roster", "--school", small.school.code, "--dry-run")
    out = capsys.readouterr().out
    # Examples come in sourcedId order (random UUIDs), so Algebra 1 is one of them, not necessarily the first.
    assert "Dry run of Small School SM1" in out and "enrollment" in out and "created: " in out and "Algebra 1 (" in out
    assert not PublishedObject.objects.exists()

    call_command("publish_roster", "--all")
    assert PublishedObject.objects.filter(status="active").count() == 36
    assert PublicationRun.objects.get().trigger == "command"

    with pytest.raises(CommandError, match="No school has the code"):
        call_command("publish_roster", "--school", "NOPE")


def test_purging_many_tombstones_deletes_in_batches_with_their_references(small, settings, monkeypatch):
    from lis.publication import service

    settings.LIS = {"TOMBSTONE_RETENTION_DAYS": 1, "MASS_DELETION_MIN_OBJECTS": 1000}
    monkeypatch.setattr(service, "BATCH", 4)
    publish_school(small.school)
    SchoolSyncSettings.objects.filter(school=small.school).update(should_sync=False)
    publish_school(small.school)
    PublishedObject.objects.update(date_last_modified=timezone.now() - dt.timedelta(days=2))
    assert PublishedReference.objects.exists()

    result = publish_school(small.school)

    assert result.run.counts["purged"] == 36  # everything the school had published, its district org included
    assert not PublishedObject.objects.exists()
    assert not PublishedReference.objects.exists()
