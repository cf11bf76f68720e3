"""Pages cut at boundaries kept per store version (oneroster_api.paging): exact, and never stale (both databases).

The boundary stride is set to 2 here, so a roster of a dozen records already pages through kept
boundaries. Every page is compared with the store itself, read without the API's paging.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lis.models import PublishedObject, PublishedStoreVersion
from lis.publication import publish_school, tombstones_purge_expired
from myschool import models as m
from oneroster_api import paging
from oneroster_api.selectors import published_for_tenant
from oneroster_api.tenancy import tenant_of_application
from tests import factories as f
from tests.lis.publication_fixtures import small_school
from tests.oneroster_api import published as p

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stride(monkeypatch):
    monkeypatch.setattr(paging, "STRIDE", 2)
    return 2


@pytest.fixture
def many_users(roster_a):
    for n in range(11):
        p.user(roster_a.school, f"a-m{n:02d}", "student" if n % 3 else "teacher", status="tobedeleted" if n % 4 == 0 else "active")
    return roster_a


def store_ids(application, kind: str, *, descending: bool = False, **filters) -> list[str]:
    """The sourcedIds the tenant of ``application`` may see, straight from the store, in API order."""
    tenant = tenant_of_application(application.pk).tenant
    rows = published_for_tenant(tenant, kind).filter(**filters)
    return list(rows.order_by("-sourced_id" if descending else "sourced_id").values_list("sourced_id", flat=True))


def page(api, path: str, token: str, **params) -> tuple[list[str], int]:
    response = api(path, token, **params)
    assert response.status_code == 200, response.content
    wrapper = next(iter(response.json()))
    return [obj["sourcedId"] for obj in response.json()[wrapper]], int(response["X-Total-Count"])


def assert_every_page_is_the_store(api, path, token, expected: list[str], **params) -> None:
    for limit in (1, 2, 3, 5):
        for offset in range(len(expected) + 2):
            ids, total = page(api, path, token, limit=str(limit), offset=str(offset), **params)
            assert total == len(expected), (limit, offset)
            assert ids == expected[offset : offset + limit], (limit, offset)


@pytest.mark.parametrize(
    ("path", "params", "filters", "descending"),
    [
        ("users", {}, {}, False),
        ("users", {"filter": "status='active'"}, {"status": "active"}, False),
        ("users", {"sort": "sourcedId", "orderBy": "desc"}, {}, True),
        ("students", {"filter": "status='active'"}, {"status": "active", "subtype": "student"}, False),
        ("users", {"fields": "sourcedId,status"}, {}, False),
    ],
)
def test_every_page_is_the_slice_of_the_store(api, many_users, client_a, token_a, path, params, filters, descending):
    expected = store_ids(client_a, "user", descending=descending, **filters)
    assert len(expected) > 2 * 2  # pages beyond the first boundaries
    assert_every_page_is_the_store(api, path, token_a, expected, **params)


def test_a_sub_collection_pages_at_boundaries_too(api, many_users, client_a, token_a):
    school = many_users.school.sourced_id
    expected = sorted(
        store_ids(client_a, "user", subtype="student", references__name="orgs", references__sourced_id=school)
    )
    assert_every_page_is_the_store(api, f"schools/{school}/students", token_a, expected)


def count_queries(api, path, token, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api(path, token, **params).status_code == 200
    return len(queries)


def test_the_count_and_boundaries_are_read_once_per_store_version(api, many_users, token_a):
    api("orgs", token_a)  # the once-a-minute sync-health UPDATE
    # token, tenant (with the store version), count and boundaries, page; then the count is kept
    assert count_queries(api, "users", token_a, limit="3", offset="5") == 4
    assert count_queries(api, "users", token_a, limit="3", offset="7") == 3
    assert count_queries(api, "users", token_a, limit="5000") == 3
    p.user(many_users.school, "a-new", "student")  # a new store version
    assert count_queries(api, "users", token_a, limit="3", offset="5") == 4
    assert count_queries(api, "users", token_a, limit="3", offset="5") == 3
    # Orders other than sourcedId, and collections reading more than the store, count every time.
    assert count_queries(api, "users", token_a, sort="familyName") == 4
    assert count_queries(api, "users", token_a, sort="familyName") == 4
    assert count_queries(api, f"schools/{many_users.school.sourced_id}/terms", token_a) == 4
    assert count_queries(api, f"schools/{many_users.school.sourced_id}/terms", token_a) == 4


@pytest.mark.django_db
def test_every_store_table_has_its_version_triggers_after_migrating():
    # On SQLite a migration that alters a store column rebuilds the table and drops its triggers
    # (lis/migrations/0013_store_version_triggers_sqlite.py).
    tables = ("lis_publishedobject", "lis_publishedreference")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT event_object_table, event_manipulation FROM information_schema.triggers "
                "WHERE trigger_name LIKE %s", ["lis_published%_version"],
            )
            expected = {(table, event) for table in tables for event in ("INSERT", "UPDATE", "DELETE")}
        else:
            cursor.execute("SELECT tbl_name, upper(substr(name, length(tbl_name) + 10)) FROM sqlite_master WHERE type = 'trigger'")
            expected = {(table, event) for table in tables for event in ("INSERT", "UPDATE", "DELETE")}
        assert expected <= set(cursor.fetchall())


def test_every_write_to_the_store_gives_a_version_never_seen_before(many_users):
    seen = []

    def version():
        seen.append(PublishedStoreVersion.objects.get(pk=1).version)
        return seen[-1]

    version()
    obj = p.user(many_users.school, "a-v1", "student")  # INSERT (object and references)
    version()
    PublishedObject.objects.filter(pk=obj.pk).update(status="tobedeleted")
    version()
    with connection.cursor() as cursor:  # raw SQL, as the publication's apply writes
        cursor.execute("UPDATE lis_publishedobject SET subtype = %s WHERE id = %s", ["teacher", obj.pk])
    version()
    obj.references.all().delete()
    version()
    before = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        PublishedObject.objects.filter(pk=obj.pk).delete()
        rolled_back = version()
        raise RuntimeError("roll back")
    assert version() == before  # the rolled-back write's version went with it
    PublishedObject.objects.filter(pk=obj.pk).delete()
    assert version() not in (before, rolled_back)
    assert len(set(seen)) == len(seen) - 2  # only the two reads of `before` repeat


def test_a_publication_between_the_lookup_and_the_page_is_answered_from_a_fresh_count(
    api, many_users, client_a, token_a, monkeypatch
):
    from oneroster_api import views

    api("users", token_a, limit="3", offset="4")  # boundaries kept for this version
    real = views.page_body
    writes = []

    def page_body_after_a_commit(*args, **kwargs):
        if not writes:  # the store changes after the bounds were read, before the page
            before = len(connection.queries)
            p.user(many_users.school, "a-aaa", "student")
            PublishedObject.objects.filter(kind="user", sourced_id="a-m05").delete()
            writes.append(len(connection.queries) - before)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "page_body", page_body_after_a_commit)
    with CaptureQueriesContext(connection) as queries:
        ids, total = page(api, "users", token_a, limit="3", offset="4")
    expected = store_ids(client_a, "user")
    assert (ids, total) == (expected[4:7], len(expected))
    assert "a-aaa" in expected and "a-m05" not in expected
    # token, tenant, page (stale: another version); then the count and the page (its keys a subquery)
    assert len(queries) - writes[0] == 3 + 2


def test_an_empty_page_where_rows_were_promised_is_answered_again(api, many_users, client_a, token_a, monkeypatch):
    from oneroster_api import views

    _, total = page(api, "users", token_a, limit="2", offset="0")
    real = views.page_body

    def page_body_after_a_purge(*args, **kwargs):
        PublishedObject.objects.filter(kind="user", school=many_users.school).delete()
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "page_body", page_body_after_a_purge)
    assert page(api, "users", token_a, limit="2", offset=str(total - 1)) == ([], 0)


# SDS pulling while the store changes: a publication, a purge, a school leaving the tenant --------


def sds_pages(api, token, path: str, limit: int) -> list[tuple[int, list[str], int]]:
    """SDS's paging of ``path``: (offset, ids, X-Total-Count) per page until the total is reached."""
    pages, offset = [], 0
    while True:
        ids, total = page(api, path, token, limit=str(limit), offset=str(offset))
        pages.append((offset, ids, total))
        offset += limit
        if offset >= total:
            return pages


def assert_pull_is_the_store(api, token, application, kinds=(("users", "user"), ("enrollments", "enrollment"))):
    for path, kind in kinds:
        expected = store_ids(application, kind)
        pulled = sds_pages(api, token, path, 2)
        assert [sid for _offset, ids, _total in pulled for sid in ids] == expected, path
        assert {total for *_rest, total in pulled} == {len(expected)}, path


def test_sds_pulls_exactly_the_store_after_a_publication_a_purge_and_a_school_leaving(
    api, django_capture_on_commit_callbacks, settings
):
    small, other = small_school("SM1"), small_school("SM2")
    publish_school(small.school)
    publish_school(other.school)
    integration = p.integration(small.school, other.school)
    application = p.oauth_client(integration, name="SDS pages")
    token = p.bearer_token(application)
    assert_pull_is_the_store(api, token, application)

    # A publication: a new student in a ticked course, another one leaves.
    new = f.StudentFactory(school=small.school, birth_date=dt.date(2011, 5, 5), sex="female")
    m.CourseStudent.objects.create(course=small.courses[0], student=new)
    m.CourseStudent.objects.filter(course=small.courses[1], student=small.students[4]).delete()
    publish_school(small.school)
    assert new.sourced_id in store_ids(application, "user")
    assert_pull_is_the_store(api, token, application)

    # A purge of expired tombstones.
    tombstones = PublishedObject.objects.filter(status="tobedeleted")
    assert tombstones.exists()
    tombstones.update(date_last_modified=timezone.now() - dt.timedelta(days=400))
    assert tombstones_purge_expired() > 0
    assert_pull_is_the_store(api, token, application)

    # A school leaves the tenant: its records come back as the tenant's tombstones.
    with django_capture_on_commit_callbacks(execute=True):
        integration.schools.remove(small.school)
    assert_pull_is_the_store(api, token, application)


def test_a_pull_across_a_publication_sees_each_page_as_the_store_is_then(api, client_a, token_a, roster_a):
    for n in range(9):
        p.enrollment(roster_a.school, f"a-x{n}", user_id=roster_a.s1, class_id=roster_a.k1, role="student")
    offset, seen = 0, []
    while True:
        expected = store_ids(client_a, "enrollment")
        ids, total = page(api, "enrollments", token_a, limit="3", offset=str(offset))
        assert (ids, total) == (expected[offset : offset + 3], len(expected))
        seen += ids
        if offset == 3:  # mid-pull, a run commits: one record tombstoned, two added after the pull's position
            PublishedObject.objects.filter(kind="enrollment", sourced_id="a-x1").update(status="tobedeleted")
            p.enrollment(roster_a.school, "a-z1", user_id=roster_a.s1, class_id=roster_a.k1, role="student")
            p.enrollment(roster_a.school, "a-z2", user_id=roster_a.s1, class_id=roster_a.k1, role="student")
        offset += 3
        if offset >= total:
            break
    assert set(store_ids(client_a, "enrollment")) == set(seen)  # every record, the new ones too


def test_the_served_text_follows_every_write_to_the_row(api, many_users, token_a):
    """PostgreSQL serves the text a row trigger keeps with each row (lis migration 0010); it must follow every write."""
    from lis.oneroster import BASE_PATH
    from oneroster_api.render import absolute_hrefs, object_text, rows

    obj = p.user(many_users.school, "a-w1", "student")

    def assert_served_as_the_row_is():
        (row,) = rows(PublishedObject.objects.filter(pk=obj.pk))
        expected = json.loads(absolute_hrefs(object_text(row), "http://testserver"))
        single = api("users/a-w1", token_a).json()["user"]
        listed = [u for u in api("users", token_a, limit="100").json()["users"] if u["sourcedId"] == "a-w1"]
        assert single == listed[0] == expected
        assert f'"href": "http://testserver{BASE_PATH}/orgs/' in json.dumps(single, separators=(",", ": "))

    assert_served_as_the_row_is()
    PublishedObject.objects.filter(pk=obj.pk).update(status="tobedeleted", date_last_modified=p.T0 + dt.timedelta(days=3))
    assert_served_as_the_row_is()
    with connection.cursor() as cursor:  # as the publication's apply writes: set-based SQL
        cursor.execute(
            "UPDATE lis_publishedobject SET payload = %s, status = 'active' WHERE id = %s",
            [json.dumps({**obj.payload, "givenName": "Zoë \"Z\" \\ Ng"}), obj.pk],
        )
    assert_served_as_the_row_is()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rendered FROM lis_publishedobject WHERE id = %s", [obj.pk])
            assert "Zo\u00eb" in cursor.fetchone()[0]
            # A row written before the trigger existed has no text: the query renders it.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks before ALTER TABLE
            cursor.execute("ALTER TABLE lis_publishedobject DISABLE TRIGGER lis_publishedobject_render")
            cursor.execute("UPDATE lis_publishedobject SET rendered = NULL, status = 'tobedeleted' WHERE id = %s", [obj.pk])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE lis_publishedobject ENABLE TRIGGER lis_publishedobject_render")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert_served_as_the_row_is()
