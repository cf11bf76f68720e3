"""The OpenAPI document (drf-spectacular) and a schemathesis run against a live server.

First the document itself: public, at the base path, one operation per endpoint, wrappers,
headers, the error envelope, optional properties, limit clamping, the OAuth 2.0 scheme. Then
schemathesis generates requests from it (positive and negative data, a bounded number of
examples per operation) against ``live_server`` holding a real
publication, authenticated with a bearer token and a raised rate limit, and runs exactly these
checks on every response:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status code is documented for the operation;
- ``content_type_conformance``: the Content-Type is the documented one;
- ``response_headers_conformance``: documented required headers are present and match their schemas;
- ``response_schema_conformance``: the body matches the documented schema.

The live server reads the test settings, so the rate limit is raised for the run only.
"""

from __future__ import annotations

import json

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lis.publication import publish_school
from oneroster_api.endpoints import ENDPOINTS
from tests.lis.publication_fixtures import small_school

from . import published as p

BASE = "/ims/oneroster/v1p1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 15  # per operation, positive or negative data: ~600 requests (test_fuzz goes further into queries)


@pytest.fixture
def document(client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_document_is_public_and_lists_every_endpoint(document):
    assert document["openapi"].startswith("3.")
    expected = {f"{BASE}/" + e.route.replace("<str:", "{").replace(">", "}") for e in ENDPOINTS}
    assert set(document["paths"]) == expected
    assert all(set(item) == {"get"} for item in document["paths"].values())


def test_collections_document_wrappers_headers_and_errors(document):
    users = document["paths"][f"{BASE}/users"]["get"]
    ok = users["responses"]["200"]
    assert set(ok["headers"]) == {"X-Total-Count", "Link"} and ok["headers"]["X-Total-Count"]["required"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UsersList"}
    wrapper = document["components"]["schemas"]["UsersList"]
    assert wrapper["required"] == ["users"] and wrapper["properties"]["users"]["type"] == "array"
    for code in ("400", "401", "403", "404", "429", "500"):
        assert users["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/StatusInfo"
        }
    assert "WWW-Authenticate" in users["responses"]["401"]["headers"]
    assert "Retry-After" in users["responses"]["429"]["headers"]
    limit = next(param for param in users["parameters"] if param["name"] == "limit")
    assert "maximum" not in limit["schema"] and limit["schema"]["x-clamped-maximum"] == 10_000
    assert "clamped" in limit["description"]


def test_single_objects_and_optional_properties(document):
    single = document["paths"][f"{BASE}/users/{{sourced_id}}"]["get"]
    assert set(single["responses"]["200"]["headers"]) == {"X-Total-Count"}
    assert document["components"]["schemas"]["UserObject"]["required"] == ["user"]
    user = document["components"]["schemas"]["User"]
    assert "required" not in user  # fields= may leave any property out
    assert {"sourcedId", "username", "orgs", "userIds"} <= set(user["properties"])


def test_security_scheme_and_scopes(document):
    flow = document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token/"
    assert len(flow["scopes"]) == 3
    demographics = document["paths"][f"{BASE}/demographics"]["get"]["security"]
    assert demographics == [{"oauth2": ["https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly"]}]


def test_the_catch_all_does_not_shadow_the_document(client):
    assert client.get(f"{BASE}/openapi.json")["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert client.get(f"{BASE}/openapi.yaml").status_code == 404


# schemathesis against a live server -------------------------------------------------------------


@pytest.fixture
def api_schema(transactional_db, live_server, settings):
    """The served document, loaded by schemathesis, aimed at ``live_server`` with a token."""
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "API_RATE": "1000000/min"}
    small = small_school(share_demographics=True)
    publish_school(small.school)
    token = p.bearer_token(p.oauth_client(p.integration(small.school, name="Schemathesis")))
    raw = requests.get(f"{live_server.url}{BASE}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"})
    return schema


def test_api_conforms_to_its_schema(api_schema):
    """Every operation, positive and negative data, :data:`EXAMPLES_PER_OPERATION` cases each, no shrinking.

    (Driven with hypothesis directly: schemathesis's pytest integration needs ``Node._nodeid``,
    which pytest 9 no longer has.)
    """
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(ENDPOINTS)
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=cases)
        def check(case):
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Exception as exc:  # every operation runs; all failures are reported together
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
