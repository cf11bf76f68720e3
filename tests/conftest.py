"""Shared fixtures: the three personas (support, an admin of school A, an admin of school B).

Transactional tests (``live_server``, ``transactional_db``, ``django_db(transaction=True)``) end by
emptying every table, which also removes the rows data migrations made (the *Support* and
*School administrators* groups and their permissions). Each of them therefore starts from the
database as migrations left it (Django's ``serialized_rollback``), whatever ran before it.
"""

from __future__ import annotations

import pytest

from tests import factories as f


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = {"live_server", "transactional_db"} & set(getattr(item, "fixturenames", ()))
        if marker is not None and marker.kwargs.get("transaction"):
            transactional = True
        if transactional and getattr(item, "cls", None) is None:
            kwargs = dict(marker.kwargs) if marker is not None else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


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
