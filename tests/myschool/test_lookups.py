"""``field__any_of``: a long list of strings as one array parameter on PostgreSQL, IN elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from myschool import models as m
from myschool.lookups import IN_CHUNK, in_chunks
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_any_of_matches_exactly_the_listed_values():
    school = f.SchoolFactory()
    students = [f.StudentFactory(school=school, username=f"pupil{n}") for n in range(5)]
    wanted = [students[1].username, students[3].username, "nobody", None]
    found = m.Student.objects.filter(username__any_of=wanted).values_list("username", flat=True)
    assert sorted(found) == ["pupil1", "pupil3"]
    assert not m.Student.objects.filter(username__any_of=[]).exists()
    assert m.Student.objects.exclude(username__any_of=["pupil0"]).count() == 4


def test_a_long_list_is_one_parameter_on_postgresql():
    school = f.SchoolFactory()
    f.StudentFactory(school=school, username="pupil-last")
    values = [f"missing-{n:05}" for n in range(5000)] + ["pupil-last"]
    lists = in_chunks(values)
    assert [len(chunk) for chunk in lists] == ([5001] if connection.vendor == "postgresql" else [IN_CHUNK, IN_CHUNK, 1001])
    assert sum(lists, []) == sorted(values)
    with CaptureQueriesContext(connection) as queries:
        found = [u for chunk in lists for u in m.Student.objects.filter(username__any_of=chunk).values_list("username", flat=True)]
    assert found == ["pupil-last"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"] and len(queries) == 1
    assert in_chunks([]) == []
