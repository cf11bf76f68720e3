"""The query language on its own (oneroster-1.1.md §4–§5): grammar, fields, compiled queries, paging.

Grammar tests are pure; compiled-query tests run the ``Q`` objects against the database to prove
the same rows come back on SQLite and PostgreSQL. Each malformed filter is also sent through the
HTTP layer, where it must give a 400 envelope and no data.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lis.models import PublishedObject
from oneroster_api.query import (
    Clause,
    Filter,
    QueryError,
    compile_filter,
    compile_ordering,
    parse_datetime_value,
    parse_fields,
    parse_filter,
    parse_paging,
    parse_query,
)
from oneroster_api.query.grammar import MAX_FILTER_LENGTH

from . import published as p

# (kind, filter) pairs that must be refused with invalid_filter_field.
MALFORMED = [
    ("user", "status='active"),
    ("user", "status=active'"),
    ("user", "status=active"),
    ("user", 'status="active"'),
    ("user", "status='active' AND role='student' AND username='x'"),
    ("user", "status='active' AND role='student' OR username='x'"),
    ("user", "sourcedId='a' OR sourcedId='b' OR sourcedId='c'"),
    ("user", "status='active' and role='student'"),
    ("user", "status='active' or role='student'"),
    ("user", "status='active'AND role='student'"),
    ("user", "status='active' ANDrole='student'"),
    ("user", "status='active' AND"),
    ("user", "AND status='active'"),
    ("user", "unknownField='x'"),
    ("user", "Status='active'"),
    ("user", "password='x'"),
    ("user", "status=''"),
    ("user", "status='active' AND role=''"),
    ("user", "status='active' OR '1'='1'"),
    ("user", "' OR '1'='1"),
    ("user", "status='active' OR 1=1"),
    ("user", "sourcedId='x'; DROP TABLE lis_publishedobject; --"),
    ("user", "naïve='x'"),
    ("user", "status=’active’"),
    ("user", "status＝'active'"),
    ("user", "sourcedId='" + "x" * 10240 + "'"),
    ("user", "status=='active'"),
    ("user", "status=!'active'"),
    ("user", "status 'active'"),
    ("user", "='active'"),
    ("user", "status~~'a'"),
    ("user", "status<>'a'"),
    ("class", "school.name='x'"),
    ("class", "school.sourcedId.x='y'"),
    ("class", ".sourcedId='x'"),
    ("user", "status='a'\x00"),
    ("user", "sourcedId='\x00'"),
    ("user", "status='active'\n"),
    ("user", "enabledUser='yes'"),
    ("user", "enabledUser='TRUE'"),
    ("user", "enabledUser>'true'"),
    ("user", "enabledUser~'t'"),
    ("user", "dateLastModified>'yesterday'"),
    ("user", "dateLastModified>'2026-13-01T00:00:00Z'"),
    ("user", "dateLastModified>'2026-01-01T25:00:00.000Z'"),
    ("user", "dateLastModified~'2026'"),
    ("user", "dateLastModified>'9999-12-31T23:59:59-14:00'"),  # after 9999 in UTC
    ("enrollment", "dateLastModified<'0001-01-01T00:00:00+14:00'"),  # before year 1 in UTC
    ("class", "dateLastModified>='9999-12-31T23:59:59.999999-00:01'"),
    ("user", "(status='active')"),
    ("user", "status='active' OR (role='x')"),
    ("user", "status IN ('a','b')"),
    ("user", "status='it's'"),
    ("user", "status='active' XOR role='student'"),
    ("user", "status='active' && role='student'"),
    ("user", "orgs='x'"),
    ("user", "grades='09'"),
    ("user", "status=%27active%27"),
    ("course", "schoolYear='2027'"),
    ("enrollment", "primary='1'"),
]

PATH_OF_KIND = {"user": "users", "class": "classes", "course": "courses", "enrollment": "enrollments"}


# grammar ---------------------------------------------------------------------------------------


def test_there_are_at_least_forty_malformed_filters():
    assert len(MALFORMED) >= 40


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "text"), MALFORMED, ids=[repr(t)[:60] for _, t in MALFORMED])
def test_malformed_filter_is_refused(kind, text):
    with pytest.raises(QueryError) as caught:
        compile_filter(kind, parse_filter(text))
    assert caught.value.code_minor == "invalid_filter_field"
    assert caught.value.description


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status='active'", Filter((Clause("status", "=", "active"),))),
        ("familyName='O''Brien'", Filter((Clause("familyName", "=", "O'Brien"),))),
        ("title='Rock AND Roll'", Filter((Clause("title", "=", "Rock AND Roll"),))),
        ("title=' OR x=''y'''", Filter((Clause("title", "=", " OR x='y'"),))),
        ("givenName='Zoë'", Filter((Clause("givenName", "=", "Zoë"),))),
        ("  status = 'active'  ", Filter((Clause("status", "=", "active"),))),
        ("school.sourcedId='s1'", Filter((Clause("school.sourcedId", "=", "s1"),))),
        (
            "role='student' AND dateLastModified>'2026-01-01T00:00:00.000Z'",
            Filter(
                (Clause("role", "=", "student"), Clause("dateLastModified", ">", "2026-01-01T00:00:00.000Z")), "AND"
            ),
        ),
        ("a!='1' OR b>='2'", Filter((Clause("a", "!=", "1"), Clause("b", ">=", "2")), "OR")),
        ("a<='1'", Filter((Clause("a", "<=", "1"),))),
        ("a<'1'", Filter((Clause("a", "<", "1"),))),
        ("a~'x'", Filter((Clause("a", "~", "x"),))),
    ],
)
def test_filter_grammar(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text", [None, "", "   "])
def test_blank_filter_is_no_filter(text):
    assert parse_filter(text) is None


def test_filter_length_limit():
    value = "x" * (MAX_FILTER_LENGTH - len("sourcedId=''"))
    assert parse_filter(f"sourcedId='{value}'").clauses[0].value == value
    with pytest.raises(QueryError):
        parse_filter(f"sourcedId='{value}x'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00.000Z", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("2026-01-01T00:00:00Z", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("2026-01-01T01:00:00+01:00", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("2026-01-01T00:00:00.5", dt.datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC)),
        ("2026-01-01", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        ("9999-12-31T23:59:59Z", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
        ("0001-01-01T00:00:00-14:00", dt.datetime(1, 1, 1, 14, tzinfo=dt.UTC)),
    ],
)
def test_times_accept_the_spec_format_and_iso_variants(text, expected):
    assert parse_datetime_value(text) == expected


# fields, sort, paging ----------------------------------------------------------------------------


def test_fields_selection_keeps_object_order_and_warns_on_unknown():
    assert parse_fields("user", "givenName, sourcedId") == (("sourcedId", "givenName"), [])
    assert parse_fields("user", None) == (None, [])
    fields, warnings = parse_fields("user", "sourcedId,shoeSize")
    assert fields is None
    assert [w.code_minor for w in warnings] == ["invalid_selection_field"]


@pytest.mark.parametrize("raw", ["", " ", ",", " , "])
def test_blank_fields_is_an_error(raw):
    with pytest.raises(QueryError) as caught:
        parse_fields("user", raw)
    assert caught.value.code_minor == "invalid_blank_selection_field"


@pytest.mark.django_db
def test_unknown_sort_field_warns_and_keeps_default_order():
    ordering, warnings = compile_ordering("user", "shoeSize", None)
    assert [w.code_minor for w in warnings] == ["invalid_sort_field"]
    assert len(ordering) == 1
    _, warnings = compile_ordering("user", "familyName", "sideways")
    assert [w.code_minor for w in warnings] == ["invalid_sort_field"]
    _, warnings = compile_ordering("user", "orgs.sourcedId", None)
    assert [w.code_minor for w in warnings] == ["invalid_sort_field"]


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (None, None, (100, 0)),
        ("5000", "0", (5000, 0)),
        ("10000", "20", (10000, 20)),
        ("10001", None, (10000, 0)),
        ("99999999999999999999", "99999999999999999999", (10000, 10**15)),
        ("1", "", (1, 0)),
    ],
)
def test_paging_defaults_and_clamping(limit, offset, expected):
    assert parse_paging(limit, offset, default_limit=100, max_limit=10_000) == expected


@pytest.mark.parametrize(
    ("limit", "offset"),
    [("0", None), ("-1", None), ("ten", None), ("1.5", None), (None, "-3"), (None, "x"), ("٥", None)],
)
def test_bad_paging_is_invalid_data(limit, offset):
    with pytest.raises(QueryError) as caught:
        parse_paging(limit, offset, default_limit=100, max_limit=10_000)
    assert caught.value.code_minor == "invaliddata"


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [
        ("-5", None, "limit must be at least 1."),
        ("0", None, "limit must be at least 1."),
        (None, "-3", "offset must be at least 0."),
        ("ten", None, "limit must be a whole number, not 'ten'."),
    ],
)
def test_paging_errors_say_what_is_wrong(limit, offset, message):
    with pytest.raises(QueryError, match=f"^{message}$"):
        parse_paging(limit, offset, default_limit=100, max_limit=10_000)


@pytest.mark.django_db
def test_parse_query_collects_everything():
    query = parse_query(
        "user",
        {
            "filter": "role='student'",
            "sort": "nope",
            "fields": "sourcedId,nope",
            "limit": "7",
            "offset": "3",
            "other": "x",
        },
        default_limit=100,
        max_limit=10_000,
    )
    assert (query.limit, query.offset, query.fields) == (7, 3, None)
    assert sorted(w.code_minor for w in query.warnings) == ["invalid_selection_field", "invalid_sort_field"]


# compiled queries against the database -----------------------------------------------------------


@pytest.fixture
def people(school_a):
    """Users with awkward values: non-ASCII, missing keys, LIKE wildcards, booleans."""
    rows = [
        ("u1", "Élodie", "Zeta", True),
        ("u2", "élise", "alpha", False),
        ("u3", "Zoë", "Mu", True),
        ("u4", "100%_sure", "Mu", True),
        ("u5", "Bob", "beta", None),
    ]
    for sourced_id, given, family, enabled in rows:
        obj = p.user(school_a, sourced_id, "student", given=given, family=family)
        if enabled is None:
            del obj.payload["enabledUser"]
            del obj.payload["middleName"]
        else:
            obj.payload["enabledUser"] = enabled
        if sourced_id == "u2":
            obj.payload["username"] = "Élise.m"
        obj.date_last_modified = dt.datetime(2026, 1, int(sourced_id[1]), 8, 0, 0, 250000, tzinfo=dt.UTC)
        obj.save()
    return school_a


def matching(kind: str, text: str, **ordering) -> list[str]:
    queryset = PublishedObject.objects.filter(kind=kind).filter(compile_filter(kind, parse_filter(text)))
    order, _ = compile_ordering(kind, ordering.get("sort"), ordering.get("orderBy"))
    return list(queryset.order_by(*order).values_list("sourced_id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("givenName~'ÉL'", ["u1", "u2"]),
        ("givenName~'zoË'", ["u3"]),
        ("givenName~'%'", ["u4"]),
        ("givenName~'_'", ["u4"]),
        ("givenName='élise'", ["u2"]),
        ("givenName='Élise'", []),
        ("familyName>'Z'", ["u1", "u2", "u5"]),
        ("familyName>'Zz'", ["u2", "u5"]),
        ("familyName<'M'", []),
        ("familyName<='Mu'", ["u3", "u4"]),
        ("enabledUser='true'", ["u1", "u3", "u4"]),
        ("enabledUser='false'", ["u2"]),
        ("enabledUser!='true'", ["u2", "u5"]),
        ("middleName!='x'", ["u1", "u2", "u3", "u4", "u5"]),
        ("middleName=''", None),
        ("sourcedId='u3' OR familyName='beta'", ["u3", "u5"]),
        ("familyName='Mu' AND givenName~'zo'", ["u3"]),
        ("dateLastModified>'2026-01-03T08:00:00.250Z'", ["u4", "u5"]),
        ("dateLastModified>='2026-01-03T08:00:00.250Z'", ["u3", "u4", "u5"]),
        ("dateLastModified='2026-01-03T08:00:00.250Z'", ["u3"]),
        ("dateLastModified!='2026-01-03T08:00:00.250Z'", ["u1", "u2", "u4", "u5"]),
        ("dateLastModified<'2026-01-02'", ["u1"]),
        ("dateLastModified<'2026-01-02T09:00:00+01:00'", ["u1"]),
        ("dateLastModified<'9999-12-31T23:59:59.999999Z'", ["u1", "u2", "u3", "u4", "u5"]),
        ("dateLastModified>'0001-01-01T00:00:00-14:00'", ["u1", "u2", "u3", "u4", "u5"]),
        ("dateLastModified<'0001-01-01T00:00:00Z'", []),
        ("orgs.sourcedId='nope'", []),
        ("sourcedId~'U'", ["u1", "u2", "u3", "u4", "u5"]),
        ("status='norecords'", []),
        ("role='student'", ["u1", "u2", "u3", "u4", "u5"]),
        # email and username: = and != ignore case, Unicode included (issue 14); other predicates do not.
        ("email='U3@SCHOOL.example'", ["u3"]),
        ("email!='U3@SCHOOL.EXAMPLE'", ["u1", "u2", "u4", "u5"]),
        ("username='U1' OR username='élise.M'", ["u1", "u2"]),
        ("username='ÉLISE.m'", ["u2"]),
        ("username!='ÉLISE.M'", ["u1", "u3", "u4", "u5"]),
        ("email>'U'", ["u1", "u2", "u3", "u4", "u5"]),
    ],
)
def test_filters_match_the_same_rows_on_every_database(people, text, expected):
    if expected is None:
        with pytest.raises(QueryError):
            matching("user", text)
        return
    assert matching("user", text) == expected


@pytest.mark.django_db
def test_list_reference_filters(people):
    school_sid = people.sourced_id
    assert matching("user", f"orgs.sourcedId='{school_sid}'") == ["u1", "u2", "u3", "u4", "u5"]
    assert matching("user", f"orgs.sourcedId!='{school_sid}'") == []
    assert matching("user", f"orgs.sourcedId~'{school_sid[:8].upper()}'") == ["u1", "u2", "u3", "u4", "u5"]


@pytest.mark.django_db
def test_sorting_is_by_code_point_with_ties_broken_by_sourced_id(people):
    # Code-point order: upper case before lower case, missing values first ascending.
    assert matching("user", "role='student'", sort="familyName") == ["u3", "u4", "u1", "u2", "u5"]
    assert matching("user", "role='student'", sort="familyName", orderBy="desc") == ["u5", "u2", "u1", "u3", "u4"]
    assert matching("user", "role='student'", sort="enabledUser") == ["u5", "u2", "u1", "u3", "u4"]
    assert matching("user", "role='student'", sort="enabledUser", orderBy="desc") == ["u1", "u3", "u4", "u2", "u5"]
    assert matching("user", "role='student'", sort="dateLastModified", orderBy="desc") == ["u5", "u4", "u3", "u2", "u1"]
    assert matching("user", "role='student'", sort="sourcedId", orderBy="desc") == ["u5", "u4", "u3", "u2", "u1"]


# through HTTP ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "text"), MALFORMED, ids=[repr(t)[:60] for _, t in MALFORMED])
def test_malformed_filter_gives_a_400_envelope(api, token_a, kind, text):
    response = api(PATH_OF_KIND[kind], token_a, filter=text)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "invalid_filter_field"
    assert PATH_OF_KIND[kind] not in body
