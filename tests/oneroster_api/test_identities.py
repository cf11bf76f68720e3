"""Identities SDS can trust (issue 14), checked through the API as SDS reads it.

Real MySchool rows are published with :func:`lis.publication.publish_school` and read back over
``/ims/oneroster/v1p1`` with an OAuth token of the tenant's integration, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from lis.models import CourseSelection, Integration, PublicationRun, PublishedObject, SchoolSyncSettings
from lis.publication import publish_school
from lis.readiness import active_year_notice, school_readiness
from myschool import models as m
from myschool.oneroster_csv import BundleError, import_oneroster_csv
from tests.lis.publication_fixtures import SmallSchool, small_school

from . import published as p

pytestmark = pytest.mark.django_db

CONTOSO = settings.SAMPLE_ROSTER


@pytest.fixture
def fabrikam():
    """Two small schools of one Microsoft tenant (integration "Fabrikam"), and a token of its SDS client."""
    first, second = small_school("FA1"), small_school("FA2")
    integration = p.integration(first.school, second.school, name="Fabrikam")
    token = p.bearer_token(p.oauth_client(integration, name="SDS Fabrikam"))
    return first, second, token


def publish(*schools: SmallSchool) -> None:
    for small in schools:
        assert publish_school(small.school).status == "succeeded", small.school


def users(api, token: str, path: str = "users", **params) -> list[dict]:
    response = api(path, token, **params)
    assert response.status_code == 200, response.content
    return response.json()["users"]


# (c) case-insensitive email and username ---------------------------------------------------------


def test_email_and_username_filters_ignore_case(api, fabrikam):
    first, second, token = fabrikam
    teacher = first.teachers[0]
    teacher.username, teacher.primary_email = "OKlein", "oklein@fabrikam.example"
    teacher.save()
    publish(first, second)

    for text in (
        "email='OKLEIN@fabrikam.example'",
        "email='oklein@FABRIKAM.example'",
        "username='oklein'",
        "username='OKLEIN'",
        "username='OKlein' AND role='teacher'",
    ):
        assert [u["sourcedId"] for u in users(api, token, filter=text)] == [teacher.sourced_id], text
    found = users(api, token, filter="email='OKLEIN@fabrikam.example'")[0]
    assert (found["email"], found["username"]) == ("oklein@fabrikam.example", "OKlein")
    others = users(api, token, filter="email!='OKLEIN@FABRIKAM.EXAMPLE'", limit="100")
    assert teacher.sourced_id not in {u["sourcedId"] for u in others} and len(others) == 17
    # Other text fields keep exact, code-point equality.
    assert users(api, token, filter=f"givenName='{teacher.given_name.upper()}'") == []


# (b) duplicate and generated usernames -------------------------------------------------------------


def test_duplicate_usernames_in_the_tenant_are_withheld_and_reported(api, client, fabrikam, support):
    first, second, token = fabrikam
    here, there = first.teachers[0], second.students[0]
    m.Teacher.objects.filter(pk=here.pk).update(username="OKlein")
    m.Student.objects.filter(pk=there.pk).update(username="oklein@fabrikam.example")  # published as "oklein"
    publish(first, second)

    published_ids = {u["sourcedId"] for u in users(api, token, limit="100")}
    assert here.sourced_id not in published_ids and there.sourced_id not in published_ids
    assert len(published_ids) == 2 * 9 - 2
    assert not PublishedObject.objects.filter(kind="enrollment", user_ref__in=[here.sourced_id, there.sourced_id])
    run = PublicationRun.objects.filter(school=first.school).latest("pk")
    assert run.counts["withheld"]["duplicate_username"] == 1

    report = school_readiness(first.school)
    problem = next(p for p in report.problems if p.code == "duplicate_username")
    assert problem.is_blocking and problem.count == 1 and problem.examples == (f"Alan {here.family_name} (teacher {here.staff_number})",)
    client.force_login(support)
    page = client.get(reverse("admin:lis_readiness_school", args=[first.school.pk]))
    fix = dict((p.code, url) for _, rows in page.context["reports"] for p, url in rows)["duplicate_username"]
    listed = client.get(fix)
    assert listed.status_code == 200 and here.family_name in listed.content.decode()
    assert second.teachers[1].family_name not in listed.content.decode()

    # Renaming one of them publishes both again.
    m.Student.objects.filter(pk=there.pk).update(username="oklein2")
    publish(first, second)
    published_ids = {u["sourcedId"] for u in users(api, token, limit="100")}
    assert {here.sourced_id, there.sourced_id} <= published_ids


def test_generated_usernames_never_clash(api, fabrikam):
    first, second, token = fabrikam
    john_teacher = first.teachers[0]
    m.Teacher.objects.filter(pk=john_teacher.pk).update(username="John")
    a, b = first.students[0], second.students[0]
    m.Student.objects.filter(pk=a.pk).update(username="", primary_email="john@a.example")
    m.Student.objects.filter(pk=b.pk).update(username="", primary_email="john@b.example")
    c = second.students[1]
    m.Student.objects.filter(pk=c.pk).update(username="", primary_email=f"john.{a.student_number}@b.example")
    publish(first, second)

    found = {u["sourcedId"]: u["username"] for u in users(api, token, limit="100")}
    assert len(found) == 18
    assert found[john_teacher.sourced_id] == "John"
    # "john" is the teacher's login name, so a and b get their number appended; c's own email gives
    # john.<a's number>, which a (created earlier) already has, so c's number is appended in turn.
    assert found[a.sourced_id] == f"john.{a.student_number}"
    assert found[b.sourced_id] == f"john.{b.student_number}"
    assert found[c.sourced_id] == f"john.{a.student_number}.{c.student_number}"
    assert len({name.lower() for name in found.values()}) == len(found)
    assert all("@" not in name for name in found.values())


# (d) the importer and sourcedIds of other schools ------------------------------------------------

HEADERS = {
    "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    "courses": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes",
    "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,"
    "termSourcedIds,subjects,subjectCodes,periods",
    "users": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
    "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
}


def write_bundle(folder, **files: list[str]):
    """A OneRoster 1.1 CSV bundle in ``folder``: each keyword is a file, its rows CSV lines after the header."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    for name in HEADERS:
        manifest.append(f"file.{name},{'bulk' if name in files else 'absent'}")
        if name in files:
            (folder / f"{name}.csv").write_text("\n".join([HEADERS[name], *files[name]]) + "\n", encoding="utf-8")
    (folder / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return folder


def northwind(folder, *, student_id: str = "usr-13001", given: str = "Nora"):
    """A one-school bundle (Northwind, org-30001) whose student reuses ``student_id``."""
    return write_bundle(
        folder,
        orgs=["org-30001,,,Northwind School,school,30001,"],
        academicSessions=["nw-y,,,2026/27,schoolYear,2026-08-01,2027-07-31,,2027"],
        courses=["nw-c1,,,nw-y,Math,M,,org-30001,Math,"],
        classes=["nw-k1,,,Math 1,,nw-c1,M1,scheduled,,org-30001,nw-y,,,"],
        users=[f"{student_id},,,true,org-30001,student,nwstudent,,{given},Nord,,30001,nora@northwind.example,,,,09,"],
        enrollments=[f"nw-e1,,,nw-k1,org-30001,{student_id},student,false,,"],
    )


def contoso_published(api) -> tuple[str, list[m.School]]:
    """The sample roster imported, ticked and published for one integration; returns its token and schools."""
    for course in m.Course.objects.all():
        CourseSelection.objects.get_or_create(course=course, defaults={"sync": True})
    schools = list(m.School.objects.order_by("code"))
    for school in schools:
        SchoolSyncSettings.objects.get_or_create(school=school, defaults={"should_sync": True})
    integration = Integration.objects.filter(schools=schools[0]).first() or p.integration(*schools, name="Contoso")
    for school in schools:
        assert publish_school(school).status == "succeeded"
    return p.bearer_token(p.oauth_client(integration)), schools


def test_the_importer_refuses_a_sourced_id_of_another_school(api, tmp_path):
    import_oneroster_csv(CONTOSO)
    before = {model: sorted(model.objects.values_list()) for model in (m.School, m.Student, m.CourseStudent)}

    with pytest.raises(BundleError) as refused:
        import_oneroster_csv(northwind(tmp_path / "northwind"))

    assert [str(problem) for problem in refused.value.problems] == [
        "users.csv:2: sourcedId 'usr-13001' is already used by a student of another school, Contoso High School "
        "(10001); sourcedIds must be unique across schools — give this row another id"
    ]
    assert {model: sorted(model.objects.values_list()) for model in before} == before  # nothing written
    token, _ = contoso_published(api)
    ora = users(api, token, filter="sourcedId='usr-13001'")
    assert [(u["givenName"], u["orgs"][0]["sourcedId"]) for u in ora] == [("Ora", "org-10001")]

    # The same bundle with its own id imports; a re-import of the same school still updates by sourcedId.
    import_oneroster_csv(northwind(tmp_path / "northwind-ok", student_id="nw-s1"))
    import_oneroster_csv(northwind(tmp_path / "northwind-renamed", student_id="nw-s1", given="Noor"))
    assert m.Student.objects.get(sourced_id="nw-s1").given_name == "Noor"
    assert m.Student.objects.get(sourced_id="usr-13001").given_name == "Ora"


# (e) subjects and subjectCodes are lists ---------------------------------------------------------


def test_subjects_and_subject_codes_stay_lists_from_csv_to_api(api, tmp_path):
    write_bundle(
        tmp_path / "lists",
        orgs=["org-40001,,,Lakeside School,school,40001,"],
        academicSessions=["ls-y,,,2026/27,schoolYear,2026-08-01,2027-07-31,,2027"],
        courses=['ls-c1,,,ls-y,Science,SC,,org-40001,"Math, Science","MA01,SC02"'],
        classes=["ls-k1,,,Science 1,,ls-c1,S1,scheduled,,org-40001,ls-y,,,"],
        users=["ls-t1,,,true,org-40001,teacher,lteach,,Lea,Teach,,T1,lea@lakeside.example,,,,,"],
        enrollments=["ls-e1,,,ls-k1,org-40001,ls-t1,teacher,true,,"],
    )
    import_oneroster_csv(tmp_path / "lists")
    subject = m.Subject.objects.get(sourced_id="ls-c1")
    assert (subject.subject_list, subject.subject_code_list) == (["Math", "Science"], ["MA01", "SC02"])
    import_oneroster_csv(tmp_path / "lists")  # a re-import keeps them as they are
    token, _ = contoso_published(api)

    course = api("courses/ls-c1", token).json()["course"]
    assert (course["subjects"], course["subjectCodes"]) == (["Math", "Science"], ["MA01", "SC02"])
    klass = api("classes/ls-k1", token).json()["class"]
    assert (klass["subjects"], klass["subjectCodes"]) == (["Math", "Science"], ["MA01", "SC02"])


# (f) an active year that is not the current one --------------------------------------------------


def test_an_ended_active_year_is_published_with_a_warning_and_a_banner(api, client, support):
    import_oneroster_csv(CONTOSO)
    token, schools = contoso_published(api)
    contoso = schools[0]
    contoso.active_year.name = "2017-18"
    contoso.active_year.save()
    assert publish_school(contoso).status == "succeeded"

    year = api("academicSessions/as-year-2018", token).json()["academicSession"]
    assert (year["status"], year["title"], year["schoolYear"]) == ("active", "2017-18", "2018")
    assert {c["status"] for c in api("classes", token).json()["classes"]} == {"active"}

    message = "MySchool's active year 2017-18 ended on 30 June 2018; SDS will receive it as current."
    problem = next(p for p in school_readiness(contoso).problems if p.code == "active_year_not_current")
    assert (problem.severity, problem.message) == ("warning", message)
    client.force_login(support)
    for name in ("admin:lis_courseselection_changelist", "admin:lis_classselection_changelist"):
        page = client.get(reverse(name), {"school": contoso.pk})
        assert page.status_code == 200 and "ended on 30 June 2018; SDS will receive it as current." in page.content.decode()

    # A year that has not started yet is the other case; a current year gives no notice.
    future = m.AcademicYear(name="2030/31", start_date=dt.date(2030, 8, 1), end_date=dt.date(2031, 7, 31))
    assert active_year_notice(future, dt.date(2026, 12, 2)) == (
        "MySchool's active year 2030/31 starts on 1 August 2030; SDS will receive it as current already."
    )
    assert active_year_notice(future, dt.date(2030, 8, 1)) is None
