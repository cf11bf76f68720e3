"""Shared fixtures: the three personas (support, an admin of school A, an admin of school B)."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def school_a(db):
    school = f.SchoolFactory(name="Alder High", code="A100")
    school.active_year = f.AcademicYearFactory(school=school)
    school.save()
    return school


@pytest.fixture
def school_b(db):
    school = f.SchoolFactory(name="Birch Academy", code="B200")
    school.active_year = f.AcademicYearFactory(school=school)
    school.save()
    return school


@pytest.fixture
def support(db):
    return f.support_user(username="support")


@pytest.fixture
def admin_a(school_a):
    return f.school_admin(school_a, username="admin_a")


@pytest.fixture
def admin_b(school_b):
    return f.school_admin(school_b, username="admin_b")
