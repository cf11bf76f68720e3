"""Personas and rows of the LIS page tests (the shared ones live in tests/conftest.py).

- support: the "Support" group; sees every school.
- granted admin: administrator of school A in a group support granted both LIS features for A.
- ungranted admin: another administrator of school A, in no granted group.
- admin of B: administrator of school B, granted both features for B.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lis.models import ClassSelection, CourseSelection
from lis.selection.services import selections_sync
from tests import factories as f


@pytest.fixture
def granted_admin(school_a, admin_a):
    admin_a.groups.add(f.granted_group(school_a))
    return admin_a


@pytest.fixture
def ungranted_admin(school_a):
    return f.school_admin(school_a, username="ungranted_a")


@pytest.fixture
def admin_of_b(school_b, admin_b):
    admin_b.groups.add(f.granted_group(school_b))
    return admin_b


@pytest.fixture
def lis_rows(school_a, school_b):
    """Per school: two active-year courses and classes (one course with 3 students and 2 teachers,
    one without teacher), plus a course and a class of a past year that must never be listed."""
    made = {}
    for school in (school_a, school_b):
        code = school.code
        math = f.SubjectFactory(school=school, name=f"Math {code}")
        science = f.SubjectFactory(school=school, name=f"Science {code}")
        algebra = f.CourseFactory(
            school=school, year=school.active_year, subject=math, name=f"Algebra {code}", grade_levels="09,10"
        )
        f.CourseStudentFactory.create_batch(3, course=algebra)
        f.CourseTeacherFactory.create_batch(2, course=algebra)
        biology = f.CourseFactory(
            school=school, year=school.active_year, subject=science, name=f"Biology {code}", grade_levels="11"
        )
        f.CourseStudentFactory(course=biology)
        past = f.AcademicYearFactory(
            school=school, name="2025/26", start_date=dt.date(2025, 8, 1), end_date=dt.date(2026, 7, 31)
        )
        old_course = f.CourseFactory(school=school, year=past, subject=math, name=f"Old algebra {code}")
        form_9 = f.SchoolClassFactory(school=school, year=school.active_year, name=f"Form 9 {code}", grade_level="09")
        f.ClassStudentFactory.create_batch(3, school_class=form_9)
        f.ClassTeacherFactory.create_batch(2, school_class=form_9)
        form_10 = f.SchoolClassFactory(school=school, year=school.active_year, name=f"Form 10 {code}", grade_level="10")
        old_class = f.SchoolClassFactory(school=school, year=past, name=f"Old form {code}")
        made[code] = dict(
            algebra=algebra, biology=biology, old_course=old_course, form_9=form_9, form_10=form_10, old_class=old_class
        )
    selections_sync(model=CourseSelection)
    selections_sync(model=ClassSelection)
    return made

