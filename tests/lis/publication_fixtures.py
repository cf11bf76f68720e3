"""A small school ready to publish: two terms, two subjects, two ticked courses, a ticked homeroom."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lis.models import ClassSelection, CourseSelection, PublishedObject, SchoolSyncSettings
from myschool import models as m
from tests import factories as f


@dataclass
class SmallSchool:
    school: m.School
    year: m.AcademicYear
    terms: list[m.Term]
    courses: list[m.Course]
    homeroom: m.SchoolClass
    students: list[m.Student]
    teachers: list[m.Teacher]


def small_school(code: str = "SM1", *, students: int = 6, share_demographics: bool = False) -> SmallSchool:
    """Build and tick a school: 2 courses (3 students each + a main teacher) and a homeroom of everyone."""
    school = f.SchoolFactory(code=code, name=f"Small School {code}", group=m.SchoolGroup.objects.create(name="Trust", code=f"T-{code}"))
    year = f.AcademicYearFactory(school=school, name="2026/27", start_date=dt.date(2026, 8, 1), end_date=dt.date(2027, 7, 31))
    school.active_year = year
    school.save()
    terms = [
        f.TermFactory(year=year, name="Autumn", start_date=dt.date(2026, 8, 1), end_date=dt.date(2026, 12, 31)),
        f.TermFactory(year=year, name="Spring", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 7, 31)),
    ]
    pupils = [
        f.StudentFactory(school=school, birth_date=dt.date(2011, 1, n + 1), sex="female" if n % 2 else "male")
        for n in range(students)
    ]
    teachers = [f.TeacherFactory(school=school) for _ in range(3)]
    math = f.SubjectFactory(school=school, name="Mathematics", code="MA", subject_area="Math")
    art = f.SubjectFactory(school=school, name="Art", code="AR", subject_area="Arts")
    courses = [
        f.CourseFactory(school=school, year=year, subject=math, name="Algebra 1", grade_levels="09"),
        f.CourseFactory(school=school, year=year, subject=art, name="Drawing", grade_levels="09,10"),
    ]
    courses[0].terms.set(terms[:1])
    for index, course in enumerate(courses):
        for pupil in pupils[index * 3 : index * 3 + 3]:
            m.CourseStudent.objects.create(course=course, student=pupil)
        m.CourseTeacher.objects.create(course=course, teacher=teachers[index], is_main_teacher=True)
        CourseSelection.objects.create(course=course, sync=True)
    m.CourseTeacher.objects.create(course=courses[0], teacher=teachers[2], is_main_teacher=False)
    homeroom = f.SchoolClassFactory(school=school, year=year, name="Form 9A", grade_level="09")
    for pupil in pupils:
        m.ClassStudent.objects.create(school_class=homeroom, student=pupil)
    m.ClassTeacher.objects.create(school_class=homeroom, teacher=teachers[2], is_main_teacher=True)
    ClassSelection.objects.create(school_class=homeroom, sync=True)
    SchoolSyncSettings.objects.create(school=school, should_sync=True, share_demographics=share_demographics)
    return SmallSchool(school, year, terms, courses, homeroom, pupils, teachers)


def published(kind: str | None = None, **filters) -> dict[str, PublishedObject]:
    """sourcedId → published object, optionally of one kind."""
    queryset = PublishedObject.objects.all() if kind is None else PublishedObject.objects.filter(kind=kind)
    return {obj.sourced_id: obj for obj in queryset.filter(**filters)}


def state() -> dict[tuple[str, str], tuple]:
    """(kind, sourcedId) → (status, dateLastModified, content hash): what SDS could observe."""
    return {
        (o.kind, o.sourced_id): (o.status, o.date_last_modified, o.content_hash)
        for o in PublishedObject.objects.all()
    }
