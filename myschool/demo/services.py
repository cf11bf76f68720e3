"""Create and delete the demo school: the services behind ``manage.py seed_demo`` and ``bench/seed.py``."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from myschool import models as m
from myschool.statistics import school_tables_analyze
from myschool.signals import rows_untracked, school_data_changed_notify, school_groups_changed_notify

from .names import FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, username_base
from .plan import (
    COURSES_PER_STUDENT,
    GRADES,
    SUBJECTS,
    CoursePlan,
    Grade,
    academic_year_bounds,
    courses_plan,
    grades_plan,
    group_letters,
    split_evenly,
    teaching_plan,
    term_dates,
)

MICROSOFT_DOMAIN = "myschool-demo.example"
FOREIGN_DOMAIN = "home-mail.example"
DEFAULT_SCHOOL_NAME = "MySchool Demo Academy"
BATCH_SIZE = 5000


class EmailProblemKind(enum.StrEnum):
    """How a deliberately bad student email is wrong."""

    FOREIGN_DOMAIN = "foreign_domain"
    MISSING = "missing"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class EmailProblem:
    """One student whose primary email is wrong on purpose; ``email`` is what was stored ("" if none)."""

    kind: EmailProblemKind
    student_number: str
    sourced_id: str
    email: str


@dataclass(frozen=True)
class DemoSummary:
    """What ``demo_school_create`` built.

    ``counts`` maps a model label (``"myschool.CourseStudent"``; ``"myschool.Course_terms"`` for the
    course–term links) to the rows inserted, in insertion order. ``email_problems`` lists every
    student whose email is deliberately bad; nothing else in the school is wrong.
    """

    school: m.School
    seed: int
    counts: dict[str, int]
    email_problems: tuple[EmailProblem, ...]

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def problem_student_numbers(self, kind: EmailProblemKind) -> set[str]:
        return {problem.student_number for problem in self.email_problems if problem.kind == kind}


@transaction.atomic
def demo_school_create(
    *,
    students: int = 1200,
    teachers: int = 90,
    seed: int = 1,
    school_code: str = "DEMO",
    school_name: str = DEFAULT_SCHOOL_NAME,
    replace: bool = False,
    today: dt.date | None = None,
) -> DemoSummary:
    """Build a realistic demo school with ``students`` students and ``teachers`` teachers.

    The school gets one active academic year (the Aug 1 – Jul 31 year containing ``today``, default
    the local date) with three terms, twelve subjects, grades 07–12 of equal size, homeroom classes
    of about 25 and courses (teaching groups) of 20–30: every student is in one homeroom and eight
    courses (six core subjects all year, two one-term options). Every group has students, teachers
    and exactly one main teacher; teachers get about five groups each (see ``plan.teaching_plan``).
    Groups fall outside 20–30 only in a grade of fewer than 20 or of 31–39 students (below 240 students).

    Every person's primary email is ``<username>@MICROSOFT_DOMAIN`` except for ``max(1, students // 400)``
    students with a ``FOREIGN_DOMAIN`` email, as many with none and as many pairs sharing one email
    (no such students below 4 students); ``DemoSummary.email_problems`` lists exactly these.

    Deterministic: names, numbers, emails and memberships depend only on ``seed`` (and ``today``'s
    academic year), sourcedIds on ``seed`` and ``school_code``, so demo schools with different codes
    can coexist. Runs in one transaction; rows are bulk inserted in batches of ``BATCH_SIZE``.

    Raises ``ValidationError`` for counts below 1, an empty or over-long code, or when a school has
    ``school_code`` and ``replace`` is false (nothing changes); with ``replace`` that school and all
    it owns is deleted first. Raises ``ImproperlyConfigured`` on a database that cannot return ids
    from bulk inserts (SQLite before 3.35).
    """
    errors = {}
    if students < 1:
        errors["students"] = "A demo school needs at least 1 student."
    if teachers < 1:
        errors["teachers"] = "A demo school needs at least 1 teacher."
    if not school_code or len(school_code) > m.School._meta.get_field("code").max_length:
        errors["school_code"] = "The school code must be 1–50 characters."
    if errors:
        raise ValidationError(errors)
    if not connection.features.can_return_rows_from_bulk_insert:
        raise ImproperlyConfigured("The demo school needs a database that returns ids from bulk inserts.")
    if replace:
        demo_school_delete(school_code=school_code)
    elif m.School.objects.filter(code=school_code).exists():
        raise ValidationError(
            f"A school with code {school_code!r} already exists; use --replace to delete and rebuild it.",
            code="school_exists",
        )
    with rows_untracked():  # bulk writes: the school is reported whole (lis.publication.changes)
        summary = _Build(seed=seed, school_code=school_code).run(
            students=students, teachers=teachers, school_name=school_name, today=today or timezone.localdate()
        )
    school_data_changed_notify(sender=m.School, school_ids=[summary.school.pk])
    school_tables_analyze()
    return summary


@transaction.atomic
def demo_school_delete(*, school_code: str) -> bool:
    """Delete the school with ``school_code`` and everything it owns; return whether there was one.

    The large tables (memberships, courses) go first, each in one statement, so Django's cascade
    does not load their rows into memory. Raises ``ValidationError`` (and deletes
    nothing) when other rows protect the school, e.g. records already published from it.
    """
    school = m.School.objects.filter(code=school_code).first()
    if school is None:
        return False
    # Other schools of its Microsoft tenant recompute in full (their duplicate emails may change).
    school_data_changed_notify(sender=m.School, school_ids=[school.pk])
    with rows_untracked():
        m.CourseStudent.objects.filter(course__school=school).delete()
        m.CourseTeacher.objects.filter(course__school=school).delete()
        m.Course.terms.through.objects.filter(course__school=school).delete()
        m.Course.objects.filter(school=school).delete()
        m.ClassStudent.objects.filter(student__school=school).delete()
        m.ClassTeacher.objects.filter(teacher__school=school).delete()
    try:
        with rows_untracked():
            school.delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise ValidationError(
            f"School {school_code!r} cannot be deleted: {', '.join(kinds)} still refer to it.", code="school_protected"
        ) from exc
    return True


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class _Build:
    """One run of the generator.

    Two random streams: ``rng`` (seeded with the seed) draws all content and ``id_rng`` (seeded with
    seed and code) draws the sourcedIds, so content does not depend on the code. Rows are generated
    lazily and inserted a batch at a time; only primary keys (one int per row) are kept.
    """

    def __init__(self, *, seed: int, school_code: str) -> None:
        self.seed = seed
        self.school_code = school_code
        self.rng = random.Random(seed)
        self.id_rng = random.Random(f"{seed}:{school_code}")
        self.counts: dict[str, int] = {}
        self.usernames: dict[str, int] = {}  # username without number → how many have it
        self.email_problems: dict[int, EmailProblem] = {}  # by student index

    def sourced_id(self) -> str:
        return str(uuid.UUID(int=self.id_rng.getrandbits(128), version=4))

    def insert(self, model: type[models.Model], rows: Iterable[models.Model]) -> list[int]:
        """Bulk insert ``rows`` in batches of BATCH_SIZE; return their primary keys in order."""
        label = model._meta.label
        self.counts.setdefault(label, 0)
        pks: list[int] = []
        for chunk in _chunks(rows, BATCH_SIZE):
            model.objects.bulk_create(chunk, batch_size=BATCH_SIZE)
            pks.extend(row.pk for row in chunk)
            self.counts[label] += len(chunk)
        return pks

    def run(self, *, students: int, teachers: int, school_name: str, today: dt.date) -> DemoSummary:
        self.school = m.School(name=school_name, code=self.school_code, sourced_id=self.sourced_id())
        self.school.full_clean()
        self.insert(m.School, [self.school])
        start, end = academic_year_bounds(today)
        self.year = m.AcademicYear(
            school=self.school,
            name=f"{start.year}/{end.year % 100:02d}",
            start_date=start,
            end_date=end,
            sourced_id=self.sourced_id(),
        )
        self.year.full_clean()
        self.insert(m.AcademicYear, [self.year])
        self.school.active_year = self.year
        self.school.save(update_fields=["active_year"])
        self.term_pks = self.insert(
            m.Term,
            [
                m.Term(year=self.year, name=name, start_date=first, end_date=last, sourced_id=self.sourced_id())
                for name, first, last in term_dates(start)
            ],
        )
        self.subject_pks = self.insert(
            m.Subject,
            [
                m.Subject(school=self.school, name=name, code=code, subject_area=area, sourced_id=self.sourced_id())
                for name, code, area in SUBJECTS
            ],
        )

        grades = grades_plan(students)
        kinds, copies = self.email_problems_plan(students)
        self.teacher_pks = self.insert(m.Teacher, self.teacher_rows(teachers))
        self.student_pks = self.insert(m.Student, self.student_rows(grades, start, kinds, copies))
        self.class_pks = self.insert(m.SchoolClass, self.class_rows(grades))
        courses = courses_plan(grades)
        self.course_pks = self.insert(m.Course, self.course_rows(courses))
        self.insert(m.Course.terms.through, self.course_term_rows(courses))
        self.insert(m.ClassStudent, self.class_student_rows(grades))
        self.insert(m.CourseStudent, self.course_student_rows(grades))
        self.insert_teacher_memberships(courses)
        school_groups_changed_notify(sender=m.Course, school_ids=[self.school.pk])
        return DemoSummary(
            school=self.school,
            seed=self.seed,
            counts=self.counts,
            email_problems=tuple(self.email_problems[index] for index in kinds),
        )

    def email_problems_plan(self, students: int) -> tuple[dict[int, EmailProblemKind], dict[int, int]]:
        """Which students get a bad email: student index → kind, and for each duplicate pair the later
        student's index → the earlier one's, whose email it copies."""
        each = max(1, students // 400) if students >= 4 else 0
        chosen = self.rng.sample(range(students), 4 * each)
        kinds = dict.fromkeys(chosen[:each], EmailProblemKind.FOREIGN_DOMAIN)
        kinds |= dict.fromkeys(chosen[each : 2 * each], EmailProblemKind.MISSING)
        copies = {}
        for pair in zip(chosen[2 * each : 3 * each], chosen[3 * each :], strict=True):
            first, second = sorted(pair)
            kinds |= {first: EmailProblemKind.DUPLICATE, second: EmailProblemKind.DUPLICATE}
            copies[second] = first
        return kinds, copies

    def username(self, given_name: str, family_name: str) -> str:
        base = username_base(given_name, family_name)
        seen = self.usernames.get(base, 0)
        self.usernames[base] = seen + 1
        # Bases hold no digits, so a numbered username can only clash with another numbered one.
        return base if seen == 0 else f"{base}{seen + 1}"

    def numbers(self, count: int, prefix: str = "") -> list[str]:
        """``count`` distinct random identifiers of one length: at least six digits, ten times sparse."""
        digits = max(6, len(str(count * 10)))
        return [f"{prefix}{number}" for number in self.rng.sample(range(10 ** (digits - 1), 10**digits), count)]

    def names(self, female: bool, middle_chance: float) -> tuple[str, str, str]:
        given_names = FEMALE_GIVEN_NAMES if female else MALE_GIVEN_NAMES
        given = self.rng.choice(given_names)
        middle = self.rng.choice(given_names) if self.rng.random() < middle_chance else ""
        return given, middle if middle != given else "", self.rng.choice(FAMILY_NAMES)

    def room(self) -> str:
        return f"Room {self.rng.randrange(1, 4)}{self.rng.randrange(1, 40):02d}"

    def teacher_rows(self, count: int) -> Iterator[m.Teacher]:
        for staff_number in self.numbers(count, prefix="T"):
            given, middle, family = self.names(self.rng.random() < 0.6, middle_chance=0.1)
            username = self.username(given, family)
            yield m.Teacher(
                school=self.school,
                sourced_id=self.sourced_id(),
                staff_number=staff_number,
                username=username,
                given_name=given,
                middle_name=middle,
                family_name=family,
                primary_email=f"{username}@{MICROSOFT_DOMAIN}",
                status=m.Status.ACTIVE,
            )

    def student_rows(
        self, grades: list[Grade], year_start: dt.date, kinds: dict[int, EmailProblemKind], copies: dict[int, int]
    ) -> Iterator[m.Student]:
        """The students, grade by grade; records their ``EmailProblem``s in ``self.email_problems``."""
        numbers = self.numbers(sum(grade.size for grade in grades))
        emails_to_copy: dict[int, str] = {}
        for grade in grades:
            # Born Sep 1 – Aug 31 so that a grade 7 student turns 12 or 13 during the year (US ages).
            born_from = dt.date(year_start.year - int(grade.code) - 6, 9, 1)
            born_days = (dt.date(born_from.year + 1, 9, 1) - born_from).days
            for index in grade.students:
                sourced_id = self.sourced_id()
                female = self.rng.random() < 0.5
                given, middle, family = self.names(female, middle_chance=0.2)
                username = self.username(given, family)
                email = f"{username}@{MICROSOFT_DOMAIN}"
                kind = kinds.get(index)
                if kind == EmailProblemKind.FOREIGN_DOMAIN:
                    email = f"{username}@{FOREIGN_DOMAIN}"
                elif kind == EmailProblemKind.MISSING:
                    email = ""
                elif index in copies:
                    email = emails_to_copy.pop(copies[index])
                elif kind == EmailProblemKind.DUPLICATE:
                    emails_to_copy[index] = email
                if kind is not None:
                    self.email_problems[index] = EmailProblem(kind, numbers[index], sourced_id, email)
                yield m.Student(
                    school=self.school,
                    sourced_id=sourced_id,
                    student_number=numbers[index],
                    username=username,
                    given_name=given,
                    middle_name=middle,
                    family_name=family,
                    primary_email=email,
                    status=m.Status.ACTIVE,
                    grade_level=grade.code,
                    sex=m.Sex.FEMALE if female else m.Sex.MALE,
                    birth_date=born_from + dt.timedelta(days=self.rng.randrange(born_days)),
                )

    def class_rows(self, grades: list[Grade]) -> Iterator[m.SchoolClass]:
        for grade in grades:
            for group in range(grade.groups):
                letters = group_letters(group)
                yield m.SchoolClass(
                    school=self.school,
                    year=self.year,
                    sourced_id=self.sourced_id(),
                    name=f"{int(grade.code)}{letters}",
                    code=f"HR-{grade.code}-{letters}",
                    grade_level=grade.code,
                    location=self.room(),
                )

    def course_rows(self, courses: list[CoursePlan]) -> Iterator[m.Course]:
        for plan in courses:
            name, code, _area = SUBJECTS[plan.subject]
            grade, letters = GRADES[plan.grade], group_letters(plan.letter)
            yield m.Course(
                school=self.school,
                year=self.year,
                subject_id=self.subject_pks[plan.subject],
                sourced_id=self.sourced_id(),
                name=f"{name} {int(grade)}{letters}",
                code=f"{code}-{grade}-{letters}",
                grade_levels=grade,
                periods=str(plan.slot + 1),
                location=self.room(),
            )

    def course_term_rows(self, courses: list[CoursePlan]) -> Iterator[models.Model]:
        through = m.Course.terms.through
        for course_pk, plan in zip(self.course_pks, courses, strict=True):
            for term in plan.terms:
                yield through(course_id=course_pk, term_id=self.term_pks[term])

    def class_student_rows(self, grades: list[Grade]) -> Iterator[m.ClassStudent]:
        class_pks = iter(self.class_pks)
        for grade in grades:
            if not grade.groups:
                continue  # a grade without students (fewer students than grades)
            for members in split_evenly(list(grade.students), grade.groups):
                class_pk = next(class_pks)
                for index in members:
                    yield m.ClassStudent(
                        school_class_id=class_pk, student_id=self.student_pks[index], sourced_id=self.sourced_id()
                    )

    def course_student_rows(self, grades: list[Grade]) -> Iterator[m.CourseStudent]:
        """Each slot reshuffles the grade, so a student meets different classmates in each course."""
        course_pks = iter(self.course_pks)
        for grade in grades:
            if not grade.groups:
                continue
            indices = list(grade.students)
            for _slot in range(COURSES_PER_STUDENT):
                self.rng.shuffle(indices)
                for members in split_evenly(indices, grade.groups):
                    course_pk = next(course_pks)
                    for index in sorted(members):
                        yield m.CourseStudent(
                            course_id=course_pk, student_id=self.student_pks[index], sourced_id=self.sourced_id()
                        )

    def insert_teacher_memberships(self, courses: list[CoursePlan]) -> None:
        """Course and homeroom teachers; held as (group pk, teacher pk, main, sourcedId) until inserted."""
        course_rows: list[tuple[int, int, bool, str]] = []
        class_rows: list[tuple[int, int, bool, str]] = []
        for assignment in teaching_plan(teachers=len(self.teacher_pks), courses=courses, homerooms=len(self.class_pks)):
            rows, group_pks = (course_rows, self.course_pks) if assignment.is_course else (class_rows, self.class_pks)
            rows.append(
                (
                    group_pks[assignment.group],
                    self.teacher_pks[assignment.teacher],
                    assignment.is_main,
                    self.sourced_id(),
                )
            )
        self.insert(
            m.CourseTeacher,
            (
                m.CourseTeacher(course_id=group_pk, teacher_id=teacher_pk, is_main_teacher=main, sourced_id=sourced_id)
                for group_pk, teacher_pk, main, sourced_id in course_rows
            ),
        )
        self.insert(
            m.ClassTeacher,
            (
                m.ClassTeacher(
                    school_class_id=group_pk, teacher_id=teacher_pk, is_main_teacher=main, sourced_id=sourced_id
                )
                for group_pk, teacher_pk, main, sourced_id in class_rows
            ),
        )
