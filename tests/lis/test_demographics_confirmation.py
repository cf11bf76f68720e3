"""Switching *share demographics* off asks first (issue 16): SDS deletes every shared birth date and sex.

Support changes a school's sync settings on its *School sync settings* page (school administrators
have no such switch). Saving a change that turns sharing off shows the generic confirmation page
with the count of students whose demographics Microsoft will delete; *No, take me back* changes
nothing, *Yes* saves the form as it was posted.
"""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from lis.models import SchoolSyncSettings, SelectionChange, UsersToPublish
from lis.publication import publish_school
from tests.lis.lis_pages import login
from tests.lis.publication_fixtures import small_school

pytestmark = pytest.mark.django_db


def change_url(settings: SchoolSyncSettings) -> str:
    return reverse("admin:lis_schoolsyncsettings_change", args=[settings.pk])


def form(*, share: bool, users: str = UsersToPublish.ALL_ACTIVE, should_sync: bool = True, **extra) -> dict:
    data = {"users_to_publish": users, "_save": "Save", **extra}
    if share:
        data["share_demographics"] = "on"
    if should_sync:
        data["should_sync"] = "on"
    return data


@pytest.fixture
def shared():
    """Small School DM, published with its 6 students' demographics."""
    built = small_school("DM", share_demographics=True)
    publish_school(built.school)
    return SchoolSyncSettings.objects.get(school=built.school)


def test_switching_demographics_off_shows_what_microsoft_will_delete_first(shared, support):
    client = login(support)
    users = shared.users_to_publish
    page = client.post(change_url(shared), form(share=False, users=users))
    text = html.unescape(page.content.decode())
    assert page.status_code == 200 and 'id="lis-confirmation"' in text
    assert "Stop sharing demographics of Small School DM?" in text
    assert "6 students' demographics (birth date, sex) will be deleted in Microsoft at the next publication" in text
    assert f'href="{change_url(shared)}"' in text  # No, take me back: the form again, unchanged
    shared.refresh_from_db()
    assert shared.share_demographics and not SelectionChange.objects.filter(school=shared.school).exists()

    done = client.post(change_url(shared), form(share=False, users=users, confirm="yes"))
    assert done.status_code == 302
    shared.refresh_from_db()
    assert not shared.share_demographics and shared.should_sync
    change = SelectionChange.objects.get(school=shared.school)
    assert (change.old_value, change.new_value, change.changed_by) == ("yes", "no", support)


def test_other_changes_save_without_asking(shared, support):
    client = login(support)
    other = next(choice for choice in UsersToPublish.values if choice != shared.users_to_publish)
    assert client.post(change_url(shared), form(share=True, users=other)).status_code == 302
    shared.refresh_from_db()
    assert shared.users_to_publish == other and shared.share_demographics


def test_switching_on_saves_without_asking(support):
    built = small_school("DN")
    settings = SchoolSyncSettings.objects.get(school=built.school)
    assert login(support).post(change_url(settings), form(share=True)).status_code == 302
    settings.refresh_from_db()
    assert settings.share_demographics


def test_nothing_shared_yet_says_nothing_is_deleted(support):
    built = small_school("DO", share_demographics=True)  # never published
    settings = SchoolSyncSettings.objects.get(school=built.school)
    text = html.unescape(login(support).post(change_url(settings), form(share=False)).content.decode())
    assert "nothing is deleted there" in text
    settings.refresh_from_db()
    assert settings.share_demographics


def test_an_invalid_form_confirmed_shows_its_errors_and_saves_nothing(shared, support):
    page = login(support).post(change_url(shared), form(share=False, users="nobody", confirm="yes"))
    assert page.status_code == 200 and page.context["adminform"].form.errors
    shared.refresh_from_db()
    assert shared.share_demographics
