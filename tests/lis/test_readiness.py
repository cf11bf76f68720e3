"""Sync readiness (lis.readiness), its pages and command, Microsoft domains, and the publication's rule for
users with blocking problems (withheld, counted in the run log)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lis.domains import microsoft_domains_register, school_email_tenant
from lis.models import ClassSelection, CourseSelection, PublishedObject, SchoolSyncSettings, UsersToPublish
from lis.publication import publish_school
from lis.readiness import Severity, integration_readiness, readiness_blocking_problems, school_readiness
from lis.selection.services import selections_sync
from myschool import models as m
from myschool.demo import MICROSOFT_DOMAIN, EmailProblemKind, demo_school_create
from tests import factories as f
from tests.lis.lis_pages import courses_url, login
from tests.lis.publication_fixtures import small_school
from tests.myschool.emails_helpers import tenant

pytestmark = pytest.mark.django_db


def codes(report) -> dict[str, tuple[str, int]]:
    return {problem.code: (problem.severity, problem.count) for problem in report.problems}


def tick_everything(school) -> None:
    for model in (CourseSelection, ClassSelection):
        selections_sync(model=model, school_ids=[school.pk])
    CourseSelection.objects.filter(course__school=school).update(sync=True)
    ClassSelection.objects.filter(school_class__school=school).update(sync=True)


# --- the demo school: exactly the seeded problems -------------------------------------------------


def test_the_demo_school_reports_exactly_its_seeded_email_problems():
    summary = demo_school_create(today=dt.date(2026, 3, 15))  # the default: 1200 students, 90 teachers
    school = summary.school
    tenant(school, domains=[MICROSOFT_DOMAIN], name="Demo tenant")
    tick_everything(school)

    report = school_readiness(school)

    expected = {
        "missing_email": EmailProblemKind.MISSING,
        "duplicate_email": EmailProblemKind.DUPLICATE,
        "foreign_domain": EmailProblemKind.FOREIGN_DOMAIN,
    }
    # The demo's year is that of 2026-03-15; on a later real date it has ended, which is a warning (issue 14).
    assert set(codes(report)) - {"active_year_not_current"} == set(expected)
    for problem in report.blocking:
        seeded = summary.problem_student_numbers(expected[problem.code])
        assert problem.severity == Severity.BLOCKING
        assert problem.count == len(seeded) == len(problem.examples)  # every one named
        assert {example.rsplit(" ", 1)[1].rstrip(")") for example in problem.examples} == seeded

    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("sync_readiness", school.code, stdout=out)
    assert failed.value.returncode == 2 and "3 blocking problem(s)" in str(failed.value)
    printed = out.getvalue()
    for number in summary.problem_student_numbers(EmailProblemKind.MISSING):
        assert f"(student {number})" in printed


def test_the_demo_school_publishes_without_the_withheld_users_and_counts_them():
    summary = demo_school_create(students=400, teachers=30, today=dt.date(2026, 3, 15))
    school = summary.school
    tenant(school, domains=[MICROSOFT_DOMAIN], name="Demo tenant")
    tick_everything(school)
    SchoolSyncSettings.objects.create(school=school, should_sync=True)

    result = publish_school(school)

    assert result.run.counts["withheld"] == {"missing_email": 1, "duplicate_email": 2, "foreign_domain": 1, "duplicate_username": 0}
    withheld = {p.sourced_id for p in summary.email_problems}
    users = PublishedObject.objects.filter(kind="user")
    assert users.count() == 400 + 30 - 4
    assert not users.filter(sourced_id__in=withheld).exists()
    assert not PublishedObject.objects.filter(kind="enrollment", user_ref__in=withheld).exists()
    emails = {u.payload["email"] for u in users}
    assert all(email.endswith("@" + MICROSOFT_DOMAIN) for email in emails) and len(emails) == users.count()


# --- the checks -----------------------------------------------------------------------------------


def test_a_ready_small_school_has_only_the_domains_warning_until_they_are_registered():
    small = small_school()
    assert codes(school_readiness(small.school)) == {"no_microsoft_domains": (Severity.WARNING, 0)}
    tenant(small.school)
    assert school_readiness(small.school).problems == []
    assert readiness_blocking_problems(small.school.integrations.get()) == []


def test_school_level_problems(school_a):
    no_year = f.SchoolFactory(name="Yearless", code="Y1")
    assert codes(school_readiness(no_year))["no_active_year"] == (Severity.BLOCKING, 0)
    assert codes(school_readiness(school_a))["no_terms"] == (Severity.WARNING, 0)


def test_ticked_groups_without_teacher_or_students_and_usernames():
    small = small_school()
    tenant(small.school)
    empty = f.CourseFactory(school=small.school, year=small.year, name="Empty course")
    CourseSelection.objects.create(course=empty, sync=True)
    unticked = f.CourseFactory(school=small.school, year=small.year, name="Not ticked")
    CourseSelection.objects.create(course=unticked, sync=False)
    small.students[0].username = ""
    small.students[0].save()
    m.Teacher.objects.filter(pk=small.teachers[0].pk).update(username="t@x.example")  # bypasses the validator
    report = school_readiness(small.school)
    assert codes(report) == {
        "group_without_teacher": (Severity.WARNING, 1),
        "group_without_students": (Severity.WARNING, 1),
        "username_missing": (Severity.WARNING, 1),
        "username_at": (Severity.WARNING, 1),
    }
    assert report.is_ready
    assert next(p for p in report.problems if p.code == "group_without_teacher").examples == ("Empty course",)


def test_members_only_reports_unplaced_students_and_ignores_their_emails():
    small = small_school()
    tenant(small.school)
    SchoolSyncSettings.objects.filter(school=small.school).update(users_to_publish=UsersToPublish.GROUP_MEMBERS)
    f.StudentFactory(school=small.school, primary_email="", given_name="Lone")
    report = school_readiness(small.school)
    assert codes(report) == {"unplaced_students": (Severity.WARNING, 1)}  # not published, so no email problem
    assert "Lone" in report.problems[0].examples[0]
    SchoolSyncSettings.objects.filter(school=small.school).update(users_to_publish=UsersToPublish.ALL_ACTIVE)
    assert codes(school_readiness(small.school)) == {"missing_email": (Severity.BLOCKING, 1)}


def test_duplicates_count_across_the_integrations_schools(school_a, school_b):
    integration = tenant(school_a, school_b)
    f.StudentFactory(school=school_a, primary_email="same@school.example")
    f.TeacherFactory(school=school_b, primary_email="Same@School.Example")
    f.StudentFactory(school=school_b, primary_email="same@school.example", status=m.Status.LEFT)  # left: no clash
    assert codes(school_readiness(school_a))["duplicate_email"] == (Severity.BLOCKING, 1)
    readiness = integration_readiness(integration)
    assert [report.school for report in readiness.reports] == [school_a, school_b]
    messages = readiness_blocking_problems(integration)
    assert any(msg.startswith("Alder High (A100): 1 user(s) share") for msg in messages)
    assert any(msg.startswith("Birch Academy (B200): 1 user(s) share") for msg in messages)


def test_an_integration_without_schools_only_warns():
    integration = tenant()
    assert readiness_blocking_problems(integration) == []
    assert [p.code for p in integration_readiness(integration).problems] == ["no_schools"]


def test_the_report_takes_the_same_queries_for_more_rows():
    small = small_school()
    tenant(small.school)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            school_readiness(small.school)
        return len(ctx.captured_queries)

    before = queries()
    for _ in range(20):
        f.StudentFactory(school=small.school, primary_email="")
        f.CourseStudentFactory(course=small.courses[0])
    assert queries() == before + 1  # one more query: examples of the new problem (missing emails)


# --- domains ------------------------------------------------------------------------------------


def test_domains_are_normalized_once_and_bad_ones_refused(school_a):
    integration = tenant(school_a, domains=["@Contoso.Example ", "contoso.example", "fabrikam.example"])
    assert sorted(integration.domains.values_list("domain", flat=True)) == ["contoso.example", "fabrikam.example"]
    with pytest.raises(ValidationError):
        microsoft_domains_register(integration=integration, domains=["good.example", "not a domain"])
    assert integration.domains.count() == 2
    assert school_email_tenant(school_a).domains == {"contoso.example", "fabrikam.example"}


# --- the pages and the command --------------------------------------------------------------------


def test_the_lis_pages_show_the_readiness_summary(lis_rows, granted_admin, school_a):
    f.StudentFactory(school=school_a, primary_email="")
    page = login(granted_admin).get(courses_url()).content.decode()
    assert "Sync readiness" in page and "blocking" not in page
    assert reverse("admin:lis_readiness_school", args=[school_a.pk]) in page


def test_the_summary_counts_the_withheld_people_once(lis_rows, granted_admin, school_a):
    # Two people without an email and two sharing one (ignoring case): publishing goes ahead without the
    # 4 of them, and the page says so instead of a red "N blocking".
    f.StudentFactory(school=school_a, primary_email="")
    f.StudentFactory(school=school_a, primary_email="")
    f.StudentFactory(school=school_a, primary_email="twin@contoso.example")
    f.TeacherFactory(school=school_a, primary_email="TWIN@contoso.example")
    page = login(granted_admin).get(courses_url()).content.decode()
    assert "4 people withheld</strong> (publishing goes ahead without them" in page


def test_readiness_pages_for_each_persona(school_a, school_b, admin_a, admin_b, support):
    integration = tenant(school_a)
    f.StudentFactory(school=school_a, primary_email="", given_name="Nomail")
    own, other = (reverse("admin:lis_readiness_school", args=[s.pk]) for s in (school_a, school_b))
    a = login(admin_a)
    assert a.get(reverse("admin:lis_readiness")).url == own
    page = a.get(own)
    assert page.status_code == 200 and "Nomail" in page.content.decode()
    assert a.get(other).status_code == 403
    assert a.get(reverse("admin:lis_readiness_integration", args=[integration.pk])).status_code == 403
    assert login(admin_b).get(own).status_code == 403
    s = login(support)
    assert "Tenant" in s.get(reverse("admin:lis_readiness")).content.decode()
    report = s.get(reverse("admin:lis_readiness_integration", args=[integration.pk]))
    assert "Nomail" in report.content.decode()
    for client, response in ((a, page), (s, report)):
        fixes = [url for _, rows in response.context["reports"] for _, url in rows if url]
        assert fixes and all(client.get(url).status_code == 200 for url in fixes)  # every "Fix" link opens


def test_the_command_on_a_ready_school_and_an_unknown_code():
    small = small_school()
    tenant(small.school)
    out = StringIO()
    call_command("sync_readiness", small.school.code, stdout=out)
    assert "0 blocking, 0 warning(s)" in out.getvalue() and "Ready to sync." in out.getvalue()
    with pytest.raises(CommandError, match="No school"):
        call_command("sync_readiness", "NOPE")


# --- the publication's rule on a small school ----------------------------------------------------


def test_withheld_users_lose_their_enrollments_and_are_counted(school_b):
    small = small_school()
    tenant(small.school, school_b)
    missing, foreign, twin = small.students[:3]
    m.Student.objects.filter(pk=missing.pk).update(primary_email="")
    m.Student.objects.filter(pk=foreign.pk).update(primary_email="x@gmail.example")
    f.TeacherFactory(school=school_b, primary_email=twin.primary_email)  # a clash in another school of the tenant
    result = publish_school(small.school)
    assert result.run.counts["withheld"] == {"missing_email": 1, "duplicate_email": 1, "foreign_domain": 1, "duplicate_username": 0}
    gone = {missing.sourced_id, foreign.sourced_id, twin.sourced_id}
    assert not PublishedObject.objects.filter(kind="user", sourced_id__in=gone).exists()
    assert not PublishedObject.objects.filter(kind="enrollment", user_ref__in=gone).exists()
    assert PublishedObject.objects.filter(kind="user").count() == 9 - 3


def test_readiness_pages_render_with_the_site_they_belong_to(school_a, support, rf):
    from django.contrib.admin import AdminSite

    from lis.admin.readiness import readiness_urls

    site = AdminSite(name="other")
    site.site_header = "Another site"
    request = rf.get("/")
    request.user = support
    for pattern, kwargs in zip(readiness_urls(site), ({}, {"school_id": school_a.pk}), strict=False):
        response = pattern.callback(request, **kwargs, **pattern.default_args)
        assert response.context_data["site_header"] == "Another site"
