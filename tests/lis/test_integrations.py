"""The integration workflow (issue 8 §1, §5) as services and as support and schools see it in the admin.

requested → features mapped → accepted by Microsoft → credentials issued → active; suspended from
any state. Personas: support, the granted administrator of school A (LIS features granted), an
ungranted administrator of A, and B's granted administrator.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lis.admin.navigation import ADVANCED_OPTIONS
from lis.integrations import services
from lis.integrations.services import (
    ReasonRequired,
    TransitionRefused,
    credentials_issue,
    credentials_rotate,
    integration_accept,
    integration_map_features,
    integration_request,
    integration_resume,
    integration_suspend,
)
from lis.models import CredentialHandoff, EventKind, Feature, HandoffOutcome, Integration, IntegrationStatus
from lis.readiness import readiness_blocking_problems
from tests import factories as f
from tests.lis.lis_pages import act, login

from .integration_steps import PUBLIC_BASE_URL, accepted, committed, issued, requested

pytestmark = pytest.mark.django_db

S = IntegrationStatus
CHANGELIST = "admin:lis_integration_changelist"


@pytest.fixture(autouse=True)
def _https(settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    cache.clear()


def kinds(integration: Integration) -> list[str]:
    return list(integration.events.order_by("at", "pk").values_list("kind", flat=True))


# --- services -------------------------------------------------------------------------------------------


def test_a_request_needs_a_guid_tenant_id_and_a_school(school_a, support):
    def request(**kwargs):
        values = dict(name="T", tenant_id=str(uuid.uuid4()), schools=[school_a], key_contact_name="Kim",
                      key_contact_email="kim@contoso.example", actor=support)
        return integration_request(**{**values, **kwargs})

    for bad in ("not-a-guid", "72f988bf86f141af91ab2d7cd011db47", ""):
        with pytest.raises(ValidationError):
            request(tenant_id=bad)
    with pytest.raises(ValidationError):
        request(schools=[])
    with pytest.raises(ValidationError):
        request(key_contact_email="nobody")
    integration = request(tenant_id="72F988BF-86F1-41AF-91AB-2D7CD011DB47")
    assert integration.tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert integration.status == S.REQUESTED and list(integration.schools.all()) == [school_a]
    with pytest.raises(ValidationError):
        request(tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47")  # one integration per tenant
    event = integration.events.get()
    assert (event.kind, event.actor) == (EventKind.REQUESTED, support)


def test_the_steps_go_in_order(school_a, support):
    integration = requested(school_a, actor=support)
    with pytest.raises(TransitionRefused, match="issuing credentials needs it to be accepted by microsoft"):
        credentials_issue(integration=integration, actor=support)
    with pytest.raises(TransitionRefused, match="needs it to be features mapped"):
        integration_accept(integration=integration, actor=support)
    with pytest.raises(TransitionRefused) as refused:
        integration_map_features(integration=integration, actor=support)
    assert "Alder High (A100): LIS Courses is not granted to any group." in str(refused.value)
    assert "LIS Classes" in str(refused.value)

    f.granted_group(school_a, Feature.LIS_COURSES)
    with pytest.raises(TransitionRefused, match="LIS Classes is not granted"):
        integration_map_features(integration=integration, actor=support)
    f.granted_group(school_a, Feature.LIS_CLASSES, name="Classes team")
    assert integration_map_features(integration=integration, actor=support).status == S.FEATURES_MAPPED
    with pytest.raises(TransitionRefused):
        credentials_issue(integration=integration, actor=support)
    assert integration_accept(integration=integration, actor=support).status == S.ACCEPTED
    issued_ = credentials_issue(integration=integration, actor=support)
    assert Integration.objects.get().status == S.CREDENTIALS_ISSUED
    with pytest.raises(TransitionRefused):
        credentials_issue(integration=integration, actor=support)  # issued once; later ones are resends
    assert kinds(integration) == [EventKind.REQUESTED, EventKind.FEATURES_MAPPED, EventKind.ACCEPTED, EventKind.ISSUED]
    assert integration.events.get(kind=EventKind.ISSUED).handoff == issued_.handoff


def test_a_school_without_an_active_year_blocks_credentials_unless_support_gives_a_reason(support):
    integration = accepted(f.SchoolFactory(name="Yearless"), actor=support)
    assert readiness_blocking_problems(integration)
    with pytest.raises(ReasonRequired, match="Yearless"):
        credentials_issue(integration=integration, actor=support)
    assert credentials_issue(integration=integration, actor=support, reason="year is set up tomorrow").client_id


def test_blocking_readiness_problems_need_a_reason(school_a, support, monkeypatch):
    monkeypatch.setattr(services, "readiness_blocking_problems", lambda integration: ["Alder High: 3 students lack a primary email."])
    integration = accepted(school_a, actor=support)
    with pytest.raises(ReasonRequired) as refused:
        credentials_issue(integration=integration, actor=support)
    assert "3 students lack a primary email" in " ".join(refused.value.problems)
    assert not CredentialHandoff.objects.exists() and not mail.outbox
    creds = credentials_issue(integration=integration, actor=support, reason="emails are fixed tonight")
    assert creds.handoff.reason == "emails are fixed tonight"
    assert integration.events.get(kind=EventKind.ISSUED).reason == "emails are fixed tonight"


def test_a_resend_within_the_cool_down_needs_a_reason(school_a, support):
    first = issued(school_a, actor=support)
    integration = first.handoff.integration
    with pytest.raises(ReasonRequired, match="cool-down"):
        credentials_rotate(integration=integration, actor=support)
    later = timezone.now() + timezone.timedelta(hours=24, minutes=1)
    second = credentials_rotate(integration=integration, actor=support, now=later)
    assert second.handoff.reason == ""
    assert CredentialHandoff.objects.get(pk=first.handoff.pk).outcome == HandoffOutcome.SUPERSEDED
    event = integration.events.filter(kind=EventKind.ROTATED).get()
    assert event.actor == support and "keep working" in event.detail
    with pytest.raises(TransitionRefused):
        credentials_rotate(integration=requested(f.SchoolFactory(), actor=support), actor=support, reason="x")


@pytest.mark.parametrize("status", [S.REQUESTED, S.FEATURES_MAPPED, S.ACCEPTED])
def test_suspend_from_any_state_and_resume_where_it_was(school_a, support, status):
    integration = requested(school_a, actor=support)
    Integration.objects.filter(pk=integration.pk).update(status=status)
    suspended = integration_suspend(integration=integration, actor=support, reason="on hold")
    assert suspended.status == S.SUSPENDED and suspended.suspended_from == status
    with pytest.raises(TransitionRefused, match="already suspended"):
        integration_suspend(integration=integration, actor=support)
    assert integration_resume(integration=integration, actor=support).status == status
    with pytest.raises(TransitionRefused):
        integration_resume(integration=integration, actor=support)
    assert kinds(integration)[-2:] == [EventKind.SUSPENDED, EventKind.RESUMED]


# --- the admin: support -----------------------------------------------------------------------------------


def test_support_registers_a_tenant_in_the_admin(school_a, support):
    response = login(support).post(
        reverse("admin:lis_integration_add"),
        {
            "name": "Contoso",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "schools": [school_a.pk],
            "key_contact_name": "Kim Key",
            "key_contact_email": "kim@contoso.example",
            "scopes": ["https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly"],
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "0",
            "domains-0-domain": "contoso.example",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    integration = Integration.objects.get()
    assert integration.status == S.REQUESTED and list(integration.schools.all()) == [school_a]
    assert list(integration.domains.values_list("domain", flat=True)) == ["contoso.example"]
    assert integration.events.get().actor == support


def test_support_walks_the_workflow_with_actions(school_a, support):
    integration = requested(school_a, actor=support)
    client = login(support)
    url = reverse(CHANGELIST)
    refused = client.post(url, {"action": "map_features", "_selected_action": [integration.pk], "index": "0"}, follow=True)
    assert "grant the LIS features first" in refused.content.decode()
    f.granted_group(school_a)
    for action in ("map_features", "accept", "issue_credentials"):
        with committed():
            assert act(client, url, action, [integration.pk]).status_code == 302
    integration.refresh_from_db()
    assert integration.status == S.CREDENTIALS_ISSUED and len(mail.outbox) == 1
    # A resend within the cool-down asks for a reason, then goes through with it.
    page = act(client, url, "resend_credentials", [integration.pk])
    assert page.status_code == 200 and "cool-down" in page.content.decode()
    with committed():
        done = client.post(url, {"action": "resend_credentials", "_selected_action": [integration.pk], "apply": "1",
                                 "reason": "contact asked again"})
    assert done.status_code == 302 and len(mail.outbox) == 2
    assert integration.events.get(kind=EventKind.ROTATED).reason == "contact asked again"


@pytest.mark.parametrize("action", ["rotate_compromised", "suspend"])
def test_compromise_and_suspension_always_ask_for_a_reason(school_a, support, action):
    integration = issued(school_a, actor=support).handoff.integration
    client = login(support)
    url = reverse(CHANGELIST)
    page = act(client, url, action, [integration.pk])
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    blank = client.post(url, {"action": action, "_selected_action": [integration.pk], "apply": "1", "reason": " "})
    assert blank.status_code == 200 and "Give a reason." in blank.content.decode()
    done = client.post(url, {"action": action, "_selected_action": [integration.pk], "apply": "1", "reason": "why"})
    assert done.status_code == 302
    kind = EventKind.ROTATED if action == "rotate_compromised" else EventKind.SUSPENDED
    assert Integration.objects.get().events.filter(kind=kind, reason="why", actor=support).exists()


def test_the_change_page_shows_health_clients_handoffs_and_the_audit_log_but_no_secret(school_a, support):
    creds = issued(school_a, actor=support)
    page = login(support).get(reverse("admin:lis_integration_change", args=[creds.handoff.integration.pk]))
    text = page.content.decode()
    for heading in ("Sync health", "OAuth clients (SDS)", "Credential handoffs", "Audit log",
                    "Last publication of Alder High", "Credentials issued"):
        assert heading in text, heading
    assert creds.client_id in text
    assert creds.client_secret not in text and creds.link.split("#")[1] not in text


def test_the_changelist_query_count_does_not_grow_with_integrations(support):
    client = login(support)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(CHANGELIST)).status_code == 200
        return len(queries)

    def integration(n: int, schools: int) -> None:
        integration = accepted(*(f.SchoolFactory() for _ in range(schools)), actor=support, name=f"Tenant {n}")
        credentials_issue(integration=integration, actor=support, reason="schools without a year")

    for n in range(3):
        integration(n, 1)
    few = count()
    for n in range(3, 12):
        integration(n, 2)
    assert count() == few


# --- the admin: schools -----------------------------------------------------------------------------------


@pytest.fixture
def granted_admin(school_a, admin_a):
    admin_a.groups.add(f.granted_group(school_a))
    return admin_a


def test_a_granted_school_administrator_sees_their_integration_read_only(school_a, school_b, support, granted_admin):
    own = issued(school_a, actor=support, name="Alder tenant").handoff.integration
    other = requested(school_b, actor=support, name="Birch tenant")
    client = login(granted_admin)
    index = client.get(reverse("admin:index")).content.decode()
    assert ADVANCED_OPTIONS in index and "Microsoft integrations" in index and "Feature grants" not in index
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "Alder tenant" in listing and "Birch tenant" not in listing
    assert 'name="action"' not in listing  # no workflow actions
    page = client.get(reverse("admin:lis_integration_change", args=[own.pk])).content.decode()
    assert "Credentials issued" in page and "Last API request" in page and 'name="_save"' not in page
    assert "Audit log" not in page and "OAuth clients" not in page
    assert client.get(reverse("admin:lis_integration_change", args=[other.pk])).status_code == 302
    act(client, reverse(CHANGELIST), "suspend", [own.pk])  # not an action they are offered: nothing happens
    assert Integration.objects.get(pk=own.pk).status == S.CREDENTIALS_ISSUED
    assert client.get(reverse("admin:lis_integrationevent_changelist")).status_code == 403


def test_an_ungranted_school_administrator_sees_no_integration(school_a, support):
    requested(school_a, actor=support)
    client = login(f.school_admin(school_a, username="ungranted"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert "Microsoft integrations" not in client.get(reverse("admin:index")).content.decode()


def test_support_finds_integrations_in_the_one_lis_section(support):
    index = login(support).get(reverse("admin:index")).content.decode()
    sync_section = index.split(f">{ADVANCED_OPTIONS}<", 1)[1]
    assert "Microsoft integrations" in sync_section and "Integration events" in sync_section


# --- the integration's own page: lifecycle object-tools, scopes, tenant id ------------------------


def lifecycle_url(integration, step: str) -> str:
    return reverse("admin:lis_integration_lifecycle", args=[integration.pk, step])


def tools_on(client, integration) -> list[str]:
    page = client.get(reverse("admin:lis_integration_change", args=[integration.pk])).content.decode()
    return re.findall(r'class="lis-lifecycle[^"]*" data-step="([a-z_]+)"', page)


def test_the_change_page_offers_only_the_steps_that_apply(school_a, support):
    integration = requested(school_a, actor=support)
    client = login(support)
    assert tools_on(client, integration) == ["map_features", "suspend"]
    f.granted_group(school_a)
    integration_map_features(integration=integration, actor=support)
    assert tools_on(client, integration) == ["accept", "suspend"]
    integration_accept(integration=integration, actor=support)
    assert tools_on(client, integration) == ["issue_credentials", "suspend"]
    credentials_issue(integration=integration, actor=support)
    assert tools_on(client, integration) == ["resend_credentials", "rotate_compromised", "suspend"]


def test_each_step_is_confirmed_first_and_cancel_changes_nothing(school_a, support):
    integration = accepted(school_a, actor=support)
    client = login(support)
    page = client.get(lifecycle_url(integration, "issue_credentials"))
    text = page.content.decode()
    assert page.status_code == 200 and "emails the key contact" in text and 'name="confirm" value="yes"' in text
    assert f'href="{reverse("admin:lis_integration_change", args=[integration.pk])}"' in text  # the Cancel link
    integration.refresh_from_db()
    assert integration.status == S.ACCEPTED and not mail.outbox
    with committed():
        done = client.post(lifecycle_url(integration, "issue_credentials"), {"confirm": "yes"}, follow=True)
    integration.refresh_from_db()
    assert integration.status == S.CREDENTIALS_ISSUED and len(mail.outbox) == 1
    assert "was emailed a link" in done.content.decode()


def test_a_step_that_does_not_apply_is_refused_in_plain_words(school_a, support):
    integration = issued(school_a, actor=support).handoff.integration
    client = login(support)
    page = client.post(lifecycle_url(integration, "issue_credentials"), {"confirm": "yes"}, follow=True)
    text = page.content.decode()
    assert "Credentials are already issued; use Resend or Rotate." in text
    assert "needs it to be" not in text
    listed = client.post(reverse(CHANGELIST), {"action": "issue_credentials", "_selected_action": [integration.pk],
                                               "index": "0"}, follow=True).content.decode()
    assert "Credentials are already issued; use Resend or Rotate." in listed
    assert client.get(lifecycle_url(integration, "resume"), follow=True).content.decode().count("is not suspended") == 1
    assert client.get(lifecycle_url(integration, "no_such_step")).status_code == 404


def test_suspend_from_the_page_needs_a_reason(school_a, support):
    integration = issued(school_a, actor=support).handoff.integration
    client = login(support)
    blank = client.post(lifecycle_url(integration, "suspend"), {"confirm": "yes", "reason": " "})
    assert blank.status_code == 200 and "Give a reason" in blank.content.decode()
    integration.refresh_from_db()
    assert integration.status != S.SUSPENDED
    done = client.post(lifecycle_url(integration, "suspend"), {"confirm": "yes", "reason": "tenant asked"})
    assert done.status_code == 302
    integration.refresh_from_db()
    assert integration.status == S.SUSPENDED
    assert integration.events.get(kind=EventKind.SUSPENDED).reason == "tenant asked"
    assert tools_on(client, integration) == ["resume"]


def test_a_resend_within_the_cool_down_asks_for_the_reason_on_the_confirmation_page(school_a, support):
    integration = issued(school_a, actor=support).handoff.integration
    client = login(support)
    page = client.post(lifecycle_url(integration, "resend_credentials"), {"confirm": "yes"})
    assert page.status_code == 200 and "cool-down" in page.content.decode() and 'name="reason"' in page.content.decode()
    done = client.post(lifecycle_url(integration, "resend_credentials"), {"confirm": "yes", "reason": "lost mail"})
    assert done.status_code == 302 and integration.events.get(kind=EventKind.ROTATED).reason == "lost mail"


def test_a_school_administrator_gets_no_lifecycle_tools(school_a, support, admin_a):
    integration = accepted(school_a, actor=support)
    admin_a.groups.add(f.granted_group(school_a, name="LIS team two"))
    client = login(admin_a)
    page = client.get(reverse("admin:lis_integration_change", args=[integration.pk]))
    assert page.status_code == 200 and "lis-lifecycle" not in page.content.decode()
    assert client.post(lifecycle_url(integration, "issue_credentials"), {"confirm": "yes"}).status_code == 403
    integration.refresh_from_db()
    assert integration.status == S.ACCEPTED


def test_scopes_are_checkboxes_and_the_tenant_id_box_fits_a_guid(school_a, support):
    integration = requested(school_a, actor=support)
    client = login(support)
    page = client.get(reverse("admin:lis_integration_change", args=[integration.pk])).content.decode()
    for scope in ("roster-core.readonly", "roster.readonly", "roster-demographics.readonly"):
        assert f'type="checkbox" name="scopes" value="https://purl.imsglobal.org/spec/or/v1p1/scope/{scope}"' in page
    assert "<textarea" not in page.split('id="id_scopes"')[0].rsplit("<div", 1)[-1]
    assert re.search(r'<input[^>]*name="tenant_id"[^>]*size="38"', page)
    from lis.admin.integrations import IntegrationForm

    data = {
        "name": integration.name, "tenant_id": integration.tenant_id, "schools": [school_a.pk],
        "key_contact_name": "Kim", "key_contact_email": "kim@contoso.example", "status": integration.status,
    }
    assert "Tick at least one scope" in IntegrationForm(data=data, instance=integration).errors["scopes"][0]
    roster_core = "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly"
    form = IntegrationForm(data={**data, "scopes": [roster_core]}, instance=integration)
    assert form.is_valid(), form.errors
    assert form.save().scopes == [roster_core]
    assert not IntegrationForm(data={**data, "scopes": ["admin"]}, instance=integration).is_valid()
