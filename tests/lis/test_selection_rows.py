"""Selection rows (LIS Courses, LIS Classes) are created where groups are created or the active year
changes — the CSV import, the demo generator, the admin, the nightly task — and never by a page view."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lis import tasks
from lis.models import ClassSelection, CourseSelection
from myschool import models as m
from myschool.demo import demo_school_create
from myschool.oneroster_csv import import_oneroster_csv
from tests import factories as f
from tests.lis.lis_pages import classes_url, courses_url, listed, login

pytestmark = pytest.mark.django_db

INLINES = ("teacher_memberships", "student_memberships")  # the Course page's inline formsets
BUNDLES = Path(__file__).parent.parent / "myschool" / "bundles"


def rows_of(school) -> tuple[set[str], set[str]]:
    """(names of the school's courses with a selection row, names of its classes with one)."""
    return (
        set(CourseSelection.objects.filter(course__school=school).values_list("course__name", flat=True)),
        set(ClassSelection.objects.filter(school_class__school=school).values_list("school_class__name", flat=True)),
    )


def active_groups(school) -> tuple[set[str], set[str]]:
    """(names of the school's active-year courses, names of its active-year classes)."""
    return (
        set(m.Course.objects.filter(school=school, year=school.active_year).values_list("name", flat=True)),
        set(m.SchoolClass.objects.filter(school=school, year=school.active_year).values_list("name", flat=True)),
    )


@pytest.mark.parametrize("persona", ["granted_admin", "support"])
def test_a_get_of_the_lis_pages_writes_nothing(persona, school_a, school_b, request):
    user = request.getfixturevalue(persona)
    for school in (school_a, school_b):
        f.CourseFactory(school=school, year=school.active_year, name=f"Chemistry {school.code}")
        f.SchoolClassFactory(school=school, year=school.active_year, name=f"Form 7 {school.code}")
    client = login(user)
    for url in (courses_url(), classes_url()):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        assert listed(response) == []  # groups without rows are not listed, and no row is made for them
        sql = [query["sql"].lstrip().upper() for query in ctx.captured_queries]
        assert [query for query in sql if query.startswith(("INSERT", "UPDATE", "DELETE")) and "LIS_" in query] == []
    assert not CourseSelection.objects.exists() and not ClassSelection.objects.exists()


def test_the_csv_import_creates_the_rows(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_oneroster_csv(BUNDLES / "valid-two-schools")
    for school in m.School.objects.all():
        assert rows_of(school) == active_groups(school)
    assert CourseSelection.objects.exists() and ClassSelection.objects.exists()
    assert not CourseSelection.objects.filter(sync=True).exists()


def test_the_rows_wait_for_the_import_to_commit():
    import_oneroster_csv(BUNDLES / "valid-two-schools")  # the test's transaction never commits
    assert not CourseSelection.objects.exists()


def test_the_demo_generator_creates_the_rows(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary = demo_school_create(students=60, teachers=6, today=dt.date(2026, 12, 1))
    courses, classes = rows_of(summary.school)
    assert (courses, classes) == active_groups(summary.school)
    assert len(courses) == summary.counts["myschool.Course"] and len(classes) == summary.counts["myschool.SchoolClass"]


def test_the_nightly_task_creates_the_missing_rows(school_a, school_b):
    for school in (school_a, school_b):
        f.CourseFactory(school=school, year=school.active_year, name=f"Chemistry {school.code}")
        f.SchoolClassFactory(school=school, year=school.active_year, name=f"Form 7 {school.code}")
    tasks.publish_nightly()
    assert rows_of(school_a) == ({"Chemistry A100"}, {"Form 7 A100"})
    assert rows_of(school_b) == ({"Chemistry B200"}, {"Form 7 B200"})


def test_changing_the_active_year_in_the_admin_creates_the_new_years_rows(
    school_a, support, django_capture_on_commit_callbacks
):
    next_year = f.AcademicYearFactory(
        school=school_a, name="2027/28", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31)
    )
    f.CourseFactory(school=school_a, year=next_year, name="Physics 28")
    f.SchoolClassFactory(school=school_a, year=next_year, name="Form 8 28")
    f.CourseFactory(school=school_a, year=school_a.active_year, name="Physics 27")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(support).post(
            reverse("admin:myschool_school_change", args=[school_a.pk]),
            {"name": school_a.name, "code": school_a.code, "group": "", "active_year": next_year.pk},
        )
    assert response.status_code == 302
    assert rows_of(school_a) == ({"Physics 28"}, {"Form 8 28"})


def test_a_course_added_in_the_admin_gets_its_row(school_a, support, django_capture_on_commit_callbacks):
    subject = f.SubjectFactory(school=school_a, name="Chemistry")
    data = {
        "school": school_a.pk,
        "year": school_a.active_year.pk,
        "subject": subject.pk,
        "name": "Chemistry 9",
        "code": "CH9",
        **{f"{prefix}-{key}": "0" for prefix in INLINES for key in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = login(support).post(reverse("admin:myschool_course_add"), data)
    assert response.status_code == 302
    assert rows_of(school_a) == ({"Chemistry 9"}, set())
