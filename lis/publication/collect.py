"""What one school publishes tonight: MySchool rows read in batches and mapped to records.

:meth:`SchoolData.records` yields ``(kind, records)`` in the order a diff needs (orgs, sessions,
courses, classes, users, enrollments, demographics); each ``records`` is an iterator that
streams rows with ``.iterator()`` and ``values_list`` so a 50,000-student school never sits
in memory as model instances.

What is published (``design.md``): nothing but the org when the school should not sync or has
no active year; otherwise only the active year, only ticked courses and classes, users as
the school's *users to publish* switch says (active students and teachers, or only active
members of ticked groups), enrollments of published users in ticked groups, and demographics
only when the school shares them.

Withheld users: an active person whose primary email is missing, shared with another active
person of the tenant's schools, or outside the integration's Microsoft domains (when it has
any) is not published, nor are their enrollments and demographics — SDS would otherwise
create a broken or duplicate account; so is one whose login name another active person of the
tenant's schools has too, in any case (SDS would merge them into one account). The rule is
:meth:`myschool.emails.EmailProblems.blocking_q`, the same the readiness report calls blocking;
:meth:`SchoolData.withheld` counts them for the run log.

People linked across schools (``same_person_as``, issue 14) are one user with several ``orgs``
under the main record's sourcedId; which school's run writes it and who owns it is
:mod:`lis.publication.people`'s rule. Their enrollments reference the main sourcedId.

Usernames: a person's login name (cut at ``@``), or for people without one a username generated
for the whole tenant so that it never clashes (:func:`myschool.emails.usernames.generated_usernames`).

Order: each kind's records come **in sourcedId order** (every source ordered by ``sourced_id``
and the sources merged, :func:`_by_sourced_id`), because the store writes them in the order they
come and the API serves a kind in sourcedId order: a page of 5,000 then reads a few hundred
neighbouring heap pages instead of 5,000 scattered ones (README, *What a page costs*). The merge
compares Python strings, i.e. code points — PostgreSQL's order under a ``C`` collation; under
another collation the heap order is only close to the API's, which costs speed, never
correctness.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cached_property
from operator import attrgetter

from django.db.models import Count, Exists, F, OuterRef

from lis.models import ClassSelection, CourseSelection, Kind
from lis.selection.selectors import school_sync_settings
from myschool import models as m
from myschool.emails import EmailProblems, PersonKey, Problem, email_problems, email_tenant
from myschool.emails.usernames import generated_usernames

from . import mapping
from .mapping import PublishedRecord
from .people import LinkedPeople, unlinked
from .selectors import people_to_publish

CHUNK = 2000


def _by_sourced_id(*sources: Iterable[PublishedRecord]) -> Iterator[PublishedRecord]:
    """The records of ``sources`` (each already in sourcedId order) merged in sourcedId order."""
    return heapq.merge(*sources, key=attrgetter("sourced_id"))


class SchoolData:
    """The selection of one school's active year that the publication reads (see the module docstring)."""

    def __init__(self, school: m.School):
        self.school = school
        self.settings = school_sync_settings(school)
        self.year = school.active_year if self.settings.should_sync else None
        if self.year is not None:
            terms = self.year.terms.order_by("start_date", "sourced_id")
            self.terms = list(terms.values_list("sourced_id", "name", "start_date", "end_date", named=True))
            ticked_course = CourseSelection.objects.filter(course=OuterRef("pk"), sync=True)
            ticked_class = ClassSelection.objects.filter(school_class=OuterRef("pk"), sync=True)
            self.courses = m.Course.objects.filter(school=school, year=self.year).filter(Exists(ticked_course))
            self.classes = m.SchoolClass.objects.filter(school=school, year=self.year).filter(Exists(ticked_class))
            self.tenant = email_tenant(school)
            self.generated_usernames = generated_usernames(self.tenant.school_ids)

    @cached_property
    def email_problems(self) -> EmailProblems:
        """Who of the school's people has which email problem (the tenant's duplicate checks, computed once)."""
        return email_problems(self.school, tenant=self.tenant)

    @property
    def publishes_year(self) -> bool:
        return self.year is not None

    @property
    def year_term_ids(self) -> list[str]:
        """Every term of the active year, or the year itself when it has none (a class needs one)."""
        return [term.sourced_id for term in self.terms] or [self.year.sourced_id]

    def people(self, model: type[m.Person]):
        """The active students or teachers to publish, per the school's switch, without the withheld ones."""
        if not self.publishes_year:
            return model.objects.none()
        return self.email_problems.having(self.selected_people(model)).exclude(self.email_problems.blocking_q())

    @property
    def linked(self) -> LinkedPeople:
        """The people linked across schools that this run computes (:mod:`lis.publication.people`)."""
        if not hasattr(self, "_linked"):
            self._linked = LinkedPeople(self.school, self.people)
        return self._linked

    def withheld(self, problems: EmailProblems | None = None) -> dict[str, int]:
        """Withheld users per reason, each counted once: ``missing_email``, else ``duplicate_email``, else
        ``foreign_domain``, else ``duplicate_username`` (``problems``: the school's, by default
        :attr:`email_problems`)."""
        if not self.publishes_year:
            return {}
        reasons = ("missing_email", "duplicate_email", "foreign_domain", "duplicate_username")
        problems, counts = problems or self.email_problems, dict.fromkeys(reasons, 0)
        missing, duplicate, foreign, username = (
            problems.q(p) for p in (Problem.MISSING, Problem.DUPLICATE, Problem.FOREIGN_DOMAIN, Problem.DUPLICATE_USERNAME)
        )
        for model in (m.Student, m.Teacher):
            totals = problems.having(self.selected_people(model)).aggregate(
                missing_email=Count("pk", filter=missing),
                duplicate_email=Count("pk", filter=duplicate & ~missing),
                foreign_domain=Count("pk", filter=foreign & ~duplicate & ~missing),
                duplicate_username=Count("pk", filter=username & ~foreign & ~duplicate & ~missing),
            )
            counts = {reason: counts[reason] + totals[reason] for reason in counts}
        return counts

    def selected_people(self, model: type[m.Person]):
        """The active students or teachers the school's switch selects, withheld ones included."""
        return people_to_publish(self.school, model, self.settings)

    def only(self, kind: str, rows, field: str = "sourced_id"):
        """``rows`` as read for ``kind``: all of them (an incremental run narrows them to the sourcedIds
        it compares, matched on ``field``: lis.publication.incremental)."""
        return rows

    def records(self) -> Iterator[tuple[str, Iterator[PublishedRecord]]]:
        """Yield ``(kind, records)`` for every kind in :data:`KIND_ORDER` (see the module docstring)."""
        producers = {
            Kind.ORG: self.orgs,
            Kind.ACADEMIC_SESSION: self.academic_sessions,
            Kind.COURSE: self.courses_,
            Kind.CLASS: self.classes_,
            Kind.USER: self.users,
            Kind.ENROLLMENT: self.enrollments,
            Kind.DEMOGRAPHICS: self.demographics,
        }
        for kind in KIND_ORDER:
            yield kind, producers[kind]()

    # kinds ----------------------------------------------------------------------------------
    def orgs(self) -> Iterator[PublishedRecord]:
        if not self.settings.should_sync:
            return
        school, group = self.school, self.school.group
        yield mapping.org_for_school(
            sourced_id=school.sourced_id,
            name=school.name,
            code=school.code,
            district_sourced_id=group.sourced_id if group else None,
        )
        if group is not None:
            yield mapping.org_for_district(sourced_id=group.sourced_id, name=group.name, code=group.code)

    def academic_sessions(self) -> Iterator[PublishedRecord]:
        if not self.publishes_year:
            return
        year = self.year
        records = [
            mapping.session_for_year(
                sourced_id=year.sourced_id,
                title=year.name,
                start_date=year.start_date,
                end_date=year.end_date,
                term_sourced_ids=[term.sourced_id for term in self.terms],
            )
        ]
        records += [
            mapping.session_for_term(
                sourced_id=sourced_id, title=name, start_date=start, end_date=end,
                year_sourced_id=year.sourced_id, year_end=year.end_date,
            )
            for sourced_id, name, start, end in self.terms
        ]
        yield from sorted(records, key=attrgetter("sourced_id"))

    def courses_(self) -> Iterator[PublishedRecord]:
        if not self.publishes_year:
            return
        grades: dict[int, set[str]] = defaultdict(set)
        for subject_id, levels in self.only("course", self.courses.values_list("subject_id", "grade_levels"), "subject__sourced_id"):
            grades[subject_id].update(m.split_list(levels))
        subjects = m.Subject.objects.filter(pk__in=list(grades)).order_by("sourced_id")
        records = [
            mapping.course_for_subject(
                sourced_id=sourced_id, title=name, code=code, subject_area=area, subject_code=subject_code,
                grades=sorted(grades[pk]), year_sourced_id=self.year.sourced_id, school_sourced_id=self.school.sourced_id,
            )
            for pk, sourced_id, name, code, area, subject_code in subjects.values_list(
                "pk", "sourced_id", "name", "code", "subject_area", "subject_code"
            )
        ]
        if self.classes.exists():
            records.append(mapping.homeroom_course(school_sourced_id=self.school.sourced_id, year_sourced_id=self.year.sourced_id))
        yield from sorted(records, key=attrgetter("sourced_id"))

    def classes_(self) -> Iterator[PublishedRecord]:
        if not self.publishes_year:
            return
        school_id = self.school.sourced_id
        terms_of: dict[int, list[str]] = defaultdict(list)
        through = m.Course.terms.through.objects.filter(course__in=self.courses).order_by("term__start_date", "term__sourced_id")
        for course_id, term_id in self.only("class", through.values_list("course_id", "term__sourced_id"), "course__sourced_id"):
            terms_of[course_id].append(term_id)
        rows = self.courses.order_by("sourced_id").values_list(
            "pk", "sourced_id", "name", "code", "location", "grade_levels", "periods",
            "subject__sourced_id", "subject__subject_area", "subject__subject_code",
        )
        course_classes = (
            mapping.class_for_course(
                sourced_id=sourced_id, title=name, code=code, location=location,
                grades=m.split_list(grades), periods=m.split_list(periods),
                subject_sourced_id=subject_id, subject_area=area, subject_code=subject_code,
                school_sourced_id=school_id, term_sourced_ids=terms_of.get(pk) or self.year_term_ids,
            )
            for pk, sourced_id, name, code, location, grades, periods, subject_id, area, subject_code in self.only("class", rows).iterator(CHUNK)
        )
        homerooms = self.classes.order_by("sourced_id").values_list("sourced_id", "name", "code", "location", "grade_level")
        homeroom_classes = (
            mapping.class_for_homeroom(
                sourced_id=sourced_id, title=name, code=code, location=location, grade=grade,
                school_sourced_id=school_id, year_sourced_id=self.year.sourced_id, term_sourced_ids=self.year_term_ids,
            )
            for sourced_id, name, code, location, grade in self.only("class", homerooms).iterator(CHUNK)
        )
        yield from _by_sourced_id(course_classes, homeroom_classes)

    def users(self) -> Iterator[PublishedRecord]:
        roles = ((m.Student, "student", "student_number"), (m.Teacher, "teacher", "staff_number"))
        sources = [self.linked_users(model, role, number) for model, role, number in roles]
        if self.publishes_year:
            sources += [self.unlinked_users(model, role, number) for model, role, number in roles]
        yield from _by_sourced_id(*sources)

    def unlinked_users(self, model: type[m.Person], role: str, number: str) -> Iterator[PublishedRecord]:
        """The published ``model`` people not linked across schools, one user each, in sourcedId order."""
        fields = ("pk", "sourced_id", "username", "given_name", "middle_name", "family_name", "primary_email")
        extra = ("grade_level",) if model is m.Student else ()
        generated = self.generated_usernames
        rows = unlinked(self.people(model)).order_by("sourced_id").values_list(*fields, number, *extra)
        for row in self.only("user", rows).iterator(CHUNK):
            pk, sourced_id, username, given, middle, family, email, identifier, *grade = row
            username = generated.get(PersonKey(role, pk), username)
            yield mapping.user_record(
                sourced_id=sourced_id, role=role, username=username, given_name=given, middle_name=middle,
                family_name=family, identifier=identifier, email=email, grades=[g for g in grade if g],
                school_sourced_id=self.school.sourced_id,
            )

    def linked_users(self, model: type[m.Person], role: str, number: str) -> Iterator[PublishedRecord]:
        """One user per linked group touching this school that some school publishes (``orgs`` not empty)."""
        for person in self.linked.groups(model):
            if not person.orgs:
                continue
            main, shown = person.main, person.record
            username = shown.username or main.username
            if not username:  # the tenant's generated one, whether or not this school publishes a year
                username = self.tenant_usernames().get(PersonKey(role, main.pk), "")
            record = mapping.user_record(
                sourced_id=main.sourced_id, role=role, username=username,
                given_name=shown.given_name, middle_name=shown.middle_name, family_name=shown.family_name,
                identifier=getattr(shown, number), email=shown.primary_email,
                grades=[shown.grade_level] if getattr(shown, "grade_level", "") else [],
                org_sourced_ids=person.orgs,
            )
            record.owner_id, record.movable_from = person.owner_id, person.school_ids
            yield record

    def tenant_usernames(self) -> dict[PersonKey, str]:
        """The tenant's generated usernames (computed once; a school that publishes no year computes them here)."""
        if not hasattr(self, "generated_usernames"):
            self.generated_usernames = generated_usernames(email_tenant(self.school).school_ids)
        return self.generated_usernames

    def enrollments(self) -> Iterator[PublishedRecord]:
        if not self.publishes_year:
            return
        students, teachers = self.people(m.Student), self.people(m.Teacher)
        sources = [
            (m.CourseStudent.objects.filter(course__in=self.courses, student__in=students), "student", "course"),
            (m.ClassStudent.objects.filter(school_class__in=self.classes, student__in=students), "student", "school_class"),
            (m.CourseTeacher.objects.filter(course__in=self.courses, teacher__in=teachers), "teacher", "course"),
            (m.ClassTeacher.objects.filter(school_class__in=self.classes, teacher__in=teachers), "teacher", "school_class"),
        ]
        yield from _by_sourced_id(*(self._enrollments(queryset, role, group) for queryset, role, group in sources))

    def _enrollments(self, queryset, role: str, group: str) -> Iterator[PublishedRecord]:
        own = ("begin_date", "end_date") if role == "student" else ("is_main_teacher",)
        rows = (
            queryset.order_by("sourced_id")
            .annotate(
                user_sid=F(f"{role}__sourced_id"),
                main_sid=F(f"{role}__same_person_as__sourced_id"),
                class_sid=F(f"{group}__sourced_id"),
            )
            .values_list("sourced_id", "user_sid", "main_sid", "class_sid", *own, named=True)
        )
        student = role == "student"
        for row in self.only("enrollment", rows).iterator(CHUNK):
            yield mapping.enrollment_record(
                sourced_id=row.sourced_id, role=role, user_sourced_id=row.main_sid or row.user_sid,
                class_sourced_id=row.class_sid, school_sourced_id=self.school.sourced_id,
                primary=False if student else bool(row.is_main_teacher),
                begin_date=row.begin_date if student else None,
                end_date=row.end_date if student else None,
            )

    def demographics(self) -> Iterator[PublishedRecord]:
        sources = [self.linked_demographics()]
        if self.publishes_year and self.settings.share_demographics:
            sources.append(self.unlinked_demographics())
        yield from _by_sourced_id(*sources)

    def linked_demographics(self) -> Iterator[PublishedRecord]:
        """A linked student's demographics follow their user: the shown record's, owned (and shared) by its owner."""
        for person in self.linked.groups(m.Student):
            if person.orgs and self.linked.shares_demographics(person.owner_id):
                main, shown = person.main, person.record
                record = mapping.demographics_record(
                    sourced_id=main.sourced_id, birth_date=shown.birth_date, sex=shown.sex
                )
                if record is not None:
                    record.owner_id, record.movable_from = person.owner_id, person.school_ids
                    yield record

    def unlinked_demographics(self) -> Iterator[PublishedRecord]:
        rows = unlinked(self.people(m.Student)).order_by("sourced_id").values_list("sourced_id", "birth_date", "sex")
        for sourced_id, birth_date, sex in self.only("demographics", rows).iterator(CHUNK):
            record = mapping.demographics_record(sourced_id=sourced_id, birth_date=birth_date, sex=sex)
            if record is not None:
                yield record


KIND_ORDER = [Kind.ORG, Kind.ACADEMIC_SESSION, Kind.COURSE, Kind.CLASS, Kind.USER, Kind.ENROLLMENT, Kind.DEMOGRAPHICS]
