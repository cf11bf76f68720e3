"""The database's rendering of published objects equals the reference rendering (oneroster-1.1.md §3).

The API serves pages whose objects the database assembles as text (``render.ObjectJSON``); the
reference is the Python rendering (``rows`` + ``object_text`` + ``collection_body``) the API used
before and still uses for ``fields=``. Both must give the same records, the same keys in the same
order and the same values — compared after parsing with key order kept — on SQLite and
PostgreSQL, for generated payloads (hypothesis: quotes, backslashes, non-ASCII, text that looks
like an href, nested and listed GUIDRefs, empty payloads, whole-second times) and for real API
pages with filters, sorting, paging and sub-collections.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lis.models import PublishedObject
from lis.oneroster import BASE_PATH, guid_ref
from oneroster_api.endpoints import ENDPOINTS
from oneroster_api.query import parse_query
from oneroster_api.render import collection_body, collection_text, object_text, object_texts, rows, single_body
from oneroster_api.selectors import published_for_tenant
from oneroster_api.tenancy import tenant_of_application

from . import published as p

ORIGIN = "http://testserver"


def ordered(body: bytes | str):
    """Parsed JSON with every object as a list of (key, value) pairs, so key order counts."""
    return json.loads(body, object_pairs_hook=list)


def reference_page(queryset, wrapper: str, origin: str = ORIGIN) -> bytes:
    return collection_body(wrapper, [object_text(row) for row in rows(queryset)], origin)


def fast_page(queryset, wrapper: str, origin: str = ORIGIN) -> bytes:
    return collection_text(wrapper, object_texts(queryset, origin))


# generated objects ---------------------------------------------------------------------------------

# PostgreSQL text and jsonb cannot hold NUL; surrogates are not UTF-8.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
TRICKY = st.sampled_from(
    [f'"href": "{BASE_PATH}/users/x"', f'{{"href":"{BASE_PATH}/orgs/y"}}', "back\\slash", 'qu"ote', "é ü 中", "\n\t"]
)
KINDS = ["user", "class", "enrollment", "org", "course", "academicSession", "demographics"]
REF = st.builds(guid_ref, st.sampled_from(KINDS), st.one_of(TEXT, TRICKY))
SCALAR = st.one_of(TEXT, TRICKY, st.booleans(), st.integers(-(10**6), 10**6), st.none())
VALUE = st.recursive(
    st.one_of(SCALAR, REF),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
PAYLOAD = st.dictionaries(
    st.one_of(TEXT, st.sampled_from(["href", "user", "orgs", "title"])).filter(
        lambda key: key not in ("sourcedId", "status", "dateLastModified")
    ),
    VALUE,
    max_size=6,
)
MOMENT = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 12, 31), timezones=st.just(dt.UTC)
).map(lambda moment: moment.replace(microsecond=0) if moment.second % 3 == 0 else moment)
OBJECT = st.tuples(st.one_of(TEXT, TRICKY), st.sampled_from(["active", "tobedeleted"]), MOMENT, PAYLOAD)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(objects=st.lists(OBJECT, min_size=1, max_size=6, unique_by=lambda obj: obj[0]))
def test_database_rendering_equals_the_reference(objects):
    PublishedObject.objects.all().delete()
    PublishedObject.objects.bulk_create(
        PublishedObject(kind="user", sourced_id=sourced_id, status=status, date_last_modified=moment,
                        payload=payload, content_hash="0" * 64)  # fmt: skip
        for sourced_id, status, moment, payload in objects
    )
    queryset = PublishedObject.objects.order_by("sourced_id")
    assert ordered(fast_page(queryset, "users")) == ordered(reference_page(queryset, "users"))


@pytest.mark.django_db
def test_hrefs_become_absolute_everywhere_and_only_there():
    payload = {
        "note": f'"href": "{BASE_PATH}/users/not-a-ref"',
        "org": guid_ref("org", "o1"),
        "orgs": [guid_ref("org", "o1"), guid_ref("org", "o2")],
        "nested": {"deeper": [{"ref": guid_ref("user", "u9")}]},
    }
    p.publish("user", "u1", payload, school=None, modified=dt.datetime(2026, 9, 1, 12, 0, 5, 999999, tzinfo=dt.UTC))
    origin = 'https://api.example:8443'
    (text,) = object_texts(PublishedObject.objects.all(), origin)
    obj = json.loads(text)
    assert obj["sourcedId"] == "u1"
    assert obj["dateLastModified"] == "2026-09-01T12:00:05.999Z"  # milliseconds, truncated
    assert obj["note"] == f'"href": "{BASE_PATH}/users/not-a-ref"'  # a string value is left alone
    assert obj["org"]["href"] == f"{origin}{BASE_PATH}/orgs/o1"
    assert [ref["href"] for ref in obj["orgs"]] == [f"{origin}{BASE_PATH}/orgs/o1", f"{origin}{BASE_PATH}/orgs/o2"]
    assert obj["nested"]["deeper"][0]["ref"]["href"] == f"{origin}{BASE_PATH}/users/u9"
    assert list(obj)[:3] == ["sourcedId", "status", "dateLastModified"]


@pytest.mark.django_db
def test_an_empty_payload_is_the_three_columns():
    p.publish("user", "u0", {}, school=None, status="tobedeleted")
    (text,) = object_texts(PublishedObject.objects.all(), ORIGIN)
    assert json.loads(text) == {"sourcedId": "u0", "status": "tobedeleted", "dateLastModified": "2026-09-01T12:00:00.123Z"}
    row = next(iter(rows(PublishedObject.objects.all())))
    assert ordered(single_body("user", text, ORIGIN)) == ordered(single_body("user", object_text(row), ORIGIN))


# real API pages ------------------------------------------------------------------------------------

ENDPOINT = {endpoint.route: endpoint for endpoint in ENDPOINTS}


def reference_api_page(application, route: str, params: dict, **url_kwargs) -> bytes:
    """The page the API served before the database rendered it: same query, Python rendering."""
    endpoint = ENDPOINT[route]
    tenant = tenant_of_application(application.pk).tenant
    query = parse_query(endpoint.kind, params, default_limit=100, max_limit=5000)
    queryset = published_for_tenant(tenant, endpoint.kind, endpoint.subtype)
    if endpoint.join is not None:
        queryset = queryset.filter(endpoint.join(tenant, **url_kwargs))
    keys = queryset.filter(query.where).order_by(*query.ordering).values("pk")[query.offset : query.offset + query.limit]
    page = PublishedObject.objects.filter(pk__in=keys).order_by(*query.ordering)
    return reference_page(page, endpoint.wrapper)


@pytest.fixture
def varied_users(roster_a):
    for n, (given_name, family) in enumerate([("Zoë", "Ångström"), ('Ada "A"', "O'Neil"), ("Łukasz", "back\\slash")]):
        p.user(roster_a.school, f"a-v{n}", "student", given=given_name, family=family)
    p.user(roster_a.school, "a-v9", "student", status="tobedeleted", modified=dt.datetime(2026, 9, 2, tzinfo=dt.UTC))
    return roster_a


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "path", "params"),
    [
        ("users", "users", {}),
        ("users", "users", {"sort": "familyName", "orderBy": "desc"}),
        ("users", "users", {"filter": "status='active' AND givenName~'a'", "limit": "2", "offset": "1"}),
        ("students", "students", {"sort": "dateLastModified", "orderBy": "desc"}),
        ("enrollments", "enrollments", {"filter": "role='student'", "sort": "primary"}),
        ("classes", "classes", {}),
        ("orgs", "orgs", {}),
        ("academicSessions", "academicSessions", {"sort": "startDate"}),
        ("courses", "courses", {}),
        ("demographics", "demographics", {}),
        ("classes/<str:class_id>/students", "classes/a-k1/students", {"class_id": "a-k1"}),
        ("schools/<str:school_id>/students", "schools/{school}/students", {"school_id": "{school}"}),
    ],
)
def test_api_pages_equal_the_reference_rendering(api, varied_users, client_a, token_a, route, path, params):
    school = varied_users.school.sourced_id
    url_kwargs = {k: v.replace("{school}", school) for k, v in params.items() if k.endswith("_id")}
    query = {k: v for k, v in params.items() if not k.endswith("_id")}
    response = api(path.replace("{school}", school), token_a, **query)
    assert response.status_code == 200
    served = ordered(response.content)
    assert served == ordered(reference_api_page(client_a, route, query, **url_kwargs))
    assert served[0][1], "the page has records"


@pytest.mark.django_db
def test_single_object_equals_the_reference_rendering(api, varied_users, token_a):
    response = api("users/a-v0", token_a)
    row = next(iter(rows(PublishedObject.objects.filter(kind="user", sourced_id="a-v0"))))
    assert ordered(response.content) == ordered(single_body("user", object_text(row), ORIGIN))
    assert response.json()["user"]["familyName"] == "Ångström"


@pytest.mark.django_db
def test_fields_selection_still_picks_keys(api, varied_users, token_a):
    response = api("users", token_a, fields="givenName,sourcedId", sort="familyName", limit="2")
    assert [list(user) for user in response.json()["users"]] == [["sourcedId", "givenName"]] * 2


# deep pages are read from the end ------------------------------------------------------------------


@pytest.fixture
def sortable_users(roster_a):
    families = ["Berg", None, "Åberg", "berg", "Berg", None, "Zed", "Ábel", "Berg", "Cole", "Dahl"]
    for n, family in enumerate(families):
        payload = {"username": f"u{n}", "enabledUser": n % 3 != 0, "givenName": f"G{n % 4}", "role": "student",
                   "orgs": [guid_ref("org", roster_a.school.sourced_id)]}  # fmt: skip
        if family is not None:
            payload["familyName"] = family
        moment = dt.datetime(2026, 9, 1 + n % 4, tzinfo=dt.UTC)
        p.publish("user", f"a-p{n:02d}", payload, school=roster_a.school, modified=moment)
    return roster_a


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sort": "familyName"},
        {"sort": "familyName", "orderBy": "desc"},
        {"sort": "enabledUser", "orderBy": "desc"},
        {"sort": "dateLastModified"},
        {"sort": "sourcedId", "orderBy": "desc"},
        {"filter": "givenName='G1' OR givenName='G2'", "sort": "familyName"},
    ],
)
def test_every_page_matches_the_full_listing_whatever_its_depth(api, sortable_users, token_a, params):
    def ids(**paging):
        response = api("users", token_a, **params, **paging)
        assert response.status_code == 200
        return [user["sourcedId"] for user in response.json()["users"]], int(response["X-Total-Count"])

    everything, total = ids(limit="1000")
    assert total == len(everything) >= 6
    for limit in (1, 3, 5):
        for offset in range(total + 2):
            page, page_total = ids(limit=str(limit), offset=str(offset))
            assert page_total == total
            assert page == everything[offset : offset + limit], (limit, offset)


@pytest.mark.django_db
def test_a_deep_page_is_scanned_from_the_end(api, sortable_users, token_a):
    # An order other than sourcedId has no kept page boundaries (oneroster_api.paging): OFFSET from the nearer end.
    api("users", token_a)  # the once-a-minute sync-health UPDATE
    with CaptureQueriesContext(connection) as queries:
        total = int(api("users", token_a, limit="2", offset="0", sort="givenName")["X-Total-Count"])
        api("users", token_a, limit="2", offset=str(total - 2), sort="givenName")
    first, last = (q["sql"] for q in queries.captured_queries if '"lis_publishedobject"."id" IN' in q["sql"])
    assert "DESC" not in first
    assert "DESC" in last
