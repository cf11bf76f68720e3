"""The tenant lookup is a selector (it reads), the request record a service (it writes), and
:class:`~oneroster_api.permissions.IsIntegrationClient` is the one place that refuses a client."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lis.models import IntegrationClient
from oneroster_api.tenancy import TenantRefused, tenant_of_application, tenant_request_record
from tests.oneroster_api import published as p

pytestmark = pytest.mark.django_db


def test_the_lookup_reads_and_the_record_writes(client_a, integration_a, roster_a):
    with CaptureQueriesContext(connection) as ctx:
        found = tenant_of_application(client_a.pk)
    assert not [q for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert found.tenant.integration_id == integration_a.pk and found.tenant.school_ids == (roster_a.school.pk,)
    assert found.last_request_at is None
    tenant_request_record(found)
    assert IntegrationClient.objects.get(pk=found.client_pk).last_request_at is not None


def test_an_application_without_integration_is_refused_by_the_lookup():
    with pytest.raises(TenantRefused):
        tenant_of_application(p.oauth_client(None).pk)
