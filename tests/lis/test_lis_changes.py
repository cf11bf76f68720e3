"""Changing LIS Courses and LIS Classes: list edits, bulk actions, the school switch, history, support's pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from lis.models import ClassSelection, CourseSelection, Feature, FeatureGrant, SchoolSyncSettings, SelectionChange
from lis.selection.services import selections_set_sync, selections_sync
from tests import factories as f
from tests.lis.lis_pages import act, classes_url, courses_url, login, save_list, selection, switch_url

pytestmark = pytest.mark.django_db


# --- changing ---------------------------------------------------------------------------------


def test_granted_admin_ticks_in_the_list_and_it_is_recorded(lis_rows, granted_admin):
    algebra, biology = selection(lis_rows["A100"]["algebra"]), selection(lis_rows["A100"]["biology"])
    response = save_list(login(granted_admin), courses_url(), {algebra.pk: True, biology.pk: False})
    assert response.status_code == 302
    algebra.refresh_from_db()
    biology.refresh_from_db()
    assert algebra.sync and not biology.sync
    change = SelectionChange.objects.get()
    assert (change.school_id, change.changed_by, change.field, change.old_value, change.new_value) == (
        algebra.course.school_id,
        granted_admin,
        "sync",
        "no",
        "yes",
    )
    assert change.target.startswith("course Algebra A100")


def test_crafted_list_post_for_another_schools_row_fails(lis_rows, granted_admin):
    own, foreign = selection(lis_rows["A100"]["algebra"]), selection(lis_rows["B200"]["algebra"])
    client = login(granted_admin)
    # An id outside the user's rows reads as "add a row", which list_editable refuses as a whole.
    assert save_list(client, courses_url(), {foreign.pk: True}).status_code == 400
    assert save_list(client, courses_url(), {own.pk: True, foreign.pk: True}).status_code == 400
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert not own.sync and not foreign.sync
    assert not SelectionChange.objects.exists()


def test_crafted_post_cannot_tick_a_past_year_row(lis_rows, support):
    old = CourseSelection.objects.create(course=lis_rows["A100"]["old_course"])
    save_list(login(support), courses_url(), {old.pk: True})
    act(login(support), courses_url(), "select_for_sync", [old.pk])
    old.refresh_from_db()
    assert not old.sync and not SelectionChange.objects.exists()


def test_bulk_actions_change_and_record_each_row(lis_rows, granted_admin):
    client = login(granted_admin)
    form_9, form_10 = selection(lis_rows["A100"]["form_9"]), selection(lis_rows["A100"]["form_10"])
    response = act(client, classes_url(), "select_for_sync", [form_9.pk, form_10.pk])
    assert response.status_code == 302
    assert set(ClassSelection.objects.filter(sync=True).values_list("pk", flat=True)) == {form_9.pk, form_10.pk}
    assert SelectionChange.objects.filter(new_value="yes").count() == 2
    messages = [str(m) for m in client.get(classes_url()).context["messages"]]
    assert "2 LIS Classes selected for sync." in messages
    page = act(client, classes_url(), "remove_from_sync", [form_9.pk])  # first the confirmation page
    text = page.content.decode()
    assert page.status_code == 200 and "Remove 1 LIS class from sync?" in text and "Form 9 A100 (3 students)" in text
    assert "lose 3 student and 2 teacher enrolments" in text
    form_9.refresh_from_db()
    assert form_9.sync
    act(client, classes_url(), "remove_from_sync", [form_9.pk], confirm=True)
    form_9.refresh_from_db()
    assert not form_9.sync
    assert SelectionChange.objects.filter(old_value="yes", new_value="no").count() == 1


def test_crafted_bulk_action_for_another_schools_row_fails(lis_rows, granted_admin):
    foreign = selection(lis_rows["B200"]["form_9"])
    act(login(granted_admin), classes_url(), "select_for_sync", [foreign.pk])
    foreign.refresh_from_db()
    assert not foreign.sync and not SelectionChange.objects.exists()


def test_admin_of_b_changes_only_b(lis_rows, admin_of_b):
    client = login(admin_of_b)
    own, foreign = selection(lis_rows["B200"]["algebra"]), selection(lis_rows["A100"]["algebra"])
    act(client, courses_url(), "select_for_sync", [own.pk, foreign.pk])
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.sync and not foreign.sync


def test_support_changes_any_school(lis_rows, support):
    rows = [selection(lis_rows[code]["algebra"]) for code in ("A100", "B200")]
    save_list(login(support), courses_url(), {row.pk: True for row in rows})
    assert CourseSelection.objects.filter(sync=True).count() == 2
    assert set(SelectionChange.objects.values_list("school__code", flat=True)) == {"A100", "B200"}


def test_change_form_edits_own_row_and_hides_others(lis_rows, granted_admin):
    client = login(granted_admin)
    own, foreign = selection(lis_rows["A100"]["algebra"]), selection(lis_rows["B200"]["algebra"])
    url = reverse("admin:lis_courseselection_change", args=[own.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Advanced options" in page.content.decode()
    assert client.post(url, {"sync": "on"}).status_code == 302
    own.refresh_from_db()
    assert own.sync and SelectionChange.objects.count() == 1
    foreign_url = reverse("admin:lis_courseselection_change", args=[foreign.pk])
    assert client.get(foreign_url).status_code == 302  # "does not exist", like any unknown id
    client.post(foreign_url, {"sync": "on"})
    foreign.refresh_from_db()
    assert not foreign.sync


def test_nobody_adds_or_deletes_selections(lis_rows, support):
    client = login(support)
    assert client.get(reverse("admin:lis_courseselection_add")).status_code == 403
    row = selection(lis_rows["A100"]["algebra"])
    assert client.get(reverse("admin:lis_courseselection_delete", args=[row.pk])).status_code == 403


# --- the switch -------------------------------------------------------------------------------


def test_granted_admin_sets_the_school_switch_and_it_is_recorded(lis_rows, granted_admin, school_a):
    client = login(granted_admin)
    response = client.post(
        switch_url("classselection", school_a), {"should_sync": "on", "_changelist_filters": "q=Form"}
    )
    assert response.status_code == 302 and response["Location"] == classes_url() + "?q=Form"
    assert SchoolSyncSettings.objects.get(school=school_a).should_sync
    client.post(switch_url("classselection", school_a), {"should_sync": "on"})  # unchanged: not recorded again
    off = client.post(switch_url("classselection", school_a), {})  # switching off asks first
    assert off.status_code == 200 and "Switch Alder High off?" in off.content.decode()
    assert "removes everything Alder High has in Microsoft: 0 classes and 0 users" in off.content.decode()
    assert SchoolSyncSettings.objects.get(school=school_a).should_sync
    client.post(switch_url("classselection", school_a), {"confirm": "yes"})
    assert not SchoolSyncSettings.objects.get(school=school_a).should_sync
    history = list(SelectionChange.objects.order_by("pk").values_list("field", "old_value", "new_value", "changed_by"))
    assert history == [
        ("should sync school", "no", "yes", granted_admin.pk),
        ("should sync school", "yes", "no", granted_admin.pk),
    ]


def test_switch_refuses_get_and_other_schools(lis_rows, granted_admin, admin_of_b, ungranted_admin, school_a, school_b):
    assert login(granted_admin).get(switch_url("courseselection", school_a)).status_code == 405
    assert login(granted_admin).post(switch_url("courseselection", school_b), {"should_sync": "on"}).status_code == 403
    assert login(admin_of_b).post(switch_url("courseselection", school_a), {"should_sync": "on"}).status_code == 403
    assert login(ungranted_admin).post(switch_url("classselection", school_a), {"should_sync": "on"}).status_code == 403
    assert not SchoolSyncSettings.objects.exists() and not SelectionChange.objects.exists()


def test_switch_needs_csrf(lis_rows, granted_admin, school_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(granted_admin)
    assert client.post(switch_url("courseselection", school_a), {"should_sync": "on"}).status_code == 403
    assert not SchoolSyncSettings.objects.exists()


def test_support_sets_any_schools_switch(lis_rows, support, school_b):
    response = login(support).post(switch_url("courseselection", school_b), {"should_sync": "on"})
    assert response.status_code == 302
    assert SchoolSyncSettings.objects.get(school=school_b).should_sync
    assert login(support).post(reverse("admin:lis_courseselection_school_sync", args=[999999]), {}).status_code == 404


# --- history ----------------------------------------------------------------------------------


def test_history_is_visible_per_school(lis_rows, granted_admin, admin_of_b, support, school_a):
    login(granted_admin).post(switch_url("courseselection", school_a), {"should_sync": "on"})
    act(login(admin_of_b), courses_url(), "select_for_sync", [selection(lis_rows["B200"]["algebra"]).pk])
    url = reverse("admin:lis_selectionchange_changelist")
    page_a = login(granted_admin).get(url).content.decode()
    assert "should sync school" in page_a and "no → yes" in page_a and "Algebra B200" not in page_a
    page_b = login(admin_of_b).get(url).content.decode()
    assert "Algebra B200" in page_b and "should sync school" not in page_b
    page_support = login(support).get(url).content.decode()
    assert "Algebra B200" in page_support and "should sync school" in page_support
    assert 'href="' + url in login(granted_admin).get(courses_url()).content.decode()  # the History link


def test_history_is_read_only(lis_rows, granted_admin, support, school_a):
    login(granted_admin).post(switch_url("courseselection", school_a), {"should_sync": "on"})
    change = SelectionChange.objects.get()
    for user in (granted_admin, support):
        client = login(user)
        assert (
            client.post(reverse("admin:lis_selectionchange_change", args=[change.pk]), {"new_value": "x"}).status_code
            == 403
        )
        assert client.get(reverse("admin:lis_selectionchange_delete", args=[change.pk])).status_code == 403
    change.refresh_from_db()
    assert change.new_value == "yes"


# --- support's pages --------------------------------------------------------------------------


def test_only_support_manages_feature_grants(lis_rows, support, granted_admin, school_a):
    team = Group.objects.create(name="Alder office")
    url = reverse("admin:lis_featuregrant_add")
    assert login(granted_admin).get(reverse("admin:lis_featuregrant_changelist")).status_code == 403
    assert (
        login(granted_admin)
        .post(url, {"feature": Feature.LIS_COURSES, "school": school_a.pk, "group": team.pk})
        .status_code
        == 403
    )
    assert not FeatureGrant.objects.filter(group=team).exists()
    response = login(support).post(url, {"feature": Feature.LIS_COURSES, "school": school_a.pk, "group": team.pk})
    assert response.status_code == 302
    assert FeatureGrant.objects.get(group=team).granted_by == support
    # Support's own group and another school's group are refused, with the reason.
    support_group = support.groups.get()
    refused = login(support).post(url, {"feature": Feature.LIS_CLASSES, "school": school_a.pk, "group": support_group.pk})
    assert refused.status_code == 200 and not FeatureGrant.objects.filter(group=support_group).exists()
    birch = Group.objects.create(name="Birch office")
    f.school_admin(lis_rows["B200"]["form_9"].school, username="birch_clerk").groups.add(birch)
    other = login(support).post(url, {"feature": Feature.LIS_CLASSES, "school": school_a.pk, "group": birch.pk})
    assert "is not a group of Alder High" in other.content.decode()
    assert not FeatureGrant.objects.filter(group=birch).exists()


def test_support_edits_sync_settings_and_it_is_recorded(lis_rows, support, school_a):
    client = login(support)
    response = client.post(
        reverse("admin:lis_schoolsyncsettings_add"),
        {"school": school_a.pk, "should_sync": "on", "users_to_publish": "group_members"},
    )
    assert response.status_code == 302
    settings = SchoolSyncSettings.objects.get(school=school_a)
    assert settings.should_sync and settings.users_to_publish == "group_members" and not settings.share_demographics
    assert set(SelectionChange.objects.values_list("field", flat=True)) == {"should sync school", "users to publish"}
    client.post(
        reverse("admin:lis_schoolsyncsettings_change", args=[settings.pk]),
        {"users_to_publish": "group_members", "share_demographics": "on"},
    )
    assert SelectionChange.objects.filter(field="share demographics", old_value="no", new_value="yes").count() == 1
    assert login(f.school_admin(school_a)).get(reverse("admin:lis_schoolsyncsettings_changelist")).status_code == 403


# --- services ---------------------------------------------------------------------------------


def test_selections_sync_creates_missing_rows_once(lis_rows, school_a):
    CourseSelection.objects.all().delete()
    assert selections_sync(model=CourseSelection, school_ids=[school_a.pk]) == 2
    assert selections_sync(model=CourseSelection, school_ids=[school_a.pk]) == 0
    assert not CourseSelection.objects.filter(course__name__startswith="Old").exists()
    assert selections_sync(model=CourseSelection) == 2  # school B's


def test_selections_set_sync_skips_rows_already_in_state(lis_rows, granted_admin):
    rows = CourseSelection.objects.filter(course__school__code="A100")
    assert selections_set_sync(selections=rows, sync=True, user=granted_admin) == 2
    assert selections_set_sync(selections=rows, sync=True, user=granted_admin) == 0
    assert SelectionChange.objects.count() == 2


# --- the persona matrix: school A's rows and switch, as each persona --------------------------


@pytest.mark.parametrize(
    ("persona", "sees", "list_edit", "action", "switch"),
    [
        ("support", True, 302, 302, 302),
        ("granted_admin", True, 302, 302, 302),
        ("ungranted_admin", None, 403, 403, 403),  # None: the page itself answers 403
        ("admin_of_b", False, 400, 302, 403),  # a crafted POST for A's rows fails and changes nothing
    ],
)
def test_who_may_list_and_change_school_a(persona, sees, list_edit, action, switch, lis_rows, school_a, request):
    client = login(request.getfixturevalue(persona))
    algebra, biology = selection(lis_rows["A100"]["algebra"]), selection(lis_rows["A100"]["biology"])
    may_change = list_edit == 302

    response = client.get(courses_url())
    if sees is None:
        assert response.status_code == 403
    else:
        assert ("Algebra A100" in [str(row) for row in response.context["cl"].result_list]) is sees
    assert save_list(client, courses_url(), {algebra.pk: True}).status_code == list_edit
    assert act(client, courses_url(), "select_for_sync", [biology.pk]).status_code == action
    assert client.post(switch_url("courseselection", school_a), {"should_sync": "on"}).status_code == switch

    algebra.refresh_from_db()
    biology.refresh_from_db()
    settings = SchoolSyncSettings.objects.filter(school=school_a).first()
    assert (algebra.sync, biology.sync, bool(settings and settings.should_sync)) == (may_change,) * 3
    assert SelectionChange.objects.filter(school=school_a).count() == (3 if may_change else 0)


def test_the_demo_switches_schools_on_through_the_service_so_the_history_shows_it(lis_rows, school_a, support):
    from io import StringIO

    from lis.management.commands.demo import Command

    Command(stdout=StringIO()).tick_everything([school_a], support)
    change = SelectionChange.objects.get(school=school_a, target="school settings")
    assert (change.field, change.old_value, change.new_value, change.changed_by) == ("should sync school", "no", "yes", support)
    assert school_a.sync_settings.should_sync
