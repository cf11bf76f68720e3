"""The rules the school domain models enforce themselves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from myschool import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_sourced_id_defaults_to_a_uuid_string_and_accepts_foreign_ids(school_a):
    student = f.StudentFactory(school=school_a)
    assert str(uuid.UUID(student.sourced_id)) == student.sourced_id
    imported = f.StudentFactory(school=school_a, sourced_id="usr-13001")
    imported.refresh_from_db()
    assert imported.sourced_id == "usr-13001"


def test_sourced_id_never_changes(school_a):
    student = f.StudentFactory(school=school_a)
    loaded = m.Student.objects.get(pk=student.pk)
    loaded.sourced_id = "something-else"
    with pytest.raises(ValidationError, match="cannot change"):
        loaded.save()
    student.sourced_id = "also-not"
    with pytest.raises(ValidationError, match="cannot change"):
        student.save()


def test_sourced_id_is_unique(school_a):
    f.StudentFactory(school=school_a, sourced_id="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        f.StudentFactory(school=school_a, sourced_id="dup")


def test_every_model_has_a_docstring_and_a_readable_str(school_a):
    course = f.CourseFactory(school=school_a, year=school_a.active_year, name="Algebra 1")
    membership = f.CourseStudentFactory(course=course)
    for obj in (school_a, school_a.active_year, course, course.subject, membership, membership.student):
        assert type(obj).__doc__
        assert str(obj) and "object (" not in str(obj)


def test_year_cannot_end_before_it_starts(school_a):
    year = m.AcademicYear(school=school_a, name="x", start_date=dt.date(2026, 8, 1), end_date=dt.date(2026, 7, 1))
    with pytest.raises(ValidationError, match="cannot end before"):
        year.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        year.save()


def test_term_must_lie_inside_its_year(school_a):
    year = school_a.active_year
    term = m.Term(year=year, name="Summer", start_date=year.end_date, end_date=year.end_date + dt.timedelta(days=30))
    with pytest.raises(ValidationError, match="inside its year"):
        term.full_clean()
    inside = m.Term(year=year, name="Autumn", start_date=year.start_date, end_date=year.start_date + dt.timedelta(days=90))
    inside.full_clean()


def test_usernames_with_at_are_refused(school_a):
    student = f.StudentFactory.build(school=school_a, username="ada@school.example")
    with pytest.raises(ValidationError, match="must not contain '@'"):
        student.full_clean()


def test_course_cannot_use_another_schools_year_or_subject(school_a, school_b):
    course = m.Course(
        school=school_a, year=school_b.active_year, subject=f.SubjectFactory(school=school_b), name="Cross"
    )
    with pytest.raises(ValidationError) as excinfo:
        course.full_clean()
    assert set(excinfo.value.message_dict) == {"year", "subject"}


def test_grade_levels_must_be_ceds_codes(school_a):
    course = f.CourseFactory.build(school=school_a, year=school_a.active_year, subject=f.SubjectFactory(school=school_a))
    course.grade_levels = "09, 10"
    course.full_clean()
    assert course.grade_list == ["09", "10"]
    course.grade_levels = "9,Year 10"
    with pytest.raises(ValidationError, match="Unknown grade level"):
        course.full_clean()


@pytest.mark.parametrize(
    ("model", "group_factory", "group_field"),
    [(m.CourseStudent, f.CourseFactory, "course"), (m.ClassStudent, f.SchoolClassFactory, "school_class")],
)
def test_student_membership_cannot_cross_schools(model, group_factory, group_field, school_a, school_b):
    membership = model(student=f.StudentFactory(school=school_b), **{group_field: group_factory(school=school_a)})
    with pytest.raises(ValidationError, match="cannot cross schools"):
        membership.full_clean()


@pytest.mark.parametrize("factory", [f.CourseTeacherFactory, f.ClassTeacherFactory])
def test_teacher_membership_cannot_cross_schools(factory, school_a, school_b):
    membership = factory()
    membership.teacher = f.TeacherFactory(school=school_b)
    with pytest.raises(ValidationError, match="cannot cross schools"):
        membership.full_clean()


def test_membership_cannot_end_before_it_begins(school_a):
    membership = f.CourseStudentFactory.build(
        course=f.CourseFactory(school=school_a), begin_date=dt.date(2027, 1, 2), end_date=dt.date(2027, 1, 1)
    )
    membership.student.save()
    with pytest.raises(ValidationError, match="cannot end before"):
        membership.full_clean()


def test_student_number_is_unique_per_school_only(school_a, school_b):
    f.StudentFactory(school=school_a, student_number="42")
    f.StudentFactory(school=school_b, student_number="42")
    with pytest.raises(IntegrityError), transaction.atomic():
        f.StudentFactory(school=school_a, student_number="42")


def test_active_year_must_belong_to_the_school(school_a, school_b):
    school_a.active_year = school_b.active_year
    with pytest.raises(ValidationError, match="one of this school's years"):
        school_a.full_clean()


def test_a_school_can_be_deleted_with_its_courses_but_a_subject_in_use_cannot(school_a):
    from django.db.models import RestrictedError

    course = f.CourseFactory(school=school_a, year=school_a.active_year)
    f.CourseStudentFactory(course=course)
    with pytest.raises(RestrictedError):
        course.subject.delete()
    school_a.delete()
    assert not m.Course.objects.exists() and not m.Subject.objects.exists()
