"""OAuth 2.0 client credentials (oneroster-1.1.md §1, §5): the token endpoint, scopes, expiry,
hashed secrets, the rate limit, and one real HTTP round trip as SDS would make it."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import quote_plus

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from lis.models import Integration
from oneroster_api.conf import DEMOGRAPHICS, ROSTER, ROSTER_CORE
from tests.factories import PASSWORD, UserFactory

from . import published as p

TOKEN_URL = "/oauth/token/"
SECRET = "s3cret-value"
GRADEBOOK = "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.readonly"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()


@pytest.fixture
def token_request(client, client_a):
    """``token_request(**form)`` → the token endpoint's response, authenticating with HTTP Basic."""

    def post(auth: str | None = "basic", **form):
        form.setdefault("grant_type", "client_credentials")
        headers = {"HTTP_AUTHORIZATION": basic(client_a.client_id, SECRET)} if auth == "basic" else {}
        return client.post(TOKEN_URL, form, **headers)

    return post


@pytest.mark.django_db
def test_basic_auth_without_scope_gets_every_allowed_scope(token_request, client_a):
    response = token_request()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"].split() == [ROSTER_CORE, ROSTER, DEMOGRAPHICS]
    assert "refresh_token" not in body
    token = AccessToken.objects.get(application=client_a)
    assert token.user is None
    assert abs((token.expires - timezone.now()) - dt.timedelta(hours=1)) < dt.timedelta(seconds=30)


@pytest.mark.django_db
def test_form_credentials(token_request, client_a):
    response = token_request(auth=None, client_id=client_a.client_id, client_secret=SECRET)
    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [{"client_secret": "wrong"}, {"client_secret": ""}, {"client_id": "nobody"}],
)
def test_wrong_credentials(token_request, client_a, form):
    form = {"client_id": client_a.client_id, "client_secret": SECRET, **form}
    response = token_request(auth=None, **form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.django_db
def test_scopes_are_the_intersection_of_requested_and_allowed(token_request, api, roster_a):
    response = token_request(scope=f"{ROSTER_CORE} {GRADEBOOK}")
    assert response.status_code == 200
    assert response.json()["scope"] == ROSTER_CORE
    token = response.json()["access_token"]
    assert api("users", token).status_code == 200
    assert api("demographics", token).status_code == 403


@pytest.mark.django_db
def test_no_allowed_scope_requested_is_invalid_scope(token_request):
    response = token_request(scope=GRADEBOOK)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.django_db
def test_clients_allowed_scopes_bound_the_grant(token_request):
    Integration.objects.update(scopes=[ROSTER_CORE])
    assert token_request(scope=f"{ROSTER_CORE} {ROSTER} {DEMOGRAPHICS}").json()["scope"] == ROSTER_CORE
    assert token_request().json()["scope"] == ROSTER_CORE
    assert token_request(scope=DEMOGRAPHICS).json()["error"] == "invalid_scope"


@pytest.mark.django_db
@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", "nope", "implicit"])
def test_only_client_credentials(token_request, grant_type):
    staff = UserFactory(username="staffer")  # real user credentials do not make the password grant work
    response = token_request(
        grant_type=grant_type, username=staff.username, password=PASSWORD, code="c", refresh_token="r"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_the_password_grant_is_no_password_oracle(token_request, django_assert_num_queries):
    """RFC 6749 §5.2: one ``unsupported_grant_type`` answer, right or wrong password, no user looked up."""
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    with django_assert_num_queries(0):
        right = token_request(grant_type="password", username=staff.username, password=PASSWORD)
        wrong = token_request(grant_type="password", username=staff.username, password="wrong-password")
        nobody = token_request(grant_type="password", username="nobody", password="x")
    assert right.status_code == wrong.status_code == nobody.status_code == 400
    assert right.content == wrong.content == nobody.content
    assert right.json()["error"] == "unsupported_grant_type"


@pytest.mark.django_db
def test_expired_token_is_refused(token_request, api, roster_a):
    token = token_request().json()["access_token"]
    assert api("users", token).status_code == 200
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    response = api("users", token)
    assert response.status_code == 401
    assert "invalid_token" in response["WWW-Authenticate"]


@pytest.mark.django_db
def test_the_database_never_holds_the_plain_secret_or_token(token_request, client_a):
    token = token_request().json()["access_token"]
    stored = Application.objects.get(pk=client_a.pk).client_secret
    assert stored != SECRET
    identify_hasher(stored)  # a Django password hash
    dump = io.StringIO()
    call_command("dumpdata", "oauth2_provider", "lis", stdout=dump)
    assert SECRET not in dump.getvalue()
    assert token not in dump.getvalue()


@pytest.mark.django_db
def test_token_endpoint_is_rate_limited_per_client_and_address(
    token_request, client, client_a, integration_a, settings
):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "TOKEN_RATE": "3/min"}
    statuses = [token_request().status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = token_request()
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "server_busy"
    # Failed attempts count too: guessing secrets is what the limit is for.
    wrong = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_a.client_id, "guess")
    )
    assert wrong.status_code == 429
    other = p.oauth_client(integration_a, secret="other-secret")
    response = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(other.client_id, "other-secret")
    )
    assert response.status_code == 200
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(client_a.client_id, SECRET),
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_decoy_basic_header_does_not_bypass_the_limit(client, client_a, settings):
    """The limit counts the client the toolkit authenticates (the form's, once Basic fails), not the header's."""
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "TOKEN_RATE": "3/min"}
    guesses = [
        client.post(
            TOKEN_URL,
            {"grant_type": "client_credentials", "client_id": client_a.client_id, "client_secret": "guess"},
            HTTP_AUTHORIZATION=basic(f"decoy-{n}", "x"),
        ).status_code
        for n in range(4)
    ]
    assert guesses == [401, 401, 401, 429]
    right = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_a.client_id, "client_secret": SECRET},
        HTTP_AUTHORIZATION=basic("decoy-right", "x"),
    )
    assert right.status_code == 429
    assert int(right["Retry-After"]) >= 1
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_form_and_basic_credentials_share_one_budget(token_request, client_a, settings):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "TOKEN_RATE": "3/min"}
    statuses = [
        token_request().status_code,
        token_request(auth=None, client_id=client_a.client_id, client_secret=SECRET).status_code,
        token_request().status_code,
        token_request(auth=None, client_id=client_a.client_id, client_secret=SECRET).status_code,
    ]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_token_endpoint_is_rate_limited_per_address(client, client_a, settings):
    """Whatever client ids a caller sprays, one address gets ``TOKEN_IP_RATE`` requests a window."""
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "TOKEN_IP_RATE": "5/min"}
    statuses = [
        client.post(TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(f"id-{n}", "x")).status_code
        for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    assert int(client.post(TOKEN_URL, {"grant_type": "client_credentials"})["Retry-After"]) >= 1
    other_address = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_a.client_id, SECRET),
        REMOTE_ADDR="10.0.0.9",
    )
    assert other_address.status_code == 200


@pytest.mark.django_db
def test_behind_a_proxy_each_client_address_has_its_own_token_budget(client, client_a, settings):
    """Behind the TLS proxy every request comes from 127.0.0.1; the limit follows X-Forwarded-For's
    trusted entry, so one caller's spraying does not lock every SDS tenant out."""
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "TOKEN_IP_RATE": "3/min"}
    settings.TRUSTED_PROXIES = 1

    def attempt(forwarded_for: str, auth: str):
        return client.post(
            TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth,
            REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    # The sprayer rotates the part of the header it writes itself; the proxy's entry stays its own.
    sprayed = [attempt(f"10.9.9.{n}, 198.51.100.66", basic(f"id-{n}", "x")) for n in range(4)]
    assert sprayed == [401, 401, 401, 429]
    assert attempt("203.0.113.7", basic(client_a.client_id, SECRET)) == 200  # SDS, from its own address


@pytest.mark.django_db
def test_token_endpoint_is_post_only(client):
    assert client.get(TOKEN_URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_real_http_round_trip(live_server, roster_a, client_a):
    """What SDS does: POST the token URL with Basic auth over HTTP, then GET a collection with the token."""
    request = urllib.request.Request(
        live_server.url + TOKEN_URL,
        data=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": f"{ROSTER_CORE} {GRADEBOOK}"}
        ).encode(),
        headers={
            "Authorization": basic(client_a.client_id, SECRET),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        grant = json.load(response)
    assert grant["scope"] == ROSTER_CORE
    query = urllib.parse.urlencode({"filter": "status='active'", "limit": "5000", "offset": "0"})
    api_request = urllib.request.Request(
        f"{live_server.url}/ims/oneroster/v1p1/users?{query}",
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    with urllib.request.urlopen(api_request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/json"
        total = int(response.headers["X-Total-Count"])
        users = json.load(response)["users"]
    assert total == len(users) == 4
    assert users[0]["orgs"][0]["href"].startswith(f"{live_server.url}/ims/oneroster/v1p1/orgs/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{live_server.url}/ims/oneroster/v1p1/users", timeout=30)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.load(refused.value)["imsx_codeMajor"] == "failure"
