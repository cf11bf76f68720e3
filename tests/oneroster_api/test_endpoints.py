"""Every endpoint × (no token, token without the scope, another tenant's token, valid token), plus
tenant isolation, the error envelope on every failure, and the paths the API does not serve.

The matrix is generated from :data:`oneroster_api.endpoints.ENDPOINTS`, so a new endpoint is
tested without anyone remembering to.
"""

from __future__ import annotations

import pytest

from lis.models import PublishedObject
from oneroster_api.conf import DEMOGRAPHICS, ROSTER, ROSTER_CORE
from oneroster_api.endpoints import ENDPOINTS

from . import published as p

SAMPLE_ID = {
    "academicSessions": "y",
    "classes": "k1",
    "courses": "c1",
    "demographics": "s1",
    "enrollments": "e1",
    "gradingPeriods": "gp1",
    "students": "s1",
    "teachers": "te1",
    "terms": "t1",
    "users": "s1",
}


def path_for(endpoint, roster) -> str:
    """A URL path (under the base) that names tenant A's objects for ``endpoint``'s parameters."""
    collection = endpoint.route.split("/")[0]
    values = {
        "school_id": roster.school.sourced_id,
        "class_id": roster.k1,
        "term_id": roster.t1,
        "course_id": roster.c1,
        "user_id": roster.te1 if collection == "teachers" else roster.s1,
    }
    if endpoint.single:
        values["sourced_id"] = {"orgs": roster.district, "schools": roster.school.sourced_id}.get(
            collection
        ) or getattr(roster, SAMPLE_ID[collection])
    path = endpoint.route
    for name, value in values.items():
        path = path.replace(f"<str:{name}>", value)
    return path


def code_minor(response) -> str:
    return response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]


def wrong_scope(endpoint) -> tuple[str, ...]:
    return (ROSTER_CORE, ROSTER) if endpoint.kind == "demographics" else (DEMOGRAPHICS,)


ENDPOINT_IDS = [e.route for e in ENDPOINTS]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_without_token_401(api, roster_a, endpoint):
    response = api(path_for(endpoint, roster_a))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert code_minor(response) == "unauthorisedrequest"


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_token_without_the_scope_403(api, roster_a, client_a, endpoint):
    response = api(path_for(endpoint, roster_a), p.bearer_token(client_a, *wrong_scope(endpoint)))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert code_minor(response) == "forbidden"


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_another_tenants_token_sees_none_of_its_records(api, roster_a, roster_b, token_b, endpoint):
    response = api(path_for(endpoint, roster_a), token_b)
    if endpoint.single:
        assert response.status_code == 404
        assert code_minor(response) == "unknownobject"
        return
    assert response.status_code == 200
    objects = response.json()[endpoint.wrapper]
    if endpoint.join is not None:  # a sub-collection of A's parent object
        assert objects == []
        assert response["X-Total-Count"] == "0"
    else:  # B's own records only (B shares no demographics)
        assert objects or endpoint.kind == "demographics"
        assert all(
            obj["sourcedId"].startswith("b-") or obj["sourcedId"] == roster_b.school.sourced_id for obj in objects
        )


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_valid_token_reads_own_records(api, roster_a, roster_b, token_a, endpoint):
    response = api(path_for(endpoint, roster_a), token_a)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == [endpoint.wrapper]
    objects = [body[endpoint.wrapper]] if endpoint.single else body[endpoint.wrapper]
    assert objects, "tenant A has data on every endpoint"
    assert response["X-Total-Count"] == ("1" if endpoint.single else str(len(objects)))
    own = set(PublishedObject.objects.filter(school=roster_a.school).values_list("sourced_id", flat=True)) | {
        roster_a.district
    }
    assert {obj["sourcedId"] for obj in objects} <= own
    if endpoint.subtype:
        key = "role" if endpoint.kind in ("user", "enrollment") else "type"
        assert {obj[key] for obj in objects} == {endpoint.subtype}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("schools/{school}/terms", ["a-t1", "a-t2"]),
        ("schools/{school}/students", ["a-s1", "a-s2", "a-s3"]),
        ("schools/{school}/teachers", ["a-te1"]),
        ("schools/{school}/classes/a-k1/enrollments", ["a-e1", "a-e2", "a-e3"]),
        ("schools/{school}/classes/a-k1/students", ["a-s1", "a-s2"]),
        ("schools/{school}/classes/a-k2/students", ["a-s3"]),  # a-e5 (s2 → k2) is tobedeleted
        ("classes/a-k2/students", ["a-s3"]),
        ("classes/a-k1/teachers", ["a-te1"]),
        ("terms/a-t2/classes", ["a-k2"]),
        ("terms/a-t1/gradingPeriods", ["a-gp1"]),
        ("courses/a-c1/classes", ["a-k1", "a-k2"]),
        ("students/a-s2/classes", ["a-k1"]),
        ("students/a-te1/classes", []),
        ("teachers/a-te1/classes", ["a-k1"]),
        ("users/a-s3/classes", ["a-k2"]),
        ("orgs", ["district-1", "{school}"]),
        ("schools", ["{school}"]),
        ("gradingPeriods", ["a-gp1"]),
        ("academicSessions", ["a-gp1", "a-t1", "a-t2", "a-y"]),
        ("demographics", ["a-s1", "a-s2"]),
    ],
)
def test_sub_collections_join_to_their_parent(api, roster_a, roster_b, token_a, path, expected):
    school = roster_a.school.sourced_id
    response = api(path.replace("{school}", school), token_a, sort="sourcedId")
    wrapper = next(iter(response.json()))
    assert sorted(obj["sourcedId"] for obj in response.json()[wrapper]) == sorted(
        e.replace("{school}", school) for e in expected
    )


# tenant isolation ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "status='active' OR status='tobedeleted'",
        "sourcedId='b-s1' OR sourcedId!='b-s1'",
        "sourcedId='b-s1'",
        "sourcedId~'b-'",
        "dateLastModified>'2000-01-01'",
    ],
)
def test_no_filter_widens_the_tenant_scope(api, roster_a, roster_b, token_a, text):
    objects = api("users", token_a, filter=text).json()["users"]
    assert all(obj["sourcedId"].startswith("a-") for obj in objects)


@pytest.mark.django_db
def test_other_tenants_objects_are_unknown(api, roster_a, roster_b, token_a):
    assert api(f"users/{roster_b.s1}", token_a).status_code == 404
    assert api(f"schools/{roster_b.school.sourced_id}", token_a).status_code == 404
    assert api(f"classes/{roster_b.k1}/students", token_a).json() == {"users": []}
    assert api(f"schools/{roster_b.school.sourced_id}/enrollments", token_a).json() == {"enrollments": []}


@pytest.mark.django_db
def test_district_is_visible_only_to_tenants_of_its_schools(api, roster_a, roster_b, token_a, token_b):
    assert api("orgs/district-1", token_a).status_code == 200
    assert api("orgs/district-1", token_b).status_code == 404
    assert [org["sourcedId"] for org in api("orgs", token_b).json()["orgs"]] == [roster_b.school.sourced_id]


@pytest.mark.django_db
def test_demographics_need_the_school_switch_too(api, roster_b, client_b):
    """School B does not share demographics: even a stray published row stays hidden."""
    p.demographics(roster_b.school, roster_b.s1)
    token = p.bearer_token(client_b)
    assert api("demographics", token).json() == {"demographics": []}
    assert api(f"demographics/{roster_b.s1}", token).status_code == 404


@pytest.mark.django_db
def test_roster_readonly_suffices_for_core_and_core_does_not_give_demographics(api, roster_a, client_a):
    roster_only = p.bearer_token(client_a, ROSTER)
    assert api("users", roster_only).status_code == 200
    assert api("demographics", roster_only).status_code == 403
    demographics_only = p.bearer_token(client_a, DEMOGRAPHICS)
    assert api("demographics", demographics_only).status_code == 200
    assert api("users", demographics_only).status_code == 403


@pytest.mark.django_db
def test_client_without_integration_is_forbidden(api, roster_a):
    token = p.bearer_token(p.oauth_client(None))
    response = api("users", token)
    assert response.status_code == 403
    assert code_minor(response) == "forbidden"


@pytest.mark.django_db
def test_suspended_integration_is_unauthorised(api, roster_a, integration_a, token_a):
    """Suspension revokes tokens (tests/lis/test_handoff.py); a token that survived is refused all the same."""
    integration_a.status = "suspended"
    integration_a.save()
    response = api("users", token_a)
    assert response.status_code == 401
    assert code_minor(response) == "unauthorisedrequest"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "suspended" in response.json()["imsx_description"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Basic dXNlcjpwdw==", "bearer x y"])
def test_invalid_token_401(api, roster_a, client, header):
    response = client.get("/ims/oneroster/v1p1/users", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert code_minor(response) == "unauthorisedrequest"


@pytest.mark.django_db
def test_expired_token_401_says_so(api, roster_a, client_a):
    response = api("users", p.bearer_token(client_a, expires_in=-1))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert "expired" in response.json()["imsx_description"]


# the envelope on every other failure ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "categories",
        "lineItems",
        "results",
        "resources",
        "classes/a-k1/lineItems",
        "classes/a-k1/results",
        "classes/a-k1/resources",
        "courses/a-c1/resources",
        "users/a-s1/resources",
        "lineItems/1/results",
        "users/a-s1/classes/extra",
        "users/",
        "",
        "nonsense/deeply/nested/path",
        "USERS",
    ],
)
def test_unserved_paths_answer_with_the_envelope(api, token_a, path):
    for token in (token_a, None):
        response = api(path, token)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert code_minor(response) == "unsupportedoperation"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("", "/ims/oneroster/v1p1 is the OneRoster 1.1 base URL; it serves nothing itself. "
             "Request one of its endpoints, e.g. /ims/oneroster/v1p1/users."),
        ("users/", "OneRoster paths have no trailing slash: request /ims/oneroster/v1p1/users."),
        ("schools/a-o1/classes/", "OneRoster paths have no trailing slash: request /ims/oneroster/v1p1/schools/a-o1/classes."),
        ("lineItems", "/ims/oneroster/v1p1/lineItems is not a OneRoster 1.1 rostering endpoint served here "
                      "(no gradebook, no resources)."),
        ("lineItems/", "/ims/oneroster/v1p1/lineItems/ is not a OneRoster 1.1 rostering endpoint served here "
                       "(no gradebook, no resources)."),
    ],
)
def test_unserved_paths_say_what_is_wrong(api, token_a, path, description):
    assert api(path, token_a).json()["imsx_description"] == description


@pytest.mark.django_db
@pytest.mark.parametrize("sourced_id", ["norecords", "a1", "1000000", "x y", "ünïcode"])
def test_ids_are_text(api, roster_a, token_a, sourced_id):
    response = api(f"users/{sourced_id}", token_a)
    assert response.status_code == 404
    assert code_minor(response) == "unknownobject"
    p.user(roster_a.school, sourced_id, "student")
    assert api(f"users/{sourced_id}", token_a).json()["user"]["sourcedId"] == sourced_id


@pytest.mark.django_db
def test_nul_in_an_id_is_just_unknown(api, roster_a, token_a):
    assert api("users/a%00b", token_a).status_code == 404
    assert api("classes/a%00b/students", token_a).json() == {"users": []}


@pytest.mark.django_db
def test_head(client, roster_a, token_a):
    response = client.head("/ims/oneroster/v1p1/users", HTTP_AUTHORIZATION=f"Bearer {token_a}")
    assert response.status_code == 200
    assert response["X-Total-Count"] == "4"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_read_only(client, roster_a, token_a, method):
    response = getattr(client, method)("/ims/oneroster/v1p1/users", HTTP_AUTHORIZATION=f"Bearer {token_a}")
    assert response.status_code == 405
    assert code_minor(response) == "unsupportedoperation"
    assert getattr(client, method)("/ims/oneroster/v1p1/users", data={"x": "1"}).status_code == 405


@pytest.mark.django_db
def test_json_whatever_the_accept_header(client, roster_a, token_a):
    response = client.get("/ims/oneroster/v1p1/users", HTTP_AUTHORIZATION=f"Bearer {token_a}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_server_fault_is_a_500_envelope(api, roster_a, token_a, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("oneroster_api.views.page_body", broken)
    response = api("users", token_a)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert code_minor(response) == "internal_server_error"
    assert "disk" not in response.content.decode()


@pytest.mark.django_db
def test_api_rate_limit_429(api, roster_a, token_a, settings):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "API_RATE": "2/min"}
    assert [api("users", token_a).status_code for _ in range(2)] == [200, 200]
    response = api("users", token_a)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert code_minor(response) == "server_busy"


@pytest.mark.django_db
def test_hrefs_are_absolute_from_the_request_and_the_store_is_untouched(client, roster_a, token_a, settings):
    settings.ALLOWED_HOSTS = ["sis.example"]
    response = client.get(
        f"/ims/oneroster/v1p1/classes/{roster_a.k2}",
        HTTP_AUTHORIZATION=f"Bearer {token_a}",
        HTTP_HOST="sis.example",
        HTTP_X_FORWARDED_PROTO="https",
    )
    klass = response.json()["class"]
    base = "https://sis.example/ims/oneroster/v1p1"
    assert klass["course"]["href"] == f"{base}/courses/{roster_a.c1}"
    assert klass["school"]["href"] == f"{base}/orgs/{roster_a.school.sourced_id}"
    assert [t["href"] for t in klass["terms"]] == [
        f"{base}/academicSessions/{roster_a.t1}",
        f"{base}/academicSessions/{roster_a.t2}",
    ]
    stored = PublishedObject.objects.get(kind="class", sourced_id=roster_a.k2).payload
    assert stored["course"]["href"] == f"/ims/oneroster/v1p1/courses/{roster_a.c1}"


@pytest.mark.django_db
def test_fields_selection_and_warnings(api, roster_a, token_a):
    body = api("users", token_a, fields="sourcedId,orgs", limit="1").json()
    assert body["users"][0].keys() == {"sourcedId", "orgs"}
    assert body["users"][0]["orgs"][0]["href"].startswith("http://testserver/ims/oneroster/v1p1/orgs/")
    body = api("users", token_a, fields="sourcedId,shoeSize", sort="shoeSize", limit="1").json()
    assert "givenName" in body["users"][0]
    minors = sorted(
        s["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] for s in body["statusInfoSet"]
    )
    assert minors == ["invalid_selection_field", "invalid_sort_field"]
    assert {s["imsx_severity"] for s in body["statusInfoSet"]} == {"warning"}
    response = api("users", token_a, fields="")
    assert response.status_code == 400
    assert code_minor(response) == "invalid_blank_selection_field"
    assert api(f"users/{roster_a.s1}", token_a, fields="givenName").json() == {"user": {"givenName": "Ada"}}
