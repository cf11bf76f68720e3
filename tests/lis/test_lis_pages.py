"""LIS Courses and LIS Classes as the four personas see them: navigation, access, listing, query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from lis.admin.navigation import ADVANCED_OPTIONS, LIS_EXPLAINED
from lis.backends import FeatureGrantBackend
from lis.models import CourseSelection, Feature, SchoolSyncSettings, SelectionChange
from tests import factories as f
from tests.lis.lis_pages import (
    act,
    classes_url,
    courses_url,
    groups_created,
    listed,
    login,
    save_list,
    selection,
    switch_url,
)

pytestmark = pytest.mark.django_db


# --- navigation -------------------------------------------------------------------------------


def test_granted_admin_sees_advanced_options_with_school_facing_names(lis_rows, granted_admin):
    page = login(granted_admin).get(reverse("admin:index")).content.decode()
    assert ADVANCED_OPTIONS in page
    assert "LIS Courses" in page and "LIS Classes" in page and "LIS history" in page
    for internal in ("Lis", "Course selections", "Class selections", "Microsoft sync", "Feature grants"):
        assert f">{internal}<" not in page


def test_ungranted_admin_sees_no_lis_entries(lis_rows, ungranted_admin):
    page = login(ungranted_admin).get(reverse("admin:index")).content.decode()
    assert "LIS Courses" not in page and "LIS Classes" not in page and ADVANCED_OPTIONS not in page


def test_one_feature_shows_only_its_page(school_a, lis_rows):
    user = f.school_admin(school_a, username="classes_only")
    user.groups.add(f.granted_group(school_a, Feature.LIS_CLASSES))
    client = login(user)
    page = client.get(reverse("admin:index")).content.decode()
    assert "LIS Classes" in page and "LIS Courses" not in page
    assert client.get(classes_url()).status_code == 200
    assert client.get(courses_url()).status_code == 403


def test_support_sees_advanced_options_and_the_support_pages(lis_rows, support):
    page = login(support).get(reverse("admin:index")).content.decode()
    assert (
        ADVANCED_OPTIONS in page
        and "LIS Courses" in page
        and "Feature grants" in page
        and "School sync settings" in page
    )


def test_one_section_name_in_sidebar_breadcrumbs_and_titles(lis_rows, support):
    client = login(support)
    index = client.get(reverse("admin:index")).content.decode()
    assert "<title>Site administration | MySchool admin</title>" not in index  # Django's default wording is gone
    assert "MySchool administration" in index and "Django administration" not in index
    assert escape(LIS_EXPLAINED) in index  # "LIS" explained once, where the section is listed
    section = client.get(reverse("admin:app_list", args=["lis"])).content.decode()
    assert f"<h1>{ADVANCED_OPTIONS}</h1>" in section and "administration</h1>" not in section
    for url in (classes_url(), reverse("admin:lis_featuregrant_changelist"), reverse("admin:lis_publicationrun_changelist")):
        page = client.get(url).content.decode()
        breadcrumbs = page.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
        assert ADVANCED_OPTIONS in breadcrumbs and "Microsoft sync" not in breadcrumbs, url


def test_sections_and_their_models_sort_naturally():
    from myschool.admin_site import natural_key

    names = ["Art 10A", "Art 7A", "art 11", "10A", "7A", "Biology"]
    assert sorted(names, key=natural_key) == ["7A", "10A", "Art 7A", "Art 10A", "art 11", "Biology"]


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [courses_url, classes_url, lambda: reverse("admin:lis_selectionchange_changelist")])
def test_ungranted_admin_gets_403_on_every_lis_page(url, lis_rows, ungranted_admin):
    assert login(ungranted_admin).get(url()).status_code == 403


def test_ungranted_admin_cannot_change_open_or_act(lis_rows, ungranted_admin):
    client = login(ungranted_admin)
    algebra = selection(lis_rows["A100"]["algebra"])
    assert client.get(reverse("admin:lis_courseselection_change", args=[algebra.pk])).status_code == 403
    assert save_list(client, courses_url(), {algebra.pk: True}).status_code == 403
    assert act(client, courses_url(), "select_for_sync", [algebra.pk]).status_code == 403
    assert (
        client.post(
            switch_url("courseselection", lis_rows["A100"]["algebra"].school), {"should_sync": "on"}
        ).status_code
        == 403
    )
    algebra.refresh_from_db()
    assert not algebra.sync
    assert not SchoolSyncSettings.objects.exists() and not SelectionChange.objects.exists()


def test_grant_for_another_school_gives_nothing(school_a, school_b, lis_rows):
    """Membership of a group granted for school A does not open A's rows to B's administrator."""
    stranger = f.school_admin(school_b, username="stranger")
    stranger.groups.add(f.granted_group(school_a, name="A's team"))
    assert login(stranger).get(courses_url()).status_code == 403
    assert not FeatureGrantBackend().get_all_permissions(stranger)


def test_backend_gives_inactive_and_anonymous_users_nothing(granted_admin):
    backend = FeatureGrantBackend()
    assert "lis.manage_lis_courses" in backend.get_all_permissions(granted_admin)
    assert backend.has_module_perms(granted_admin, "lis") and not backend.has_module_perms(granted_admin, "myschool")
    granted_admin.is_active = False
    del granted_admin._lis_feature_grant_perm_cache
    assert backend.get_all_permissions(granted_admin) == set()
    assert backend.get_all_permissions(AnonymousUser()) == set()


def test_support_has_every_lis_permission_from_the_migration(support):
    for perm in (
        "lis.manage_lis_courses",
        "lis.manage_lis_classes",
        "lis.add_featuregrant",
        "lis.change_schoolsyncsettings",
        "lis.view_selectionchange",
    ):
        assert support.has_perm(perm), perm


def test_school_administrators_group_has_no_lis_permission(ungranted_admin):
    assert not any(perm.startswith("lis.") for perm in ungranted_admin.get_all_permissions())


# --- listing ----------------------------------------------------------------------------------


def test_granted_admin_lists_only_their_schools_active_year_rows(lis_rows, granted_admin):
    client = login(granted_admin)
    assert sorted(listed(client.get(courses_url()))) == ["Algebra A100", "Biology A100"]
    assert sorted(listed(client.get(classes_url()))) == ["Form 10 A100", "Form 9 A100"]


def test_admin_of_b_lists_only_b(lis_rows, admin_of_b):
    assert sorted(listed(login(admin_of_b).get(courses_url()))) == ["Algebra B200", "Biology B200"]


def test_support_lists_every_school_but_never_a_past_year(lis_rows, support):
    client = login(support)
    names = listed(client.get(courses_url()))
    assert sorted(names) == ["Algebra A100", "Algebra B200", "Biology A100", "Biology B200"]
    assert listed(client.get(courses_url(), {"q": "Old"})) == []
    assert listed(client.get(classes_url(), {"q": "Old"})) == []


def test_rows_appear_for_new_courses_of_the_active_year(lis_rows, granted_admin, school_a):
    f.CourseFactory(school=school_a, year=school_a.active_year, name="Chemistry A100")
    groups_created(school_a)
    assert "Chemistry A100" in listed(login(granted_admin).get(courses_url()))
    assert not CourseSelection.objects.get(course__name="Chemistry A100").sync


def test_member_counts_are_distinct(lis_rows, granted_admin):
    response = login(granted_admin).get(courses_url())
    rows = {str(row): (row.teacher_count, row.student_count) for row in response.context["cl"].result_list}
    assert rows == {"Algebra A100": (2, 3), "Biology A100": (0, 1)}
    classes = login(granted_admin).get(classes_url())
    assert {str(r): (r.teacher_count, r.student_count) for r in classes.context["cl"].result_list} == {
        "Form 9 A100": (2, 3),
        "Form 10 A100": (0, 0),
    }


@pytest.mark.parametrize(
    ("url", "query", "expected"),
    [
        (courses_url, {"course__subject__id__exact": "SUBJECT"}, ["Algebra A100"]),
        (courses_url, {"grade": "10"}, ["Algebra A100"]),
        (courses_url, {"grade": "11"}, ["Biology A100"]),
        (courses_url, {"without_teacher": "yes"}, ["Biology A100"]),
        (courses_url, {"without_teacher": "no"}, ["Algebra A100"]),
        (courses_url, {"synced": "yes"}, ["Algebra A100"]),
        (courses_url, {"synced": "no"}, ["Biology A100"]),
        (courses_url, {"q": "Science"}, ["Biology A100"]),
        (classes_url, {"grade": "10"}, ["Form 10 A100"]),
        (classes_url, {"without_teacher": "yes"}, ["Form 10 A100"]),
        (classes_url, {"synced": "no"}, ["Form 10 A100", "Form 9 A100"]),
        (classes_url, {"q": '"Form 9"'}, ["Form 9 A100"]),  # quoted: one phrase, not "Form" and "9"
    ],
)
def test_filters_and_search(url, query, expected, lis_rows, granted_admin):
    CourseSelection.objects.filter(course=lis_rows["A100"]["algebra"]).update(sync=True)
    query = {
        key: str(lis_rows["A100"]["algebra"].subject_id) if value == "SUBJECT" else value
        for key, value in query.items()
    }
    response = login(granted_admin).get(url(), query)
    assert response.status_code == 200
    assert sorted(listed(response)) == sorted(expected)


def test_filters_offer_only_the_users_school(lis_rows, granted_admin):
    page = login(granted_admin).get(courses_url()).content.decode()
    assert "Math A100" in page and "Math B200" not in page
    assert "By school" not in page and "Birch Academy" not in page
    assert "Grade 10" in page and "Grade 12" not in page


def test_counts_and_switch_above_the_list(lis_rows, granted_admin):
    CourseSelection.objects.filter(course=lis_rows["A100"]["algebra"]).update(sync=True)
    CourseSelection.objects.filter(course=lis_rows["B200"]["algebra"]).update(sync=True)
    CourseSelection.objects.filter(course=lis_rows["B200"]["biology"]).update(sync=True)
    page = login(granted_admin).get(courses_url()).content.decode()
    assert "1 of 2 selected for sync" in page
    assert "Should sync school" in page and switch_url("courseselection", lis_rows["A100"]["algebra"].school) in page


def test_support_picks_a_school_to_see_its_switch(lis_rows, support, school_b):
    client = login(support)
    page = client.get(courses_url()).content.decode()
    assert "Choose a school in the filter" in page and "0 of 4 selected for sync in all schools" in page
    page = client.get(courses_url(), {"school": school_b.pk}).content.decode()
    assert switch_url("courseselection", school_b) in page and "0 of 2 selected for sync" in page


# --- query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["course", "class"])
@pytest.mark.parametrize("persona", ["granted_admin", "support", "support_all_schools"])
def test_query_count_is_the_same_for_10_and_60_rows(kind, persona, school_a, request):
    user = request.getfixturevalue(persona.removesuffix("_all_schools"))
    client = login(user)
    url = courses_url() if kind == "course" else classes_url()
    query = {"school": school_a.pk} if persona == "support" else {}
    made = 0

    def queries_for(rows: int) -> tuple[int, int]:
        """(queries of the first load after the new groups' rows were created, queries of the next load)."""
        nonlocal made
        for n in range(made, rows):
            if kind == "course":
                course = f.CourseFactory(school=school_a, year=school_a.active_year, grade_levels=f"{n % 12 + 1:02d}")
                f.CourseStudentFactory(course=course)
                f.CourseTeacherFactory(course=course)
            else:
                school_class = f.SchoolClassFactory(school=school_a, year=school_a.active_year)
                f.ClassStudentFactory(school_class=school_class)
                f.ClassTeacherFactory(school_class=school_class)
        groups_created(school_a)
        made = rows
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, query)
            assert response.status_code == 200
            assert len(response.context["cl"].result_list) == rows
            counts.append(len(ctx.captured_queries))
        return tuple(counts)

    assert queries_for(10) == queries_for(60)  # a query per row would add 50


def test_history_query_count_is_the_same_for_10_and_200_rows(school_a, granted_admin):
    client = login(granted_admin)
    url = reverse("admin:lis_selectionchange_changelist")

    def queries_for(rows: int) -> int:
        missing = rows - SelectionChange.objects.count()
        SelectionChange.objects.bulk_create(
            SelectionChange(
                school=school_a,
                changed_by=granted_admin,
                target=f"course C{n}",
                field="sync",
                old_value="no",
                new_value="yes",
            )
            for n in range(missing)
        )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(10) == queries_for(60)  # a query per row would add 50


# --- natural order of names ---------------------------------------------------------------------


def test_natural_key_compares_numbers_as_numbers():
    from lis.admin.ordering import natural_key

    names = ["Art 10A", "art 7B", "Art 7A", "Art 9", "Art", "Biology 1"]
    assert sorted(names, key=natural_key) == ["Art", "Art 7A", "art 7B", "Art 9", "Art 10A", "Biology 1"]


def test_classes_and_courses_list_7a_before_10a(school_a, granted_admin):
    year = school_a.active_year
    for name in ("Art 10A", "Art 7A", "Art 9B", "Art 11C"):
        f.SchoolClassFactory(school=school_a, year=year, name=name)
        f.CourseFactory(school=school_a, year=year, name=name)
    groups_created(school_a)
    client = login(granted_admin)
    expected = ["Art 7A", "Art 9B", "Art 10A", "Art 11C"]
    assert listed(client.get(classes_url())) == expected
    assert listed(client.get(courses_url())) == expected
    # the name column sorted descending; another column keeps the database's order
    columns = client.get(classes_url()).context["cl"].list_display
    name_index = columns.index("class_name")
    assert listed(client.get(classes_url(), {"o": f"-{name_index}"})) == expected[::-1]
    assert client.get(classes_url(), {"o": str(columns.index("grade"))}).status_code == 200


def test_natural_order_keeps_paging_correct(school_a, granted_admin, monkeypatch):
    from lis.admin.selection import ClassSelectionAdmin

    monkeypatch.setattr(ClassSelectionAdmin, "list_per_page", 3)
    for n in (12, 3, 1, 10, 2, 11, 20):
        f.SchoolClassFactory(school=school_a, year=school_a.active_year, name=f"Form {n}")
    groups_created(school_a)
    client = login(granted_admin)
    pages = [listed(client.get(classes_url(), {"p": page})) for page in (1, 2, 3)]
    assert pages == [["Form 1", "Form 2", "Form 3"], ["Form 10", "Form 11", "Form 12"], ["Form 20"]]
    assert listed(client.get(classes_url(), {"all": ""})) == [f"Form {n}" for n in (1, 2, 3, 10, 11, 12, 20)]


def test_saving_the_sync_column_works_in_natural_order(school_a, granted_admin):
    made = [f.SchoolClassFactory(school=school_a, year=school_a.active_year, name=n) for n in ("7A", "10A")]
    groups_created(school_a)
    client = login(granted_admin)
    client.get(classes_url())
    response = save_list(client, classes_url(), {selection(made[0]).pk: True, selection(made[1]).pk: False})
    assert response.status_code == 302
    assert selection(made[0]).sync and not selection(made[1]).sync
