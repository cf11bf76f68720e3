"""The integration list's actions are the lifecycle steps of the integration's page (lis.admin.lifecycle):
the same generic confirmation page (with its reason box), the same refusals, the same plain error
when the server cannot build a safe credentials link."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from lis.admin.confirm import TEMPLATE
from lis.models import EventKind, Integration, IntegrationStatus
from tests.lis.lis_pages import act, login

from .integration_steps import PUBLIC_BASE_URL, accepted, issued

pytestmark = pytest.mark.django_db
S = IntegrationStatus
CHANGELIST = "admin:lis_integration_changelist"


@pytest.fixture(autouse=True)
def _https(settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    cache.clear()


def test_a_list_action_that_needs_a_reason_uses_the_generic_confirmation_page(school_a, support):
    integration = issued(school_a, actor=support).handoff.integration
    client = login(support)
    page = act(client, reverse(CHANGELIST), "suspend", [integration.pk])
    text = html.unescape(page.content.decode())
    assert page.status_code == 200 and TEMPLATE in [template.name for template in page.templates]
    assert 'id="lis-confirmation"' in text and 'name="reason"' in text and 'name="apply"' in text
    assert "The API refuses this integration's clients (401)" in text  # the lifecycle step's own words
    assert f'href="{reverse(CHANGELIST)}"' in text  # No, take me back
    assert Integration.objects.get().status == S.CREDENTIALS_ISSUED


def test_a_resend_within_the_cool_down_lists_the_reason_per_integration(school_a, support):
    integration = issued(school_a, actor=support).handoff.integration
    page = act(login(support), reverse(CHANGELIST), "resend_credentials", [integration.pk])
    text = html.unescape(page.content.decode())
    assert TEMPLATE in [template.name for template in page.templates]
    assert f"{integration}: " in text and "cool-down" in text and len(mail.outbox) == 1


@pytest.mark.parametrize("where", ["list", "page"])
def test_a_non_https_public_base_url_is_a_plain_error_not_a_500(school_a, support, settings, where):
    integration = accepted(school_a, actor=support)
    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = "http://myschool.example"
    client = login(support)
    if where == "list":
        page = client.post(
            reverse(CHANGELIST), {"action": "issue_credentials", "_selected_action": [integration.pk], "index": "0"},
            follow=True,
        )
    else:
        url = reverse("admin:lis_integration_lifecycle", args=[integration.pk, "issue_credentials"])
        page = client.post(url, {"confirm": "yes"}, follow=True)
    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert "nothing was sent" in text and "PUBLIC_BASE_URL" in text and "https://" in text
    integration.refresh_from_db()
    assert integration.status == S.ACCEPTED and not mail.outbox
    assert not integration.events.filter(kind=EventKind.ISSUED).exists()
    assert not integration.clients.exists()
