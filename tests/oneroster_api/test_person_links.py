"""One person, one Microsoft user (issue 14 a): records of several schools linked as the same person.

Real MySchool rows of two schools of one tenant (integration "Fabrikam") are published with
:func:`lis.publication.publish_school` and read back over ``/ims/oneroster/v1p1`` with the
tenant's OAuth token, as SDS reads them (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from lis.models import PublishedObject
from lis.readiness import school_readiness
from myschool import models as m
from tests.lis.publication_fixtures import small_school

from . import published as p
from .test_identities import fabrikam, publish, users  # noqa: F401 — fabrikam is a fixture

pytestmark = pytest.mark.django_db


def link(record, main, *, email: str | None = None):
    """Link ``record`` to ``main`` as support does (``full_clean`` first), optionally giving both an email."""
    if email is not None:
        for person in (main, record):
            type(person).objects.filter(pk=person.pk).update(primary_email=email)
        record.refresh_from_db()
    record.same_person_as = main
    record.full_clean()
    record.save()
    return record


def org_ids(user: dict) -> list[str]:
    return [org["sourcedId"] for org in user["orgs"]]


def test_a_teacher_at_two_schools_is_one_user_with_both_orgs(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    main, copy = first.teachers[0], second.teachers[0]  # each the main teacher of Algebra 1 at their school
    link(copy, main, email="olga.klein@fabrikam.example")
    publish(first, second)
    a, b = first.school.sourced_id, second.school.sourced_id

    teachers = users(api, token, filter="role='teacher'", limit="100")
    assert len(teachers) == 5  # 3 + 3 records, one person counted once
    olga = [u for u in teachers if u["sourcedId"] == main.sourced_id]
    assert len(olga) == 1 and org_ids(olga[0]) == [a, b]
    assert copy.sourced_id not in {u["sourcedId"] for u in teachers}
    assert olga[0]["email"] == "olga.klein@fabrikam.example" and olga[0]["identifier"] == main.staff_number
    for school in (a, b):
        listed = users(api, token, f"schools/{school}/teachers", limit="100")
        assert main.sourced_id in {u["sourcedId"] for u in listed}, school
    for text in ("email='olga.klein@fabrikam.example'", "email='OLGA.KLEIN@fabrikam.example'"):
        assert [u["sourcedId"] for u in users(api, token, filter=text)] == [main.sourced_id]

    # Her enrollment at the second school references the one user.
    course_b = second.courses[0].sourced_id
    class_teachers = {u["sourcedId"] for u in users(api, token, f"classes/{course_b}/teachers")}
    assert class_teachers == {main.sourced_id, second.teachers[2].sourced_id}
    enrollments = api("enrollments", token, filter=f"class.sourcedId='{course_b}' AND primary='true'").json()["enrollments"]
    assert [e["user"]["sourcedId"] for e in enrollments] == [main.sourced_id]
    assert PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id).school == first.school


def test_leaving_one_school_shrinks_orgs_and_never_tombstones(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    link(copy, main, email="olga.klein@fabrikam.example")
    publish(first, second)
    before = max(u["dateLastModified"] for u in users(api, token, limit="100"))

    m.Teacher.objects.filter(pk=copy.pk).update(status=m.Status.LEFT)  # she leaves the second school
    publish(second)  # the second school's run alone brings the user up to date
    user = api(f"users/{main.sourced_id}", token).json()["user"]
    assert (user["status"], org_ids(user)) == ("active", [first.school.sourced_id])
    assert user["dateLastModified"] > before
    delta = users(api, token, filter=f"dateLastModified>'{before}' AND role='teacher'")
    assert [(u["sourcedId"], u["status"]) for u in delta] == [(main.sourced_id, "active")]
    assert main.sourced_id not in {u["sourcedId"] for u in users(api, token, f"schools/{second.school.sourced_id}/teachers")}
    course_b = second.courses[0].sourced_id
    assert {u["sourcedId"] for u in users(api, token, f"classes/{course_b}/teachers")} == {second.teachers[2].sourced_id}
    publish(first)
    assert api(f"users/{main.sourced_id}", token).json()["user"]["dateLastModified"] == user["dateLastModified"]

    # Back at the second school and gone from the first (the main record's): the user moves to the
    # second school's publication, same sourcedId, still active, never a tombstone in between.
    m.Teacher.objects.filter(pk=copy.pk).update(status=m.Status.ACTIVE)
    m.Teacher.objects.filter(pk=main.pk).update(status=m.Status.LEFT)
    publish(first)
    user = api(f"users/{main.sourced_id}", token).json()["user"]
    assert (user["status"], org_ids(user)) == ("active", [second.school.sourced_id])
    assert PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id).school == second.school
    publish(second, first)
    stored = PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id)
    assert (stored.status, stored.school) == ("active", second.school)
    assert not PublishedObject.objects.filter(kind="user", sourced_id=copy.sourced_id).exists()

    # Gone from both: now the user is a tombstone.
    m.Teacher.objects.filter(pk=copy.pk).update(status=m.Status.LEFT)
    publish(second)
    assert api(f"users/{main.sourced_id}", token).json()["user"]["status"] == "tobedeleted"


def test_unlinked_records_with_one_email_stay_withheld_until_support_links_them(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    here, there = first.teachers[0], second.teachers[0]
    for teacher in (here, there):
        m.Teacher.objects.filter(pk=teacher.pk).update(primary_email="olga.klein@fabrikam.example")
    publish(first, second)
    assert users(api, token, filter="email='olga.klein@fabrikam.example'") == []
    problem = next(p for p in school_readiness(first.school).problems if p.code == "duplicate_email")
    assert problem.is_blocking and problem.count == 1
    assert "support can link the records" in problem.message

    there.refresh_from_db()
    link(there, here)
    publish(first, second)
    found = users(api, token, filter="email='olga.klein@fabrikam.example'")
    assert [(u["sourcedId"], org_ids(u)) for u in found] == [
        (here.sourced_id, [first.school.sourced_id, second.school.sourced_id])
    ]
    codes = {p.code: p for p in school_readiness(second.school).problems}
    assert "duplicate_email" not in codes
    assert codes["linked_people"].examples == (
        f"{there.given_name} {there.family_name} (teacher {there.staff_number}) — also at {first.school.name}",
    )


def test_a_linked_student_keeps_one_demographics_record(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    for small in (first, second):
        small.school.sync_settings.share_demographics = True
        small.school.sync_settings.save()
    main, copy = first.students[0], second.students[0]
    link(copy, main, email="sam@fabrikam.example")
    publish(first, second)
    user = api(f"users/{main.sourced_id}", token).json()["user"]
    assert org_ids(user) == [first.school.sourced_id, second.school.sourced_id]
    demographics = api(f"demographics/{main.sourced_id}", token).json()["demographics"]
    assert demographics["birthDate"] == main.birth_date.isoformat()
    assert api(f"demographics/{copy.sourced_id}", token).status_code == 404


def test_a_link_joins_one_person_of_one_tenant_only(fabrikam):  # noqa: F811
    first, second, _ = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    with pytest.raises(ValidationError, match="same school"):
        link(first.teachers[1], main)
    with pytest.raises(ValidationError, match="itself"):
        link(m.Teacher.objects.get(pk=main.pk), main)
    link(copy, main)
    with pytest.raises(ValidationError, match="itself linked"):
        link(first.teachers[1], copy)
    with pytest.raises(ValidationError, match="main record"):
        link(m.Teacher.objects.get(pk=main.pk), second.teachers[1])
    elsewhere = small_school("EL1")
    p.integration(elsewhere.school, name="Elsewhere")
    with pytest.raises(ValidationError, match="same Microsoft tenant"):
        link(elsewhere.teachers[0], second.teachers[1])


def test_the_importer_accepts_a_user_of_two_schools(api, tmp_path):
    from myschool.oneroster_csv import import_oneroster_csv

    from .test_identities import contoso_published, write_bundle

    def bundle(folder, teacher_orgs: str):
        return write_bundle(
            tmp_path / folder,
            orgs=["org-A,,,Alder School,school,A1,", "org-B,,,Birch School,school,B1,"],
            academicSessions=["y,,,2026/27,schoolYear,2026-08-01,2027-07-31,,2027"],
            courses=["c1,,,y,Math,M,,org-A,Math,", "c2,,,y,Math,M,,org-B,Math,"],
            classes=["k-a,,,Math A,,c1,MA,scheduled,,org-A,y,,,", "k-b,,,Math B,,c2,MB,scheduled,,org-B,y,,,"],
            users=[
                f'usr-t1,,,true,"{teacher_orgs}",teacher,oklein,,Olga,Klein,,T1,oklein@fabrikam.example,,,,,',
                "usr-s1,,,true,org-A,student,sa,,Sam,Ash,,S1,sa@fabrikam.example,,,,09,",
                "usr-s2,,,true,org-B,student,sb,,Sue,Birch,,S2,sb@fabrikam.example,,,,09,",
            ],
            enrollments=[
                "e1,,,k-a,org-A,usr-t1,teacher,true,,",
                "e2,,,k-b,org-B,usr-t1,teacher,true,,",
                "e3,,,k-a,org-A,usr-s1,student,false,,",
                "e4,,,k-b,org-B,usr-s2,student,false,,",
            ],
        )

    import_oneroster_csv(bundle("two", "org-A,org-B"))
    main = m.Teacher.objects.get(sourced_id="usr-t1")
    copy = m.Teacher.objects.get(sourced_id="usr-t1~org-B")
    assert (main.school.code, copy.school.code, copy.same_person_as) == ("A1", "B1", main)
    assert m.CourseTeacher.objects.get(sourced_id="e2").teacher == copy
    import_oneroster_csv(bundle("two-again", "org-A,org-B"))  # a re-import changes nothing
    assert m.Teacher.objects.count() == 2 and m.Teacher.objects.get(pk=copy.pk).same_person_as == main

    token, schools = contoso_published(api)
    found = users(api, token, filter="email='OKLEIN@fabrikam.example'")
    assert [(u["sourcedId"], org_ids(u)) for u in found] == [("usr-t1", ["org-A", "org-B"])]
    for school in ("org-A", "org-B"):
        assert [u["sourcedId"] for u in users(api, token, f"schools/{school}/teachers")] == ["usr-t1"]
    assert [u["sourcedId"] for u in users(api, token, "classes/k-b/teachers")] == ["usr-t1"]

    # An enrollment in a school the user is not at is still refused.
    with pytest.raises(Exception, match="enrollments.csv:3: the class's school is not one of the user's orgSourcedIds"):
        import_oneroster_csv(bundle("one", "org-A"))


def _teacher_form(teacher, **changes) -> dict:
    data = {
        "school": teacher.school_id, "staff_number": teacher.staff_number, "username": teacher.username,
        "given_name": teacher.given_name, "middle_name": teacher.middle_name, "family_name": teacher.family_name,
        "primary_email": teacher.primary_email, "status": teacher.status, "same_person_as": "",
    }
    return {**data, **changes}


def test_support_links_in_the_admin_and_the_school_admin_sees_also_at(client, fabrikam, support):  # noqa: F811
    from django.urls import reverse

    from tests import factories as f

    first, second, _ = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    change = reverse("admin:myschool_teacher_change", args=[copy.pk])
    client.force_login(support)
    refused = client.post(change, _teacher_form(copy, same_person_as=second.teachers[1].pk))
    assert refused.status_code == 200 and "same school" in refused.content.decode()
    assert client.post(change, _teacher_form(copy, same_person_as=main.pk)).status_code == 302
    assert m.Teacher.objects.get(pk=copy.pk).same_person_as_id == main.pk

    client.force_login(f.school_admin(second.school, username="admin_fa2"))
    listing = client.get(reverse("admin:myschool_teacher_changelist")).content.decode()
    assert f"also at {first.school.name}" in listing
    page = client.get(change)
    assert page.status_code == 200 and f"also at {first.school.name}" in page.content.decode()
    assert "same_person_as" not in page.context["adminform"].form.fields
    # A crafted POST cannot unlink (the field is not in the school administrator's form).
    client.post(change, _teacher_form(copy, same_person_as=""))
    assert m.Teacher.objects.get(pk=copy.pk).same_person_as_id == main.pk


def test_unlinking_gives_each_record_its_own_user_again(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    link(copy, main)
    m.Teacher.objects.filter(pk=main.pk).update(status=m.Status.LEFT)  # only the second school publishes her
    publish(first, second)
    assert PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id).school == second.school

    m.Teacher.objects.filter(pk=copy.pk).update(same_person_as=None)
    m.Teacher.objects.filter(pk=main.pk).update(status=m.Status.ACTIVE)
    publish(first, second)  # the first school takes its record's user back before the second runs
    found = {u["sourcedId"]: org_ids(u) for u in users(api, token, filter="role='teacher'", limit="100")}
    assert found[main.sourced_id] == [first.school.sourced_id]
    assert found[copy.sourced_id] == [second.school.sourced_id]
    assert PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id).school == first.school


def test_a_school_switched_off_leaves_orgs_and_hands_the_user_over(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    # Without login names she gets one generated username, the same from every run.
    m.Teacher.objects.filter(pk__in=[main.pk, copy.pk]).update(username="")
    main.refresh_from_db()
    link(copy, main, email="olga.klein@fabrikam.example")
    publish(first, second)
    before = api(f"users/{main.sourced_id}", token).json()["user"]
    assert before["username"] == "olga.klein"

    first.school.sync_settings.should_sync = False
    first.school.sync_settings.save()
    result = publish_school_allowing(first)
    user = api(f"users/{main.sourced_id}", token).json()["user"]
    assert (user["status"], org_ids(user), user["username"]) == ("active", [second.school.sourced_id], before["username"])
    assert PublishedObject.objects.get(kind="user", sourced_id=main.sourced_id).school == second.school
    assert result.counts()["user"]["deleted"] == 6 + 2  # the first school's students and her two colleagues, not her
    publish(second)
    assert api(f"users/{main.sourced_id}", token).json()["user"]["dateLastModified"] == user["dateLastModified"]


def publish_school_allowing(small):
    from lis.publication import publish_school

    result = publish_school(small.school, allow_mass_deletion=True)
    assert result.status == "succeeded"
    return result


def test_the_user_shows_a_record_that_passed_the_checks(api, fabrikam):  # noqa: F811
    first, second, token = fabrikam
    main, copy = first.teachers[0], second.teachers[0]
    link(copy, main)
    # The main record's email is missing: withheld at the first school; the second school's record is fine.
    m.Teacher.objects.filter(pk=main.pk).update(primary_email="")
    m.Teacher.objects.filter(pk=copy.pk).update(primary_email="olga@fabrikam.example", given_name="Olga")
    publish(first, second)
    user = api(f"users/{main.sourced_id}", token).json()["user"]
    assert (org_ids(user), user["email"], user["givenName"]) == ([second.school.sourced_id], "olga@fabrikam.example", "Olga")
    assert user["identifier"] == copy.staff_number


def test_readiness_warns_of_a_link_to_another_tenant(fabrikam):  # noqa: F811
    first, _, _ = fabrikam
    elsewhere = small_school("EL1")
    p.integration(elsewhere.school, name="Elsewhere")
    m.Teacher.objects.filter(pk=elsewhere.teachers[0].pk).update(same_person_as=first.teachers[0])  # as an import may
    codes = {problem.code: problem for problem in school_readiness(first.school).problems}
    assert codes["linked_other_tenant"].count == 1
    assert codes["linked_other_tenant"].examples[0].endswith(f"also at {elsewhere.school.name}")
