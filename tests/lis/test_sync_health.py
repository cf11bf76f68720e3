"""Sync health (issue 8 §6): last credentials issued, last token request, last API request and each
school's last publication per integration; the cheap recording of API activity; and the email to
support when an active integration has made no API request for 48 hours (once per silence)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lis.integrations.handoff import handoff_confirm, handoff_reveal
from lis.integrations.health import integrations_alert_silent, integrations_silent
from lis.integrations.selectors import integration_schools_with_last_publication, integrations_with_health
from lis.integrations.services import integration_suspend
from lis.models import EventKind, Integration, IntegrationClient, PublicationRun, RunStatus, RunTrigger
from lis.tasks import alert_silent_integrations
from tests import factories as f
from tests.lis.lis_pages import login

from .integration_steps import PUBLIC_BASE_URL, access_token, api_get, issued, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.SUPPORT_EMAILS = ["support@myschool.example"]
    cache.clear()


@pytest.fixture
def active(school_a, support):
    """School A's integration, confirmed: (integration, client id, secret)."""
    creds = issued(school_a, actor=support)
    handoff_reveal(token=token_of(creds.link), ip="192.0.2.1")
    handoff_confirm(token=token_of(creds.link), ip="192.0.2.1")
    return Integration.objects.get(), creds.client_id, creds.client_secret


def health(integration: Integration) -> Integration:
    return integrations_with_health().get(pk=integration.pk)


def test_a_token_request_and_api_requests_are_recorded(client, active):
    integration, client_id, secret = active
    assert health(integration).last_token_at is None and health(integration).last_request_at is None
    token = access_token(client, client_id, secret)
    assert health(integration).last_token_at is not None
    assert api_get(client, token).status_code == 200
    first = health(integration).last_request_at
    assert first is not None
    assert IntegrationClient.objects.get(client_id=client_id).last_request_at == first


def test_api_activity_costs_one_update_a_minute_and_no_query_otherwise(client, active):
    integration, client_id, secret = active
    token = access_token(client, client_id, secret)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert api_get(client, token, "users").status_code == 200
        return [query["sql"] for query in captured]

    # The API keeps a collection's count per store version (oneroster_api.paging): a first read
    # counts it once; after that a request is its page's queries plus, once a minute, the UPDATE.
    queries()
    IntegrationClient.objects.update(last_request_at=timezone.now() - dt.timedelta(minutes=2))
    first, second = queries(), queries()
    assert len(first) == len(second) + 1
    assert [sql for sql in first if sql.startswith("UPDATE")] and not [sql for sql in second if sql.startswith("UPDATE")]
    IntegrationClient.objects.update(last_request_at=timezone.now() - dt.timedelta(minutes=2))
    assert len(queries()) == len(first)


def test_health_takes_the_latest_over_all_clients(active, support):
    integration, _, _ = active
    old, new = timezone.now() - dt.timedelta(days=3), timezone.now() - dt.timedelta(hours=1)
    IntegrationClient.objects.update(last_token_at=old, last_request_at=old)
    IntegrationClient.objects.create(integration=integration, client_id="x", state="retired", last_token_at=new,
                                     last_request_at=new)
    row = health(integration)
    assert row.last_token_at == new and row.last_request_at == new
    assert row.last_issued_at == integration.handoffs.get().created_at


def test_last_publication_per_school_in_one_query(school_a, school_b, support, django_assert_num_queries):
    integration = issued(school_a, school_b, actor=support).handoff.integration
    early, late = timezone.now() - dt.timedelta(days=2), timezone.now() - dt.timedelta(days=1)
    for committed, status in ((early, RunStatus.SUCCEEDED), (late, RunStatus.SUCCEEDED), (timezone.now(), RunStatus.FAILED)):
        PublicationRun.objects.create(school=school_a, trigger=RunTrigger.NIGHTLY, status=status, committed_at=committed)
    with django_assert_num_queries(1):
        rows = [(school.name, school.last_published_at) for school in integration_schools_with_last_publication(integration)]
    assert rows == [("Alder High", late), ("Birch Academy", None)]


def test_support_and_the_school_see_health_on_the_integration_page(client, active, support, school_a, admin_a):
    integration, client_id, secret = active
    api_get(client, access_token(client, client_id, secret))
    PublicationRun.objects.create(school=school_a, trigger=RunTrigger.NIGHTLY, status=RunStatus.SUCCEEDED,
                                  committed_at=timezone.now())
    admin_a.groups.add(f.granted_group(school_a))
    for user in (support, admin_a):
        page = login(user).get(reverse("admin:lis_integration_change", args=[integration.pk])).content.decode()
        for label in ("Status", "Credentials last issued", "Last token request", "Last API request",
                      "Last publication of Alder High"):
            assert label in page
        assert "—</td>" not in page.split("Sync health", 1)[1].split("</table>", 1)[0]  # every value known


# --- the silence alert ---------------------------------------------------------------------------------------


def test_support_is_emailed_once_when_an_active_integration_stops_pulling(active):
    integration, _, _ = active
    mail.outbox.clear()  # the handoff email
    now = timezone.now()
    assert integrations_alert_silent(now=now + dt.timedelta(hours=47)) == 0  # just activated: no request yet is fine
    IntegrationClient.objects.update(last_request_at=now - dt.timedelta(hours=1))
    assert integrations_alert_silent(now=now + dt.timedelta(hours=47)) == 0
    assert not mail.outbox

    assert alert_silent_integrations() == 0  # the daily task: nothing is due today
    later = now + dt.timedelta(hours=49)
    assert integrations_alert_silent(now=later) == 1
    (message,) = mail.outbox
    assert message.to == ["support@myschool.example"] and "stopped pulling" in message.subject
    assert integration.name in message.body and integration.tenant_id in message.body
    assert f"{PUBLIC_BASE_URL}/admin/lis/integration/{integration.pk}/change/" in message.body
    assert Integration.objects.get().silence_alerted_at == later
    assert Integration.objects.get().events.filter(kind=EventKind.SILENCE_ALERTED).count() == 1

    assert integrations_alert_silent(now=later + dt.timedelta(days=1)) == 0  # the same silence: no second email
    IntegrationClient.objects.update(last_request_at=later + dt.timedelta(days=1))  # SDS pulls again …
    assert integrations_alert_silent(now=later + dt.timedelta(days=2)) == 0
    assert integrations_alert_silent(now=later + dt.timedelta(days=4)) == 1  # … and stops again
    assert len(mail.outbox) == 2


def test_only_active_integrations_are_watched(active, support):
    integration, _, _ = active
    silent_since = timezone.now() + dt.timedelta(days=5)
    assert [i.pk for i in integrations_silent(now=silent_since)] == [integration.pk]
    integration_suspend(integration=integration, actor=support)
    assert integrations_silent(now=silent_since) == []


def test_the_housekeeping_tasks_are_scheduled():
    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"lis.tasks.expire_handoffs", "lis.tasks.alert_silent_integrations"} <= schedule
