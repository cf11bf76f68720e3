"""The MySchool → OneRoster mapping rules (design.md table, oneroster-1.1.md §3), as pure functions."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from lis.oneroster import format_datetime
from lis.publication import mapping

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def test_school_org_has_its_code_as_identifier_and_its_district_as_parent():
    record = mapping.org_for_school(sourced_id="org-1", name="North High", code="N1", district_sourced_id="dist-1")
    assert record.kind == "org" and record.subtype == "school"
    assert record.payload == {
        "name": "North High",
        "type": "school",
        "identifier": "N1",
        "parent": {"href": "/ims/oneroster/v1p1/orgs/dist-1", "sourcedId": "dist-1", "type": "org"},
    }
    assert record.refs == {"parent_ref": "dist-1"}


def test_org_identifier_is_never_empty():
    assert mapping.org_for_school(sourced_id="org-1", name="X", code="").payload["identifier"] == "org-1"
    assert mapping.org_for_district(sourced_id="d-1", name="D", code="").payload["identifier"] == "d-1"


def test_district_org_is_shared_and_has_no_children_list():
    record = mapping.org_for_district(sourced_id="d-1", name="North District", code="D1")
    assert record.shared is True
    assert record.payload == {"name": "North District", "type": "district", "identifier": "D1"}


def test_school_year_session_and_terms():
    year = mapping.session_for_year(
        sourced_id="y", title="2026/27", start_date=dt.date(2026, 8, 1), end_date=dt.date(2027, 7, 31), term_sourced_ids=["t1", "t2"]
    )
    assert year.payload["type"] == "schoolYear"
    assert year.payload["schoolYear"] == "2027"  # the calendar year in which the school year ends
    assert year.payload["startDate"] == "2026-08-01" and year.payload["endDate"] == "2027-07-31"
    assert [c["sourcedId"] for c in year.payload["children"]] == ["t1", "t2"]
    term = mapping.session_for_term(
        sourced_id="t1", title="Autumn", start_date=dt.date(2026, 8, 1), end_date=dt.date(2026, 12, 31),
        year_sourced_id="y", year_end=dt.date(2027, 7, 31),
    )
    assert term.payload["type"] == "term" and term.subtype == "term"
    assert term.payload["parent"] == {"href": "/ims/oneroster/v1p1/academicSessions/y", "sourcedId": "y", "type": "academicSession"}
    assert term.payload["schoolYear"].isdigit()
    assert term.refs == {"parent_ref": "y"}


def test_subject_is_published_as_the_course_of_the_active_year_owned_by_its_school():
    record = mapping.course_for_subject(
        sourced_id="subj-1", title="Math 101", code="M101", subject_area="Math", subject_code="",
        grades=["10", "09", "09"], year_sourced_id="y", school_sourced_id="org-1",
    )
    assert record.kind == "course" and record.sourced_id == "subj-1"
    assert record.payload["schoolYear"]["sourcedId"] == "y"
    assert record.payload["org"] == {"href": "/ims/oneroster/v1p1/orgs/org-1", "sourcedId": "org-1", "type": "org"}
    assert record.payload["grades"] == ["09", "10"]
    assert record.payload["subjects"] == ["Math"] and record.payload["subjectCodes"] == []
    assert record.refs == {"school_ref": "org-1", "year_ref": "y"}


def test_homeroom_course_id_is_a_deterministic_uuid5_per_school_and_year():
    first = mapping.homeroom_course_id(school_sourced_id="org-1", year_sourced_id="y1")
    assert first == mapping.homeroom_course_id(school_sourced_id="org-1", year_sourced_id="y1")
    assert uuid.UUID(first).version == 5
    assert first != mapping.homeroom_course_id(school_sourced_id="org-2", year_sourced_id="y1")
    assert first != mapping.homeroom_course_id(school_sourced_id="org-1", year_sourced_id="y2")
    course = mapping.homeroom_course(school_sourced_id="org-1", year_sourced_id="y1")
    assert course.sourced_id == first and course.payload["title"] == "Homeroom"


def test_scheduled_class_points_to_its_subject_course_school_and_terms():
    record = mapping.class_for_course(
        sourced_id="cls-1", title="Algebra 1 B", code="ALG1B", location="Room 4", grades=["09"], periods=["1", "2"],
        subject_sourced_id="subj-1", subject_area="Math", subject_code="", school_sourced_id="org-1", term_sourced_ids=["t1"],
    )
    p = record.payload
    assert (p["classType"], p["course"]["sourcedId"], p["school"]["sourcedId"]) == ("scheduled", "subj-1", "org-1")
    assert [t["sourcedId"] for t in p["terms"]] == ["t1"]
    assert p["periods"] == ["1", "2"] and p["grades"] == ["09"] and p["subjects"] == ["Math"]
    assert record.refs == {"school_ref": "org-1", "course_ref": "subj-1"}
    assert record.lists == {"terms": ["t1"]}


def test_homeroom_class_belongs_to_the_homeroom_course_and_takes_the_given_terms():
    record = mapping.class_for_homeroom(
        sourced_id="hr-1", title="Form 9A", code="9A", location="", grade="09",
        school_sourced_id="org-1", year_sourced_id="y", term_sourced_ids=["t1", "t2"],
    )
    assert record.payload["classType"] == "homeroom"
    assert record.payload["course"]["sourcedId"] == mapping.homeroom_course_id(school_sourced_id="org-1", year_sourced_id="y")
    assert [t["sourcedId"] for t in record.payload["terms"]] == ["t1", "t2"]


def test_a_class_without_terms_is_refused():
    with pytest.raises(ValueError, match="at least one term"):
        mapping.class_for_homeroom(
            sourced_id="hr-1", title="Form", code="", location="", grade="", school_sourced_id="o", year_sourced_id="y", term_sourced_ids=[]
        )


@pytest.mark.parametrize(
    ("username", "email", "identifier", "expected"),
    [
        ("ada.lovelace", "ada@school.example", "1", "ada.lovelace"),
        ("ada@school.example", "x@y.example", "1", "ada"),
        ("", "ada.l@school.example", "1", "ada.l"),
        ("", "", "S-17", "S-17"),
        ("@weird", "", "S-18", "S-18"),
    ],
)
def test_username_never_contains_at_and_is_never_empty(username, email, identifier, expected):
    assert mapping.publishable_username(username=username, email=email, identifier=identifier) == expected


def test_student_user_has_identifier_primary_email_one_org_and_no_password():
    record = mapping.user_record(
        sourced_id="usr-1", role="student", username="ada.l", given_name="Ada", middle_name="", family_name="Lovelace",
        identifier="1001", email="ada.l@school.example", grades=["09"], school_sourced_id="org-1",
    )
    p = record.payload
    assert (p["role"], p["identifier"], p["email"], p["enabledUser"]) == ("student", "1001", "ada.l@school.example", True)
    assert [o["sourcedId"] for o in p["orgs"]] == ["org-1"]
    assert "password" not in p
    assert record.subtype == "student" and record.lists == {"orgs": ["org-1"]}


def test_enrollment_carries_the_membership_id_and_primary_for_the_main_teacher():
    teacher = mapping.enrollment_record(
        sourced_id="m-1", role="teacher", user_sourced_id="t", class_sourced_id="c", school_sourced_id="o", primary=True
    )
    assert teacher.sourced_id == "m-1"
    assert teacher.payload["primary"] is True and "beginDate" not in teacher.payload
    assert teacher.refs == {"user_ref": "t", "class_ref": "c", "school_ref": "o"}
    student = mapping.enrollment_record(
        sourced_id="m-2", role="student", user_sourced_id="s", class_sourced_id="c", school_sourced_id="o",
        primary=False, begin_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 6, 30),
    )
    assert (student.payload["beginDate"], student.payload["endDate"]) == ("2026-09-01", "2027-06-30")
    assert all(DATE.match(student.payload[k]) for k in ("beginDate", "endDate"))


def test_demographics_use_the_users_sourced_id_and_are_skipped_when_empty():
    record = mapping.demographics_record(sourced_id="usr-1", birth_date=dt.date(2011, 4, 2), sex="female")
    assert (record.sourced_id, record.payload) == ("usr-1", {"birthDate": "2011-04-02", "sex": "female"})
    assert mapping.demographics_record(sourced_id="usr-2", birth_date=None, sex="") is None


def test_content_hash_depends_on_content_only():
    a = mapping.org_for_school(sourced_id="o", name="A", code="1")
    b = mapping.org_for_school(sourced_id="o", name="A", code="1")
    c = mapping.org_for_school(sourced_id="o", name="B", code="1")
    assert a.content_hash == b.content_hash != c.content_hash
    assert len(a.content_hash) == 64


def test_date_last_modified_format_is_utc_with_milliseconds():
    value = dt.datetime(2026, 11, 29, 20, 5, 7, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_datetime(value) == "2026-11-29T19:05:07.123Z"
