"""Removing a school from an integration: the counts SDS will see, support's confirmation, the tombstones."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from lis.admin.integrations import IntegrationForm
from lis.integrations.scope import SchoolRemovalUnconfirmed, integration_schools_set
from lis.models import PublishedObject
from lis.publication import publish_school
from tests.lis.publication_fixtures import small_school
from tests.oneroster_api import published as p

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_schools():
    small, other = small_school("SM1"), small_school("SM2")
    publish_school(small.school)
    publish_school(other.school)
    return small, other, p.integration(small.school, other.school)


def test_removing_a_school_needs_confirmation_showing_the_counts(two_schools, django_capture_on_commit_callbacks):
    small, other, integration = two_schools

    with pytest.raises(SchoolRemovalUnconfirmed) as refused:
        integration_schools_set(integration=integration, schools=[other.school])

    # 6 students + 3 teachers; 2 courses + 1 homeroom; 1 school org; 7 + 1 + 3 + 6 + 1 enrollments
    message = refused.value.messages[0]
    assert "Removing Small School SM1" in message and "9 users" in message and "3 classes" in message
    assert set(integration.schools.all()) == {small.school, other.school}  # nothing changed

    with django_capture_on_commit_callbacks(execute=True):
        removal = integration_schools_set(integration=integration, schools=[other.school], confirm_removal=True)

    assert removal.counts["user"] == 9
    copies = PublishedObject.objects.filter(tenant=integration.pk)
    assert copies.filter(kind="user").count() == 9 and set(copies.values_list("status", flat=True)) == {"tobedeleted"}
    assert not copies.exclude(school=None).exists()


def test_the_integration_form_warns_and_requires_the_tick(two_schools):
    small, other, integration = two_schools
    data = {**model_to_dict(integration), "schools": [other.school.pk], "scopes": list(integration.scopes)}

    form = IntegrationForm(data=data, instance=integration)
    assert not form.is_valid()
    assert "SDS will receive as tobedeleted" in form.errors["confirm_removal"][0]
    assert "9 users" in form.errors["confirm_removal"][0]

    confirmed = IntegrationForm(data={**data, "confirm_removal": "on"}, instance=integration)
    assert confirmed.is_valid(), confirmed.errors


def test_the_change_form_shows_the_confirmation_to_support(two_schools, client, support):
    _small, _other, integration = two_schools
    client.force_login(support)
    page = client.get(f"/admin/lis/integration/{integration.pk}/change/").content.decode()
    assert "Confirm the removal" in page and "sent as tobedeleted" in page
