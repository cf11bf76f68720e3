"""Two tenants for the API tests: integration A (school A, in a district) and integration B (school B).

Personas: ``client_a`` (A's SDS client, every scope), ``client_b`` (B's), tokens made with
:func:`published.bearer_token`, and the ``api`` fixture to call the API like SDS does.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from . import published as p


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def roster_a(school_a):
    return p.build_roster(school_a, "a", district_id="district-1")


@pytest.fixture
def roster_b(school_b):
    return p.build_roster(school_b, "b", share_demographics=False)


@pytest.fixture
def integration_a(roster_a):
    return p.integration(roster_a.school, name="Contoso A")


@pytest.fixture
def integration_b(roster_b):
    return p.integration(roster_b.school, name="Fabrikam B")


@pytest.fixture
def client_a(integration_a):
    return p.oauth_client(integration_a, name="SDS A")


@pytest.fixture
def client_b(integration_b):
    return p.oauth_client(integration_b, name="SDS B")


@pytest.fixture
def token_a(client_a):
    return p.bearer_token(client_a)


@pytest.fixture
def token_b(client_b):
    return p.bearer_token(client_b)


@pytest.fixture
def api(client):
    """``api(path, token, **params)`` → response of GET ``/ims/oneroster/v1p1/<path>``."""

    def get(path: str, token: str | None = None, **params):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return client.get(f"/ims/oneroster/v1p1/{path}", params, **headers)

    return get
