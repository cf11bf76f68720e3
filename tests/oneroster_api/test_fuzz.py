"""Property-based fuzzing of the query parameters and ids (hypothesis): never a 500, always the envelope.

Random ``filter`` (well-formed clauses on real and unknown fields, and arbitrary text), ``sort``,
``orderBy``, ``fields``, ``limit`` and ``offset`` values, on collections, sub-collections and
single objects with arbitrary ids. Whatever comes in, the answer is a 200 with the wrapper key,
or a 4xx in the OneRoster error envelope (oneroster-1.1.md §4–§5). Example counts are bounded
and there is no database per example (the roster is read-only here), so the run stays well under
a minute on SQLite and PostgreSQL; failing examples are replayed from hypothesis's database.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_api.endpoints import COLLECTIONS, SINGULAR
from oneroster_api.query.fields import FIELDS, SELECTABLE

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text a query string can carry: every code point but surrogates (which UTF-8 cannot encode).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
KNOWN_FIELDS = sorted({name for fields in FIELDS.values() for name in fields} | {n for s in SELECTABLE.values() for n in s})
FIELD = st.one_of(st.sampled_from(KNOWN_FIELDS + ["nope", "orgs.nope", "a.b.c", ""]), TEXT)
PREDICATE = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "~", "==", "<>", ""])
VALUE = st.one_of(
    st.sampled_from(["active", "tobedeleted", "2026-01-01T00:00:00.000Z", "2026-13-45", "true", "false", "", "'"]),
    TEXT,
)


@st.composite
def clauses(draw) -> str:
    value = draw(VALUE).replace("'", draw(st.sampled_from(["''", "'"])))
    spaces = draw(st.sampled_from(["", " ", "  "]))
    return f"{draw(FIELD)}{spaces}{draw(PREDICATE)}{spaces}'{value}'"


FILTER = st.one_of(
    clauses(),
    st.builds(lambda a, op, b: f"{a}{op}{b}", clauses(), st.sampled_from([" AND ", " OR ", " and ", "AND", " XOR "]), clauses()),
    TEXT,
)
NUMBER = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str), st.sampled_from(["", " 5", "1e3", "0x10", "-0"]), TEXT
)
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "filter": FILTER,
        "sort": FIELD,
        "orderBy": st.one_of(st.sampled_from(["asc", "desc", "DESC", ""]), TEXT),
        "fields": st.one_of(st.lists(FIELD, max_size=5).map(",".join), TEXT),
        "limit": NUMBER,
        "offset": NUMBER,
    },
)
ID = st.one_of(st.sampled_from(["a-s1", "a-k1", "a-t1", "norecords", "b-s1"]), TEXT.filter(lambda s: s.strip("/.")))


def assert_well_formed(response) -> None:
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert body["imsx_codeMajor"] == "failure"
        assert body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    else:
        assert len(set(body) - {"statusInfoSet"}) == 1


@pytest.fixture
def fuzz_api(api, roster_a, roster_b, token_a, settings):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "API_RATE": "100000/min"}
    return lambda path, params: api(path, token_a, **params)


@pytest.mark.django_db
@FUZZ
@given(path=st.sampled_from(sorted(COLLECTIONS)), params=PARAMS)
def test_collection_queries_never_fail(fuzz_api, path, params):
    response = fuzz_api(path, params)
    assert_well_formed(response)
    if response.status_code == 200:
        assert isinstance(json.loads(response.content)[COLLECTIONS[path][2]], list)


SUB_PATHS = [
    "schools/{id}/classes", "schools/{id}/students", "schools/{id}/enrollments", "schools/{id}/terms",
    "schools/{id}/classes/{id}/students", "terms/{id}/classes", "courses/{id}/classes", "users/{id}/classes",
    "classes/{id}/students", "classes/{id}/teachers",
]  # fmt: skip


@pytest.mark.django_db
@FUZZ
@given(
    route=st.one_of(st.sampled_from(SUB_PATHS), st.sampled_from(sorted(COLLECTIONS)).map(lambda c: c + "/{id}")),
    ids=st.lists(ID, min_size=2, max_size=2),
    params=PARAMS,
)
def test_ids_and_sub_collections_never_fail(fuzz_api, route, ids, params):
    from urllib.parse import quote

    path = route.replace("{id}", quote(ids[0], safe=""), 1).replace("{id}", quote(ids[1], safe=""))
    response = fuzz_api(path, params)
    assert_well_formed(response)
    if route.endswith("/{id}") and response.status_code == 200:
        kind = COLLECTIONS[route.split("/")[0]][0]
        assert isinstance(json.loads(response.content)[SINGULAR[kind]], dict)
