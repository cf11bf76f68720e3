"""The demo school generator (``myschool.demo``) and ``manage.py seed_demo``."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import AutoField, Count, ProtectedError, Q
from django.test.utils import CaptureQueriesContext

from myschool import models as m
from myschool.demo import (
    BATCH_SIZE,
    FOREIGN_DOMAIN,
    GRADES,
    MICROSOFT_DOMAIN,
    EmailProblemKind,
    demo_school_create,
    group_count,
)
from myschool.demo.names import FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, username_base
from myschool.demo.plan import courses_plan, grades_plan, teaching_plan

TODAY = dt.date(2026, 3, 15)  # inside the 2025/26 academic year
SMALL = {"students": 120, "teachers": 10}


def build(**kwargs):
    return demo_school_create(**{**SMALL, "today": TODAY, **kwargs})


def snapshot(school: m.School) -> dict[str, list[tuple]]:
    """Everything generated for ``school`` in a stable order: each row's sourcedId first, then its
    content, related rows named by their natural keys (codes, numbers)."""
    fields = {
        m.AcademicYear: ("sourced_id", "name", "start_date", "end_date"),
        m.Term: ("sourced_id", "name", "start_date", "end_date"),
        m.Subject: ("sourced_id", "name", "code", "subject_area"),
        m.Student: (
            "sourced_id",
            "username",
            "given_name",
            "middle_name",
            "family_name",
            "primary_email",
            "student_number",
            "birth_date",
            "sex",
            "grade_level",
            "status",
        ),
        m.Teacher: (
            "sourced_id",
            "username",
            "given_name",
            "middle_name",
            "family_name",
            "primary_email",
            "staff_number",
        ),
        m.SchoolClass: ("sourced_id", "name", "code", "grade_level", "location"),
        m.Course: ("sourced_id", "name", "code", "subject__code", "grade_levels", "location", "periods"),
        m.ClassStudent: ("sourced_id", "school_class__code", "student__student_number"),
        m.CourseStudent: ("sourced_id", "course__code", "student__student_number"),
        m.ClassTeacher: ("sourced_id", "school_class__code", "teacher__staff_number", "is_main_teacher"),
        m.CourseTeacher: ("sourced_id", "course__code", "teacher__staff_number", "is_main_teacher"),
        m.Course.terms.through: ("course__sourced_id", "course__code", "term__name"),
    }
    scope = {
        m.AcademicYear: "school",
        m.Term: "year__school",
        m.ClassStudent: "school_class__school",
        m.CourseStudent: "course__school",
        m.ClassTeacher: "school_class__school",
        m.CourseTeacher: "course__school",
        m.Course.terms.through: "course__school",
    }
    return {
        model._meta.label: sorted(model.objects.filter(**{scope.get(model, "school"): school}).values_list(*names))
        for model, names in fields.items()
    } | {"school": [(school.sourced_id, school.name, school.code, school.active_year.name)]}


def without_sourced_ids(data: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {label: sorted(row[1:] for row in rows) for label, rows in data.items()}


# Plan (pure functions) -----------------------------------------------------------------------------


def test_group_count_keeps_groups_between_20_and_30_when_possible():
    for size in [*range(20, 31), *range(40, 3000)]:
        groups = group_count(size)
        assert size // groups >= 20 and math.ceil(size / groups) <= 30, size
    assert [group_count(size) for size in (0, 1, 19, 31, 39)] == [0, 1, 1, 2, 2]
    assert group_count(200) == 8  # about 25


def test_teaching_plan_gives_every_group_one_main_teacher_and_every_teacher_about_five_groups():
    grades = grades_plan(1200)
    courses = courses_plan(grades)
    homerooms = sum(grade.groups for grade in grades)
    for teachers in (1, 10, 90, 2000):
        assignments = list(teaching_plan(teachers=teachers, courses=courses, homerooms=homerooms))
        groups = Counter((a.is_course, a.group) for a in assignments)
        mains = Counter((a.is_course, a.group) for a in assignments if a.is_main)
        assert len(groups) == len(courses) + homerooms and set(mains.values()) == {1}
        pairs = [(a.teacher, a.is_course, a.group) for a in assignments]
        assert len(set(pairs)) == len(pairs)  # nobody teaches a group twice
        loads = Counter(a.teacher for a in assignments)
        assert len(loads) == teachers
        assert min(loads.values()) >= min(5, len(groups)) and max(loads.values()) - min(loads.values()) <= 1


def test_usernames_fold_accents_and_drop_punctuation():
    assert username_base("José", "Müller") == "jose.muller"
    assert username_base("Zoë", "Ångström") == "zoe.angstrom"
    assert username_base("Aoife", "O'Brien") == "aoife.obrien"
    assert username_base("Jonas", "de Vries") == "jonas.devries"
    for name in (*FEMALE_GIVEN_NAMES, *MALE_GIVEN_NAMES, *FAMILY_NAMES):
        folded = username_base(name, name)
        assert folded.isascii() and "@" not in folded and len(folded) == 2 * len(folded.split(".")[0]) + 1, name
    accented = [name for name in (*FEMALE_GIVEN_NAMES, *MALE_GIVEN_NAMES, *FAMILY_NAMES) if not name.isascii()]
    assert {"José", "Zoë", "Müller", "Ångström"} <= set(accented)


# The built school ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_in_the_summary_are_the_rows_in_the_database():
    summary = build()
    school = summary.school
    assert summary.counts == {
        "myschool.School": m.School.objects.filter(pk=school.pk).count(),
        "myschool.AcademicYear": m.AcademicYear.objects.filter(school=school).count(),
        "myschool.Term": m.Term.objects.filter(year__school=school).count(),
        "myschool.Subject": m.Subject.objects.filter(school=school).count(),
        "myschool.Teacher": m.Teacher.objects.filter(school=school).count(),
        "myschool.Student": m.Student.objects.filter(school=school).count(),
        "myschool.SchoolClass": m.SchoolClass.objects.filter(school=school).count(),
        "myschool.Course": m.Course.objects.filter(school=school).count(),
        "myschool.Course_terms": m.Course.terms.through.objects.filter(course__school=school).count(),
        "myschool.ClassStudent": m.ClassStudent.objects.filter(student__school=school).count(),
        "myschool.CourseStudent": m.CourseStudent.objects.filter(student__school=school).count(),
        "myschool.CourseTeacher": m.CourseTeacher.objects.filter(teacher__school=school).count(),
        "myschool.ClassTeacher": m.ClassTeacher.objects.filter(teacher__school=school).count(),
    }
    assert summary.counts["myschool.Student"] == 120 and summary.counts["myschool.Teacher"] == 10


@pytest.mark.django_db
def test_the_active_year_contains_today_and_holds_three_terms():
    school = build().school
    school.refresh_from_db()
    year = school.active_year
    assert (year.start_date, year.end_date, year.name) == (dt.date(2025, 8, 1), dt.date(2026, 7, 31), "2025/26")
    assert list(m.AcademicYear.objects.filter(school=school)) == [year]
    terms = list(year.terms.all())
    assert len(terms) == 3
    assert all(year.start_date <= term.start_date <= term.end_date <= year.end_date for term in terms)
    assert all(a.end_date < b.start_date for a, b in itertools.pairwise(terms))
    assert (
        demo_school_create(students=1, teachers=1, school_code="AUG", today=dt.date(2026, 8, 1)).school.active_year.name
        == "2026/27"
    )


@pytest.mark.django_db
def test_subjects_groups_and_memberships_have_a_realistic_structure():
    school = build().school
    subjects = m.Subject.objects.filter(school=school)
    assert 10 <= subjects.count() <= 14 and not subjects.filter(subject_area="").exists()
    assert {"Mathematics", "English", "Science", "History"} <= set(subjects.values_list("name", flat=True))

    students = m.Student.objects.filter(school=school).annotate(
        homerooms=Count("class_memberships", distinct=True), courses_taken=Count("course_memberships", distinct=True)
    )
    assert set(students.values_list("homerooms", flat=True)) == {1}
    assert all(6 <= n <= 10 for n in students.values_list("courses_taken", flat=True))

    def sizes(queryset):
        return queryset.annotate(
            n_students=Count("student_memberships", distinct=True),
            n_teachers=Count("teacher_memberships", distinct=True),
            n_main=Count("teacher_memberships", filter=Q(teacher_memberships__is_main_teacher=True), distinct=True),
        ).values_list("n_students", "n_teachers", "n_main")

    for group_sizes in (
        sizes(m.Course.objects.filter(school=school)),
        sizes(m.SchoolClass.objects.filter(school=school)),
    ):
        # 120 students make grades of 20: one homeroom and one group per course slot, all of 20.
        assert all(
            20 <= n_students <= 30 and n_teachers >= 1 and n_main == 1 for n_students, n_teachers, n_main in group_sizes
        )
    assert m.SchoolClass.objects.filter(school=school).count() == len(GRADES)

    courses = m.Course.objects.filter(school=school).annotate(n_terms=Count("terms"))
    assert set(courses.values_list("n_terms", flat=True)) == {1, 3}
    assert (
        not m.Course.terms.through.objects.filter(course__school=school).exclude(term__year=school.active_year).exists()
    )

    loads = m.Teacher.objects.filter(school=school).annotate(
        n=Count("course_memberships", distinct=True) + Count("class_memberships", distinct=True)
    )
    assert all(4 <= n <= 7 for n in loads.values_list("n", flat=True))


@pytest.mark.django_db
def test_people_are_valid_active_and_uniquely_named_and_numbered():
    school = build().school
    students = list(m.Student.objects.filter(school=school))
    teachers = list(m.Teacher.objects.filter(school=school))
    usernames = [person.username for person in students + teachers]
    assert all(usernames) and len(set(usernames)) == len(usernames) and not any("@" in name for name in usernames)
    assert len({s.student_number for s in students}) == len(students)
    assert len({t.staff_number for t in teachers}) == len(teachers)
    for person in students + teachers:
        person.full_clean()
        assert person.status == m.Status.ACTIVE
    for student in students:
        grade = int(student.grade_level)
        age_at_start = (dt.date(2025, 9, 1) - student.birth_date).days // 365.25
        assert student.grade_level in GRADES and student.sex in m.Sex.values and age_at_start in (grade + 5, grade + 6)
    for group in [*m.Course.objects.filter(school=school), *m.SchoolClass.objects.filter(school=school)]:
        group.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(("students", "each"), [(120, 1), (800, 2)])
def test_exactly_the_reported_students_have_bad_emails(students, each):
    summary = build(students=students, teachers=max(10, students // 12))
    school = summary.school
    rows = list(m.Student.objects.filter(school=school).values_list("student_number", "username", "primary_email"))
    by_email = Counter(email for _, _, email in rows if email)
    foreign = {number for number, _, email in rows if email and not email.endswith(f"@{MICROSOFT_DOMAIN}")}
    missing = {number for number, _, email in rows if not email}
    duplicated = {number for number, _, email in rows if email and by_email[email] > 1}

    assert summary.problem_student_numbers(EmailProblemKind.FOREIGN_DOMAIN) == foreign and len(foreign) == each
    assert summary.problem_student_numbers(EmailProblemKind.MISSING) == missing and len(missing) == each
    assert summary.problem_student_numbers(EmailProblemKind.DUPLICATE) == duplicated and len(duplicated) == 2 * each
    assert all(email.endswith(f"@{FOREIGN_DOMAIN}") for number, _, email in rows if number in foreign)
    problem_students = foreign | missing | duplicated
    assert len(summary.email_problems) == len(problem_students) == 4 * each
    assert all(
        email == f"{username}@{MICROSOFT_DOMAIN}" for number, username, email in rows if number not in problem_students
    )
    # Each pair shares the email of one of the two.
    for email in (email for email, n in by_email.items() if n > 1):
        assert by_email[email] == 2 and email.split("@")[0] in {u for _, u, e in rows if e == email}

    teacher_emails = list(m.Teacher.objects.filter(school=school).values_list("username", "primary_email"))
    assert all(email == f"{username}@{MICROSOFT_DOMAIN}" for username, email in teacher_emails)
    assert not set(by_email) & {email for _, email in teacher_emails}


@pytest.mark.django_db
def test_few_students_still_make_a_complete_school():
    summary = demo_school_create(students=3, teachers=2, school_code="TINY", today=TODAY)
    school = summary.school
    assert summary.email_problems == ()
    assert (
        not m.Course.objects.filter(school=school)
        .filter(Q(student_memberships=None) | Q(teacher_memberships=None))
        .exists()
    )
    assert (
        not m.SchoolClass.objects.filter(school=school)
        .filter(Q(student_memberships=None) | Q(teacher_memberships=None))
        .exists()
    )
    assert not m.Teacher.objects.filter(school=school, course_memberships=None, class_memberships=None).exists()


# Determinism ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_seed_rebuilds_the_same_school_and_another_seed_does_not():
    first = snapshot(build(seed=42).school)
    again = snapshot(build(seed=42, replace=True).school)
    assert again == first
    other = snapshot(build(seed=43, replace=True).school)
    assert other["myschool.Student"] != first["myschool.Student"]
    assert {row[0] for row in other["myschool.Student"]}.isdisjoint(row[0] for row in first["myschool.Student"])


@pytest.mark.django_db
def test_another_code_gets_the_same_content_with_its_own_sourced_ids():
    one = snapshot(build(seed=5, school_code="ONE").school)
    two = snapshot(build(seed=5, school_code="TWO").school)
    one.pop("school"), two.pop("school")
    assert without_sourced_ids(one) == without_sourced_ids(two)
    assert {row[0] for row in one["myschool.CourseStudent"]}.isdisjoint(row[0] for row in two["myschool.CourseStudent"])


# Queries -------------------------------------------------------------------------------------------


def insert_queries_expected(counts: dict[str, int]) -> int:
    """The INSERT statements bulk_create needs: our batches of BATCH_SIZE, each split to the backend's limit."""
    from django.apps import apps

    expected = 0
    for label, rows in counts.items():
        model = apps.get_model(label)
        fields = [field for field in model._meta.concrete_fields if not isinstance(field, AutoField)]
        per_statement = min(BATCH_SIZE, connection.ops.bulk_batch_size(fields, [None] * BATCH_SIZE))
        full, rest = divmod(rows, BATCH_SIZE)
        expected += full * math.ceil(BATCH_SIZE / per_statement) + math.ceil(rest / per_statement)
    return expected


@pytest.mark.django_db
def test_queries_grow_only_by_insert_batches():
    captured = {}
    for students in (60, 240):
        with CaptureQueriesContext(connection) as context:
            summary = build(students=students, teachers=students // 12, school_code=f"Q{students}")
        # Issue 19: the demo reports the school to the publication's change log in one INSERT of its own.
        change_log = [q for q in context.captured_queries if q["sql"].startswith("INSERT") and "lis_schoolchange" in q["sql"]]
        assert len(change_log) == 1
        inserts = [q for q in context.captured_queries if q["sql"].startswith("INSERT") and q not in change_log]
        others = [q for q in context.captured_queries if not q["sql"].startswith("INSERT")]
        assert len(inserts) == insert_queries_expected(summary.counts)
        captured[students] = len(others)
    assert captured[60] == captured[240] <= 20


# Validation and the command --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"students": 0}, "students"), ({"teachers": -1}, "teachers"), ({"school_code": ""}, "school_code")],
)
def test_the_service_refuses_impossible_schools(kwargs, field):
    with pytest.raises(ValidationError) as excinfo:
        build(**kwargs)
    assert field in excinfo.value.message_dict
    assert not m.School.objects.exists()


@pytest.mark.django_db
def test_the_command_builds_the_school_and_prints_counts():
    out = StringIO()
    call_command(
        "seed_demo", "--students", "120", "--teachers", "10", "--seed", "3", "--school-code", "CMD", stdout=out
    )
    school = m.School.objects.get(code="CMD")
    assert school.name == "MySchool Demo Academy" and school.active_year is not None
    output = out.getvalue()
    assert "myschool.Student" in output and "120" in output and " s:" in output
    assert "1 foreign_domain, 1 missing, 2 duplicate" in output


@pytest.mark.django_db
def test_the_command_refuses_an_existing_school_without_replace_and_changes_nothing():
    call_command("seed_demo", "--students", "120", "--teachers", "10", stdout=StringIO())
    school = m.School.objects.get(code="DEMO")
    before = snapshot(school)
    with pytest.raises(CommandError, match="already exists.*--replace"):
        call_command("seed_demo", "--students", "60", "--teachers", "5", "--seed", "9", stdout=StringIO())
    assert snapshot(m.School.objects.get(code="DEMO")) == before

    call_command("seed_demo", "--students", "60", "--teachers", "5", "--seed", "9", "--replace", stdout=StringIO())
    rebuilt = m.School.objects.get(code="DEMO")
    assert not m.Student.objects.filter(school_id=school.pk).exists()
    assert (
        m.Student.objects.filter(school=rebuilt).count() == 60 and m.Teacher.objects.filter(school=rebuilt).count() == 5
    )
    assert m.School.objects.count() == 1


@pytest.mark.django_db
def test_replace_of_a_protected_school_fails_cleanly_and_changes_nothing(monkeypatch):
    """Published records (lis) PROTECT their school; --replace must say so, not crash half-way."""
    before = snapshot(build().school)

    def protected_delete(self, *args, **kwargs):
        raise ProtectedError("protected", [m.Subject(name="stand-in for a published record")])

    monkeypatch.setattr(m.School, "delete", protected_delete)
    with pytest.raises(CommandError, match="'DEMO' cannot be deleted: subjects still refer to it"):
        call_command("seed_demo", "--replace", "--students", "60", "--teachers", "5", stdout=StringIO())
    assert snapshot(m.School.objects.get(code="DEMO")) == before


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["--students", "0"], ["--teachers", "0"]])
def test_the_command_rejects_counts_below_one(args):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", *args, stdout=StringIO())
    assert not m.School.objects.exists()
