"""Incremental publication (issue 19): the change log each write path leaves, and the incremental run itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lis.models import ClassSelection, CourseSelection, PublicationRun, PublishedObject, RunStatus, RunTrigger, SchoolChange
from lis.publication import publish_school
from lis.publication import incremental as incremental_module
from lis.publication.incremental import run_is_incremental
from lis.selection.services import school_sync_settings_update, selections_set_sync
from lis.tasks import publish_changed
from myschool import models as m
from myschool.demo import demo_school_create
from myschool.emails import PersonKey, primary_emails_change
from myschool.oneroster_csv import import_oneroster_csv
from myschool.signals import school_data_changed_notify
from tests import factories as f
from tests.lis.publication_fixtures import published, small_school
from tests.myschool.emails_helpers import tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def small():
    return small_school()


def logged(school) -> set[tuple[str, str]]:
    return set(SchoolChange.objects.filter(school=school).values_list("kind", "key"))


def published_once(school) -> None:
    publish_school(school)
    assert logged(school) == set()


# what each write path logs ---------------------------------------------------------------------------


def test_saving_a_student_logs_the_user(small):
    published_once(small.school)
    student = small.students[0]
    student.given_name = "Grace"
    student.save()
    assert logged(small.school) == {("user", student.sourced_id)}


def test_an_email_change_logs_both_emails_at_every_school_of_the_tenant(small):
    other = small_school("SM2")
    tenant(small.school, other.school)
    published_once(small.school)
    SchoolChange.objects.all().delete()
    student = small.students[0]
    old = student.primary_email
    primary_emails_change(
        school=small.school, changes={PersonKey("student", student.pk): "New.Address@school.example"}, user=None, kind="mass_edit"
    )
    expected = {("email", old), ("email", "new.address@school.example"), ("username", student.username), ("generated", "")}
    assert expected | {("user", student.sourced_id)} == logged(small.school)
    assert expected == logged(other.school)


@pytest.mark.parametrize("members_only", [False, True])
def test_memberships_log_their_enrollment_also_when_the_admin_deletes_them(small, members_only):
    if members_only:
        school_sync_settings_update(school=small.school, user=None, users_to_publish="group_members")
    published_once(small.school)
    student = small.students[5]
    membership = m.CourseStudent.objects.create(course=small.courses[0], student=student)
    # With "only members of ticked groups" a membership decides whether the person is published.
    expected = {("enrollment", membership.sourced_id)} | ({("user", student.sourced_id)} if members_only else set())
    assert logged(small.school) == expected
    SchoolChange.objects.all().delete()
    admin.site._registry[m.CourseStudent].delete_queryset(None, m.CourseStudent.objects.filter(pk=membership.pk))
    assert logged(small.school) == expected


def test_ticks_course_moves_and_terms_log_the_class(small):
    published_once(small.school)
    course = small.courses[0]
    selections_set_sync(selections=CourseSelection.objects.filter(course=course), sync=False, user=None)
    assert logged(small.school) == {("class", course.sourced_id)}
    SchoolChange.objects.all().delete()
    course.subject = small.courses[1].subject
    course.save()
    assert logged(small.school) == {("class", course.sourced_id)}
    SchoolChange.objects.all().delete()
    course.terms.set(small.terms)
    assert logged(small.school) == {("class", course.sourced_id)}


@pytest.mark.parametrize("change", ["settings", "active_year", "term", "tenant", "domains"])
def test_changes_that_touch_everything_log_a_full_run(small, change):
    published_once(small.school)
    if change == "settings":
        school_sync_settings_update(school=small.school, user=None, share_demographics=True)
    elif change == "active_year":
        year = f.AcademicYearFactory(school=small.school, name="2027/28", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31))
        small.school.active_year = year
        small.school.save()
    elif change == "term":
        small.terms[0].name = "Fall"
        small.terms[0].save()
    elif change == "tenant":
        tenant(small.school)
    else:
        integration = tenant(small.school)
        SchoolChange.objects.all().delete()
        integration.domains.create(domain="other.example")
    assert ("full", "") in logged(small.school)


def test_the_demo_and_the_csv_import_log_a_full_run_and_no_row_by_row_changes():
    summary = demo_school_create(students=8, teachers=2, school_code="DEMOX")
    assert logged(summary.school) == {("full", "")}
    result = import_oneroster_csv(django_settings.SAMPLE_ROSTER)
    assert result.school_ids
    for school_id in result.school_ids:
        assert set(SchoolChange.objects.filter(school_id=school_id).values_list("kind", flat=True)) == {"full"}


# the incremental run ------------------------------------------------------------------------------------


def test_first_run_is_full_then_a_rename_is_published_incrementally(small):
    first = publish_school(small.school, incremental=True)
    assert first.run.notes == "full: the school's first publication"
    student = small.students[0]
    before = published("user")[student.sourced_id].date_last_modified
    student.given_name = "Grace"
    student.save()
    result = publish_school(small.school, trigger=RunTrigger.SUPPORT)
    assert result.run.notes.startswith("incremental: 1 changes")
    counts = result.counts()
    assert counts["user"] == {"created": 0, "updated": 1, "deleted": 0, "unchanged": 0}
    assert all(c["created"] == c["deleted"] == 0 for c in counts.values())
    row = published("user")[student.sourced_id]
    assert row.payload["givenName"] == "Grace" and row.date_last_modified > before
    assert logged(small.school) == set()
    assert publish_school(small.school, dry_run=True).counts()["user"]["updated"] == 0


def test_deleting_a_student_tombstones_the_user_and_enrollments_incrementally(small):
    publish_school(small.school)
    student = small.students[0]
    enrollments = set(m.CourseStudent.objects.filter(student=student).values_list("sourced_id", flat=True))
    enrollments |= set(m.ClassStudent.objects.filter(student=student).values_list("sourced_id", flat=True))
    sid = student.sourced_id
    student.delete()
    result = publish_school(small.school, incremental=True)
    assert result.run.notes.startswith("incremental")
    assert published("user")[sid].status == "tobedeleted"
    assert {s for s, o in published("enrollment").items() if o.status == "tobedeleted"} == enrollments
    assert result.counts()["enrollment"]["deleted"] == len(enrollments)


def test_a_held_run_leaves_the_log_for_the_next_run(small, settings):
    publish_school(small.school)
    settings.LIS = {"MASS_DELETION_PERCENT": 10, "MASS_DELETION_MIN_OBJECTS": 1}
    selections_set_sync(selections=CourseSelection.objects.filter(course__school=small.school), sync=False, user=None)
    selections_set_sync(selections=ClassSelection.objects.filter(school_class__school=small.school), sync=False, user=None)
    before = logged(small.school)
    result = publish_school(small.school, incremental=True)
    assert result.status == RunStatus.HELD
    assert logged(small.school) == before
    confirmed = publish_school(small.school, incremental=True, allow_mass_deletion=True)
    assert confirmed.status == RunStatus.SUCCEEDED and logged(small.school) == set()
    assert not PublishedObject.objects.filter(kind="class", status="active", school=small.school).exists()


def test_changes_made_while_a_run_diffs_are_kept_for_the_next_run(small, monkeypatch):
    publish_school(small.school)
    small.students[0].save()
    real = incremental_module.affected_objects

    def meanwhile(data, changes):
        affected = real(data, changes)
        small.students[1].given_name = "Meanwhile"
        small.students[1].save()  # committed after the run read the log
        return affected

    monkeypatch.setattr(incremental_module, "affected_objects", meanwhile)
    publish_school(small.school, incremental=True)
    assert logged(small.school) == {("user", small.students[1].sourced_id)}
    monkeypatch.setattr(incremental_module, "affected_objects", real)
    publish_school(small.school, incremental=True)
    assert published("user")[small.students[1].sourced_id].payload["givenName"] == "Meanwhile"


def test_which_runs_are_incremental(small, settings):
    school = small.school
    assert run_is_incremental(school, RunTrigger.SUPPORT) and run_is_incremental(school, RunTrigger.PERIODIC)
    assert not run_is_incremental(school, RunTrigger.NIGHTLY) and not run_is_incremental(school, RunTrigger.COMMAND)
    settings.LIS = {"FULL_RUN_EVERY_DAYS": 7}
    assert not run_is_incremental(school, RunTrigger.NIGHTLY)  # no full run yet
    publish_school(school, trigger=RunTrigger.NIGHTLY)
    assert run_is_incremental(school, RunTrigger.NIGHTLY)


def test_the_periodic_task_publishes_only_schools_with_changes(small):
    other = small_school("SM2")
    publish_school(small.school)
    publish_school(other.school)
    small.students[0].save()
    assert publish_changed() == 1
    run = PublicationRun.objects.filter(school=small.school).first()
    assert run.trigger == RunTrigger.PERIODIC and run.notes.startswith("incremental")
    assert PublicationRun.objects.filter(school=other.school).count() == 1


def test_a_single_edit_costs_as_many_queries_in_a_larger_school():
    counts = []
    for code, students in (("Q1", 6), ("Q2", 25)):
        school = small_school(code, students=students)
        publish_school(school.school)
        school.students[0].given_name = "Grace"
        school.students[0].save()
        with CaptureQueriesContext(connection) as queries:
            result = publish_school(school.school, incremental=True)
        assert result.run.notes.startswith("incremental")
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_bulk_write_logs_a_full_run_at_every_tenant_school_in_as_many_queries_for_more_schools():
    # The tenants of the schools a bulk writer reports are found in one query, not two per school.
    counts = []
    for code, written in (("T1", 1), ("T2", 4)):
        schools = [small_school(f"{code}X{i}").school for i in range(written)]
        partner = small_school(f"{code}P").school  # shares a tenant with the first school only
        tenant(schools[0], partner, name=code)
        lone = small_school(f"{code}L").school  # in no tenant, not written: not logged
        SchoolChange.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            school_data_changed_notify(sender=m.Student, school_ids=[s.pk for s in schools])
        counts.append(len(queries))
        assert set(SchoolChange.objects.filter(kind="full").values_list("school_id", flat=True)) == {
            *(s.pk for s in schools),
            partner.pk,
        }
        assert not SchoolChange.objects.filter(school=lone).exists()
    assert counts[0] == counts[1], counts


def test_withheld_counts_of_incremental_runs_equal_a_full_runs():
    # The incremental run checks duplicates only among the people it reads and reuses the last run's
    # withheld counts when nothing logged can change them; the run log must still say what a full run says.
    small = small_school()
    other = small_school("SM2")
    tenant(small.school, other.school)
    first, second, third = small.students[:3]
    teacher = small.teachers[0]
    first.primary_email = "Shared@school.example"
    first.save()
    publish_school(small.school)

    def runs_agree(expected: dict) -> None:
        incremental = publish_school(small.school, incremental=True)
        assert incremental.run.notes.startswith("incremental"), incremental.run.notes
        assert incremental.run.counts["withheld"] == expected
        full = publish_school(small.school)
        assert full.run.counts["withheld"] == expected

    none = {"missing_email": 0, "duplicate_email": 0, "foreign_domain": 0, "duplicate_username": 0}
    # Another school of the tenant gives a teacher the first student's email, in another case.
    other_teacher = other.teachers[0]
    other_teacher.primary_email = "shared@SCHOOL.example"
    other_teacher.save()
    runs_agree({**none, "duplicate_email": 1})
    assert published("user")[first.sourced_id].status == "tobedeleted"
    second.given_name = "Grace"  # nothing that can change who is withheld: the counts are the last run's
    second.save()
    runs_agree({**none, "duplicate_email": 1})
    third.username = teacher.username.upper()  # a login name clash inside the school
    third.save()
    runs_agree({**none, "duplicate_email": 1, "duplicate_username": 2})
    other_teacher.status = m.Status.LEFT  # the duplicate email is gone
    other_teacher.save()
    runs_agree({**none, "duplicate_username": 2})
    assert published("user")[first.sourced_id].status == "active"
