"""Steps of the integration workflow for the tests of tests/lis/test_integrations.py, test_handoff.py
and test_sync_health.py: an integration brought to a given status, and the handoff page as the key
contact uses it (GET, reveal POST, confirm POST) through Django's test client."""

from __future__ import annotations

import base64
import html
import re
import uuid
from urllib.parse import quote_plus, urlsplit

from django.test import TestCase

from lis.integrations.services import (
    IssuedCredentials,
    credentials_issue,
    integration_accept,
    integration_map_features,
    integration_request,
)
from lis.models import Integration
from myschool.models import School
from tests import factories as f

PUBLIC_BASE_URL = "https://myschool.example"
HANDOFF_URL = "/handoff/"
TOKEN_URL = "/oauth/token/"
API = "/ims/oneroster/v1p1"


def requested(*schools: School, actor, name: str = "Contoso tenant", contact: str = "kim@contoso.example") -> Integration:
    return integration_request(
        name=name,
        tenant_id=str(uuid.uuid4()),
        schools=schools,
        key_contact_name="Kim Key",
        key_contact_email=contact,
        actor=actor,
    )


def accepted(*schools: School, actor, **kwargs) -> Integration:
    """An integration for ``schools`` whose features are mapped (both granted) and that Microsoft accepted."""
    integration = requested(*schools, actor=actor, **kwargs)
    for school in schools:
        f.granted_group(school, name=f"LIS team of {school.code} {uuid.uuid4().hex[:6]}")
    integration_map_features(integration=integration, actor=actor)
    return integration_accept(integration=integration, actor=actor)


def committed():
    """Run the ``transaction.on_commit`` callbacks of the block (the handoff email) as a commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def issued(*schools: School, actor, **kwargs) -> IssuedCredentials:
    """Credentials issued for a new accepted integration of ``schools``, with the handoff email sent."""
    integration = accepted(*schools, actor=actor, **kwargs)
    with committed():
        return credentials_issue(integration=integration, actor=actor)


def token_of(link: str) -> str:
    """The handoff token: the link's fragment (the part a browser never sends)."""
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.path == HANDOFF_URL and parts.query == ""
    return parts.fragment


def reveal(client, token: str, **extra):
    return client.post(HANDOFF_URL, {"action": "reveal", "token": token}, **extra)


def confirm(client, token: str, **extra):
    return client.post(HANDOFF_URL, {"action": "confirm", "token": token}, **extra)


def shown(page: str, element_id: str) -> str:
    """The text of ``<code id="element_id">`` on the revealed handoff page."""
    match = re.search(rf'<code id="{element_id}">([^<]*)</code>', page)
    assert match, f"no {element_id} on the page"
    return html.unescape(match.group(1))


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()


def token_request(client, client_id: str, secret: str):
    return client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret)
    )


def access_token(client, client_id: str, secret: str) -> str:
    response = token_request(client, client_id, secret)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def api_get(client, token: str, path: str = "orgs"):
    return client.get(f"{API}/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
