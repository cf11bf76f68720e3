"""The requests Microsoft School Data Sync makes, checked the way its provider tests check them (§6).

Full pull (``status='active'``, ``limit=5000``), delta pull (``dateLastModified>…`` returning
tombstones), SDS classic's endpoints and filters, unknown parents and ``norecords`` → 200 empty,
``X-Total-Count`` everywhere, ``Link`` headers, stable paging, and a constant number of SQL queries
per page whatever the page size.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lis.models import PublishedObject
from lis.oneroster import format_datetime

from oneroster_api.sds_check.rules import check_object as check_object_rules

from . import published as p

FULL_PULL = {
    "academicSessions": "academicSession",
    "orgs": "org",
    "users": "user",
    "classes": "class",
    "enrollments": "enrollment",
    "courses": "course",
    "demographics": "demographics",
}


def check_object(kind: str, obj: dict) -> None:
    """The checks of Microsoft's provider test collection for one object of ``kind`` (the rules
    ``sds_check`` applies, oneroster-1.1.md §3 and §6)."""
    assert check_object_rules(kind, obj) == [], obj



def all_pages(api, path: str, token: str, limit: int, **params) -> list[str]:
    """Every sourcedId of a collection, page by page, in order."""
    seen: list[str] = []
    offset = 0
    while True:
        response = api(path, token, limit=str(limit), offset=str(offset), **params)
        objects = response.json()[next(iter(response.json()))]
        seen += [obj["sourcedId"] for obj in objects]
        offset += limit
        if offset >= int(response["X-Total-Count"]):
            return seen


def links(response) -> dict[str, dict[str, list[str]]]:
    """``rel → parsed query`` of an RFC 8288 Link header; also checks the URLs are absolute."""
    found = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response["Link"]):
        assert url.startswith("http://testserver/ims/oneroster/v1p1/")
        found[rel] = parse_qs(urlsplit(url).query)
    return found


# full and delta pulls -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "kind"), FULL_PULL.items())
def test_full_pull(api, roster_a, roster_b, token_a, path, kind):
    response = api(path, token_a, filter="status='active'", offset="0", limit="5000")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    objects = response.json()[path]
    assert isinstance(objects, list) and objects
    assert response["X-Total-Count"] == str(len(objects))
    expected = PublishedObject.objects.filter(kind=kind, status="active").exclude(school=roster_b.school)
    assert sorted(o["sourcedId"] for o in objects) == sorted(expected.values_list("sourced_id", flat=True))
    for obj in objects:
        assert obj["status"] == "active"
        check_object(kind, obj)


@pytest.mark.django_db
def test_delta_pull_returns_changes_including_tombstones(api, roster_a, token_a):
    since = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)  # the store keeps milliseconds
    changed = since + dt.timedelta(hours=1)
    PublishedObject.objects.filter(sourced_id__in=[roster_a.s1, roster_a.e1]).update(date_last_modified=changed)
    PublishedObject.objects.filter(sourced_id=roster_a.e1).update(status="tobedeleted")
    PublishedObject.objects.filter(sourced_id=roster_a.k1).update(date_last_modified=since)  # not strictly after
    value = format_datetime(since)
    results = {}
    for path, kind in FULL_PULL.items():
        response = api(path, token_a, filter=f"dateLastModified>'{value}'", limit="5000")
        assert response.status_code == 200
        objects = response.json()[path]
        for obj in objects:
            check_object(kind, obj)
            assert value <= obj["dateLastModified"] <= format_datetime(timezone.now())
        results[path] = {obj["sourcedId"]: obj["status"] for obj in objects}
    assert results["users"] == {roster_a.s1: "active"}
    assert results["enrollments"] == {roster_a.e1: "tobedeleted"}
    assert results["classes"] == {}


@pytest.mark.django_db
def test_delta_of_one_role(api, roster_a, token_a):
    since = timezone.now() - dt.timedelta(hours=2)
    PublishedObject.objects.filter(sourced_id__in=[roster_a.s2, roster_a.te1]).update(date_last_modified=timezone.now())
    text = f"role='student' AND dateLastModified>'{format_datetime(since)}'"
    assert [u["sourcedId"] for u in api("users", token_a, filter=text).json()["users"]] == [roster_a.s2]


# SDS classic --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sds_classic_requests(api, roster_a, roster_b, token_a):
    school = roster_a.school.sourced_id
    for path, wrapper, kind in [
        ("schools", "orgs", "org"),
        (f"schools/{school}/classes", "classes", "class"),
        (f"schools/{school}/students", "users", "user"),
        (f"schools/{school}/teachers", "users", "user"),
        (f"schools/{school}/enrollments", "enrollments", "enrollment"),
        ("teachers", "users", "user"),
        ("students", "users", "user"),
    ]:
        response = api(path, token_a, limit="5000", offset="0")
        assert response.status_code == 200, path
        objects = response.json()[wrapper]
        assert objects and response["X-Total-Count"] == str(len(objects))
        for obj in objects:
            check_object(kind, obj)
    term = api(f"terms/{roster_a.t1}", token_a)
    assert term["X-Total-Count"] == "1"
    check_object("academicSession", term.json()["academicSession"])
    filters = {
        "academicSessions": ("schoolYear='2027' AND status='active'", 4),
        "users": (f"email='{roster_a.s1}@school.example'", 1),
        "teachers": (f"username='{roster_a.te1}'", 1),
        "enrollments": (f"sourcedId='{roster_a.e3}'", 1),
    }
    for path, (text, count) in filters.items():
        response = api(path, token_a, filter=text)
        assert response.status_code == 200
        assert response["X-Total-Count"] == str(count), (path, text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("academicSessions/a-y", "academicSession"),
        ("orgs/district-1", "org"),
        ("users/a-s1", "user"),
        ("classes/a-k1", "class"),
        ("enrollments/a-e5", "enrollment"),
        ("courses/a-c1", "course"),
        ("demographics/a-s1", "demographics"),
        ("students/a-s1", "user"),
        ("teachers/a-te1", "user"),
        ("gradingPeriods/a-gp1", "academicSession"),
        ("terms/a-t2", "academicSession"),
    ],
)
def test_single_object_gets(api, roster_a, token_a, path, kind):
    response = api(path, token_a)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Total-Count"] == "1"
    (obj,) = response.json().values()
    assert isinstance(obj, dict)
    check_object(kind, obj)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "schools/unknown/courses",
        "schools/unknown/classes",
        "schools/unknown/enrollments",
        "schools/unknown/students",
        "schools/unknown/teachers",
        "schools/unknown/terms",
        "schools/unknown/classes/unknown/enrollments",
        "schools/unknown/classes/unknown/students",
        "schools/unknown/classes/unknown/teachers",
        "schools/{school}/classes/unknown/students",
        "terms/unknown/classes",
        "terms/unknown/gradingPeriods",
        "courses/unknown/classes",
        "students/unknown/classes",
        "teachers/unknown/classes",
        "users/unknown/classes",
        "classes/unknown/students",
        "classes/unknown/teachers",
    ],
)
def test_sub_collections_of_unknown_parents_are_empty(api, roster_a, token_a, path):
    response = api(path.replace("{school}", roster_a.school.sourced_id), token_a)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Total-Count"] == "0"
    assert list(response.json().values()) == [[]]


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*FULL_PULL, "schools", "students", "teachers", "terms", "gradingPeriods"])
@pytest.mark.parametrize("text", ["status='norecords'", "sourcedId='norecords'"])
def test_norecords_filters_are_empty(api, roster_a, token_a, path, text):
    response = api(path, token_a, filter=text)
    assert response.status_code == 200
    assert response["X-Total-Count"] == "0"
    assert list(response.json().values()) == [[]]


# paging ---------------------------------------------------------------------------------------------


@pytest.fixture
def many_users(roster_a):
    for n in range(4, 12):
        p.user(roster_a.school, f"a-s{n:02d}", "student")  # same givenName and time: ties everywhere
    return roster_a


@pytest.mark.django_db
def test_offset_two_limit_one_is_a_new_record(api, many_users, token_a):
    seen = [api("users", token_a, offset=str(o), limit="1").json()["users"][0]["sourcedId"] for o in (0, 1)]
    third = api("users", token_a, offset="2", limit="1").json()["users"][0]["sourcedId"]
    assert third not in seen


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 2, 3, 5000])
@pytest.mark.parametrize("sort", [None, "givenName", "dateLastModified", "role", "enabledUser", "familyName"])
def test_paging_returns_every_record_exactly_once(api, many_users, token_a, limit, sort):
    params = {"sort": sort, "orderBy": "desc"} if sort else {}
    seen = all_pages(api, "users", token_a, limit, **params)
    expected = PublishedObject.objects.filter(kind="user", school=many_users.school).values_list(
        "sourced_id", flat=True
    )
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(expected)


@pytest.mark.django_db
def test_link_header(api, many_users, token_a):
    response = api("users", token_a, filter="role='student'", limit="3", offset="3")
    total = int(response["X-Total-Count"])
    assert total == 11
    found = links(response)
    assert {rel: q["offset"] for rel, q in found.items()} == {
        "first": ["0"],
        "prev": ["0"],
        "next": ["6"],
        "last": ["9"],
    }
    assert all(q["filter"] == ["role='student'"] and q["limit"] == ["3"] for q in found.values())
    assert set(links(api("users", token_a, limit="3")).keys()) == {"first", "next", "last"}
    assert set(links(api("users", token_a, limit="3", offset="9")).keys()) == {"first", "prev", "last"}
    assert links(api("users", token_a, limit="20000"))["first"]["limit"] == ["10000"]
    beyond = links(api("users", token_a, limit="3", offset="30"))
    assert (beyond["prev"]["offset"], beyond["last"]["offset"]) == (["9"], ["9"])
    assert links(api("users", token_a, filter="status='norecords'"))["last"]["offset"] == ["0"]


@pytest.mark.django_db
def test_limit_is_clamped_not_refused(api, many_users, token_a, settings):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "MAX_LIMIT": 4}
    response = api("users", token_a, limit="10000")
    assert response.status_code == 200
    assert len(response.json()["users"]) == 4
    assert response["X-Total-Count"] == "12"


# SQL per page --------------------------------------------------------------------------------------


def count_queries(api, path: str, token: str, **params) -> int:
    # The client's first request of a minute also records it for sync health (one UPDATE); count a later one.
    api(path, token, **params)
    with CaptureQueriesContext(connection) as queries:
        response = api(path, token, **params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "users",
        "enrollments",
        "classes",
        "orgs",
        "demographics",
        "academicSessions",
        "students",
        "schools/{school}/students",
        "schools/{school}/terms",
        "schools/{school}/classes/a-k1/students",
        "classes/a-k1/students",
        "terms/a-t1/classes",
        "users/a-s1/classes",
    ],
)
def test_sql_queries_per_page_do_not_depend_on_limit(api, roster_a, token_a, path):
    for n in range(40):
        p.enrollment(roster_a.school, f"a-extra-e{n}", user_id=f"a-x{n}", class_id=roster_a.k1, role="student")
        p.user(roster_a.school, f"a-x{n}", "student")
    path = path.replace("{school}", roster_a.school.sourced_id)
    small = count_queries(api, path, token_a, limit="10", filter="status='active'")
    large = count_queries(api, path, token_a, limit="5000", filter="status='active'")
    selected = count_queries(api, path, token_a, limit="5000", fields="sourcedId,status")
    # The token, the integration (with the store version), the page: the count and page boundaries
    # were read by count_queries' first request and are kept for this store version (issue 19,
    # oneroster_api.paging). /schools/{id}/terms reads the school table, so it counts every time.
    expected = 4 if path.endswith("/terms") else 3
    assert small == large == selected == expected


@pytest.mark.django_db
def test_sql_queries_of_a_single_object(api, roster_a, token_a):
    assert count_queries(api, f"users/{roster_a.s1}", token_a) == 3
