"""Publication in the admin: run history per persona, publish now, confirming held runs, the LIS
pages' "last published" line and the preview of tonight."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lis.models import PublicationRun, RunStatus, SchoolSyncSettings
from lis.publication import publish_school
from tests import factories as f
from tests.lis.publication_fixtures import small_school

pytestmark = pytest.mark.django_db
RUNS = reverse("admin:lis_publicationrun_changelist")
SETTINGS = reverse("admin:lis_schoolsyncsettings_changelist")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def two_published():
    a, b = small_school("PA"), small_school("PB")
    publish_school(a.school)
    publish_school(b.school)
    return a, b


def test_support_sees_every_run_and_a_granted_school_admin_only_their_schools(two_published):
    a, b = two_published
    support, admin_a = f.support_user(), f.school_admin(a.school)
    admin_a.groups.add(f.granted_group(a.school))

    support_page = login(support).get(RUNS).content.decode()
    admin_page = login(admin_a).get(RUNS).content.decode()

    assert "Small School PA" in support_page and "Small School PB" in support_page
    assert "Small School PA" in admin_page and "Small School PB" not in admin_page
    other_run = PublicationRun.objects.get(school=b.school)
    assert login(admin_a).get(reverse("admin:lis_publicationrun_change", args=[other_run.pk])).status_code == 302
    own_run = PublicationRun.objects.get(school=a.school)
    detail = login(admin_a).get(reverse("admin:lis_publicationrun_change", args=[own_run.pk])).content.decode()
    assert "Counts per kind" in detail and 'name="_save"' not in detail  # read-only


def test_a_user_without_an_lis_feature_cannot_see_runs(two_published):
    a, _ = two_published
    assert login(f.UserFactory()).get(RUNS).status_code == 403
    assert login(f.school_admin(a.school)).get(RUNS).status_code == 403  # an ungranted administrator


def test_run_list_query_count_does_not_grow_with_runs(two_published):
    a, _ = two_published
    client = login(f.support_user())

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(RUNS).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for _ in range(5):
        publish_school(a.school)
    assert queries() == before


def test_publish_now_action_runs_once_a_day_and_then_says_when(two_published):
    a, _ = two_published
    support = f.support_user()
    settings_row = SchoolSyncSettings.objects.get(school=a.school)
    post = {"action": "publish_now", "_selected_action": [settings_row.pk], "confirm": "yes"}
    asked = login(support).post(SETTINGS, {"action": "publish_now", "_selected_action": [settings_row.pk]})
    assert asked.status_code == 200 and "Publish now?" in asked.content.decode()
    assert "Nothing would change in Microsoft." in asked.content.decode()  # published just before
    assert not PublicationRun.objects.filter(school=a.school, trigger="support").exists()

    first = login(support).post(SETTINGS, post, follow=True)
    second = login(support).post(SETTINGS, post, follow=True)

    assert any("publication succeeded" in m for m in messages_of(first))
    assert any("The next extra run is allowed from" in m and "CET" in m for m in messages_of(second))
    assert PublicationRun.objects.filter(school=a.school, trigger="support").count() == 1
    page = login(support).get(SETTINGS).content.decode()
    assert "Succeeded at" in page


def test_school_admins_cannot_publish_now(two_published):
    a, _ = two_published
    admin_a = f.school_admin(a.school)
    admin_a.groups.add(f.granted_group(a.school))
    settings_row = SchoolSyncSettings.objects.get(school=a.school)
    response = login(admin_a).post(SETTINGS, {"action": "publish_now", "_selected_action": [settings_row.pk]})
    assert response.status_code == 403
    assert not PublicationRun.objects.filter(trigger="support").exists()


def test_support_confirms_a_held_run_from_the_run_list(settings):
    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 0}
    small = small_school()
    publish_school(small.school)
    small.school.active_year = f.AcademicYearFactory(
        school=small.school, name="next", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31)
    )
    small.school.save()
    held = publish_school(small.school, trigger="nightly").run
    assert held.status == RunStatus.HELD

    support = login(f.support_user())
    asked = support.post(RUNS, {"action": "confirm_held", "_selected_action": [held.pk]})
    text = asked.content.decode()
    assert asked.status_code == 200 and "Confirm the held run?" in text and "removes from Microsoft" in text
    assert "students and teachers" in text and "user" not in text.split('id="lis-confirmation"')[1].split("</ul>")[0]
    assert PublicationRun.objects.get(pk=held.pk).status == RunStatus.HELD

    post = {"action": "confirm_held", "_selected_action": [held.pk], "confirm": "yes"}
    response = support.post(RUNS, post, follow=True)

    assert any("confirmed; the new run succeeded" in m for m in messages_of(response))
    confirmation = PublicationRun.objects.get(confirms=held, status=RunStatus.SUCCEEDED)
    assert PublicationRun.objects.get(pk=held.pk).status == RunStatus.CONFIRMED  # no longer "held"
    again = support.post(RUNS, post, follow=True)
    assert any("can be confirmed" in m for m in messages_of(again))
    page = support.get(reverse("admin:lis_publicationrun_change", args=[confirmation.pk])).content.decode()
    assert "View publication run" in page and 'name="_save"' not in page and "Yes: confirmed by support" in page
    first = PublicationRun.objects.filter(school=small.school).order_by("pk").first()
    first_page = support.get(reverse("admin:lis_publicationrun_change", args=[first.pk])).content.decode()
    assert "Yes: confirmed" not in first_page and "added" in first_page


def test_lis_pages_show_the_last_publication_and_link_the_preview(two_published):
    a, _ = two_published
    admin_a = f.school_admin(a.school)
    admin_a.groups.add(f.granted_group(a.school))
    run = PublicationRun.objects.get(school=a.school)

    page = login(admin_a).get(reverse("admin:lis_classselection_changelist")).content.decode()

    local = run.committed_at.astimezone(ZoneInfo("CET"))  # the sync zone's default, labelled
    assert f"Last published: {local:%Y-%m-%d %H:%M} {local.tzname()}" in page
    assert "(3 courses and classes, 9 students and teachers)" in page
    assert re.search(r"Next publication: tonight 00:00 CES?T \(in (\d+ h|\d+ min|\d+ h \d+ min|now)\)", page)
    assert reverse("admin:lis_publicationrun_preview", args=[a.school.pk]) in page
    assert run.committed_at is not None


def test_preview_of_tonight_shows_what_would_change_without_writing(two_published):
    a, b = two_published
    admin_a = f.school_admin(a.school)
    admin_a.groups.add(f.granted_group(a.school))
    a.courses[0].name = "Algebra 1 renamed"
    a.courses[0].save()
    runs_before = PublicationRun.objects.count()

    response = login(admin_a).get(reverse("admin:lis_publicationrun_preview", args=[a.school.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Algebra 1 renamed" in page  # the first example of an updated class
    assert PublicationRun.objects.count() == runs_before
    other = login(admin_a).get(reverse("admin:lis_publicationrun_preview", args=[b.school.pk]))
    assert other.status_code == 404


def test_preview_of_tonight_counts_the_district_org_the_run_would_remove(two_published):
    a, _ = two_published
    a.school.group = None  # the school leaves its trust: no school names the district org any more
    a.school.save()

    page = login(f.support_user()).get(reverse("admin:lis_publicationrun_preview", args=[a.school.pk])).content.decode()

    # in Microsoft / added / changed / removed / unchanged: the school org changes, the district org goes
    assert "<td>Schools</td><td>0</td><td>1</td><td>1</td><td>0</td>" in page
