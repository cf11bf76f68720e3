"""Sync readiness: what would make SDS create duplicate or broken users, found before the first sync.

:func:`school_readiness` checks one school, :func:`integration_readiness` every school of an
integration. Each :class:`ReadinessProblem` has a code, a :class:`Severity`, a message, how many
rows it affects and up to :data:`EXAMPLES` examples. The checks (severity in brackets):

- users (the active students and teachers the school publishes, per its *users to publish*):
  ``missing_email``, ``duplicate_email`` (shared with another active person of the tenant's
  schools, case-insensitive) and ``foreign_domain`` (not a Microsoft domain of the integration)
  [blocking]; ``duplicate_username`` (a login name another active person of the tenant's schools
  has too, case-insensitive, after cutting at ``@``) [blocking]; ``username_missing`` and
  ``username_at`` [warning: the publication generates a username that clashes with nobody, or
  cuts at the ``@``];
- ``no_microsoft_domains`` [warning]: the school's integration has no domains (or there is no
  integration), so domains cannot be checked;
- ``no_active_year`` [blocking: nothing but the school is published], ``no_terms`` [warning];
- ``active_year_not_current`` [warning]: the active year ended before today or starts after
  today (in the sync zone). It is still published as the current year: the active MySchool year
  is what syncs, and rolling it forward is the school's decision (:func:`active_year_notice`);
- ticked courses and classes of the active year ``group_without_teacher`` and
  ``group_without_students`` [warning];
- ``unplaced_students`` [warning]: when only members of ticked groups are published, the
  active students in no ticked group (they get no account).

Blocking user problems are exactly the users the publication withholds
(:meth:`myschool.emails.EmailProblems.blocking_q`, used by :mod:`lis.publication.collect`).
:func:`readiness_blocking_problems` is what the credential step asks: blocking problems stop
credentials being issued unless support records a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone
from django.db.models import Count, Q

from myschool import models as m
from myschool.emails import EmailProblems, Problem, email_problems
from myschool.emails.people import MODELS, NUMBER_FIELDS
from myschool.selectors import also_at

from .models import ClassSelection, CourseSelection, Integration, SchoolSyncSettings, UsersToPublish
from .publication.selectors import in_ticked_group, people_to_publish
from .selection.selectors import class_selections_with_counts, course_selections_with_counts, school_sync_settings

EXAMPLES = 10


class Severity(models.TextChoices):
    BLOCKING = "blocking", "Blocking"
    WARNING = "warning", "Warning"


@dataclass(frozen=True)
class ReadinessProblem:
    """One kind of problem at one school: ``count`` rows affected, the first few named in ``examples``."""

    code: str
    severity: str
    message: str
    count: int = 0
    examples: tuple[str, ...] = ()

    @property
    def is_blocking(self) -> bool:
        return self.severity == Severity.BLOCKING

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label


@dataclass
class ReadinessReport:
    """The problems of one school, blocking ones first."""

    school: m.School
    problems: list[ReadinessProblem] = field(default_factory=list)
    withheld: int = 0  # people the publication withholds (each counted once, whatever their problems)

    @property
    def other_blocking(self) -> list[ReadinessProblem]:
        """Blocking problems that are not about people (e.g. ``no_active_year``)."""
        return [problem for problem in self.blocking if problem.code not in USER_BLOCKING_CODES]

    @property
    def blocking(self) -> list[ReadinessProblem]:
        return [problem for problem in self.problems if problem.is_blocking]

    @property
    def warnings(self) -> list[ReadinessProblem]:
        return [problem for problem in self.problems if not problem.is_blocking]

    @property
    def is_ready(self) -> bool:
        return not self.blocking

    def lines(self) -> list[str]:
        """The report as text, for the command: one line per problem, then its examples."""
        school, blocking, warnings = self.school, len(self.blocking), len(self.warnings)
        out = [f"Sync readiness of {school.name} ({school.code}): {blocking} blocking, {warnings} warning(s)."]
        for problem in self.problems:
            out.append(f"  [{problem.severity}] {problem.code}: {problem.message}")
            out += [f"      {example}" for example in problem.examples]
            if problem.count > len(problem.examples) and problem.examples:
                out.append(f"      … and {problem.count - len(problem.examples)} more")
        return out


@dataclass
class IntegrationReadiness:
    """The reports of every school of one integration, plus problems of the integration itself."""

    integration: Integration
    reports: list[ReadinessReport]
    problems: list[ReadinessProblem] = field(default_factory=list)

    @property
    def blocking_messages(self) -> list[str]:
        messages = [problem.message for problem in self.problems if problem.is_blocking]
        for report in self.reports:
            school = report.school
            messages += [f"{school.name} ({school.code}): {problem.message}" for problem in report.blocking]
        return messages


def _ticked(model, school: m.School):
    """The ticked active-year selections (``model``) of ``school`` with member counts."""
    field_name = "course" if model is CourseSelection else "school_class"
    with_counts = course_selections_with_counts if model is CourseSelection else class_selections_with_counts
    return with_counts(model.objects.filter(sync=True, **{f"{field_name}__school": school}))


USER_CHECKS = (
    # (code, severity, EmailProblems condition name or a Q, message with {n})
    (
        "missing_email",
        Severity.BLOCKING,
        Problem.MISSING,
        "{n} user(s) have no primary email; SDS cannot create their accounts (they are not published).",
    ),
    (
        "duplicate_email",
        Severity.BLOCKING,
        Problem.DUPLICATE,
        "{n} user(s) share their primary email with another person of the tenant's schools (they are not published). "
        "If they are one person at several schools, support can link the records (\"same person as\"): they are "
        "then published as one user with every school in orgs.",
    ),
    (
        "foreign_domain",
        Severity.BLOCKING,
        Problem.FOREIGN_DOMAIN,
        "{n} user(s) have an email outside the Microsoft domains {domains} (they are not published).",
    ),
    (
        "duplicate_username",
        Severity.BLOCKING,
        Problem.DUPLICATE_USERNAME,
        "{n} user(s) have a username (ignoring case) that another person of the tenant's schools has too; "
        "SDS would merge them into one account (they are not published).",
    ),
    (
        "username_missing",
        Severity.WARNING,
        Q(username=""),
        "{n} user(s) have no username; one is generated from their email (unique in the tenant).",
    ),
    (
        "username_at",
        Severity.WARNING,
        Q(username__contains="@"),
        "{n} user(s) have a username containing @; the part before the @ is published.",
    ),
)


def _label(role: str, given: str, family: str, number: str) -> str:
    return f"{given} {family} ({role} {number})"


def _user_problems(
    school: m.School, settings: SchoolSyncSettings, problems: EmailProblems
) -> tuple[list[ReadinessProblem], int]:
    """(the user problems, how many people the publication withholds — each once)."""
    conditions = {code: problems.q(check) if isinstance(check, str) else check for code, _, check, _ in USER_CHECKS}
    counts = dict.fromkeys(conditions, 0)
    examples: dict[str, list[str]] = {code: [] for code in conditions}
    withheld = 0
    for role in MODELS:
        people = problems.having(people_to_publish(school, MODELS[role], settings))
        totals = people.aggregate(
            _withheld=Count("pk", filter=problems.blocking_q()),
            **{code: Count("pk", filter=condition) for code, condition in conditions.items()},
        )
        withheld += totals.pop("_withheld")
        for code, total in totals.items():
            counts[code] += total
            if total and len(examples[code]) < EXAMPLES:
                rows = people.filter(conditions[code]).order_by("family_name", "given_name", "pk")
                rows = rows.values_list("given_name", "family_name", NUMBER_FIELDS[role])[
                    : EXAMPLES - len(examples[code])
                ]
                examples[code] += [_label(role, *row) for row in rows]
    domains = ", ".join(sorted(problems.tenant.domains))
    found = [
        ReadinessProblem(
            code, severity, message.format(n=counts[code], domains=domains), counts[code], tuple(examples[code])
        )
        for code, severity, _, message in USER_CHECKS
        if counts.get(code)
    ]
    return found, withheld


USER_BLOCKING_CODES = frozenset(code for code, severity, _, _ in USER_CHECKS if severity == Severity.BLOCKING)


def _group_problems(school: m.School) -> list[ReadinessProblem]:
    found = {"group_without_teacher": [], "group_without_students": []}
    for model, name in ((CourseSelection, "course__name"), (ClassSelection, "school_class__name")):
        rows = _ticked(model, school).filter(Q(teacher_count=0) | Q(student_count=0)).order_by(name)
        for group, teachers, students in rows.values_list(name, "teacher_count", "student_count"):
            if not teachers:
                found["group_without_teacher"].append(group)
            if not students:
                found["group_without_students"].append(group)
    messages = {
        "group_without_teacher": "{n} ticked course(s) or class(es) have no teacher.",
        "group_without_students": "{n} ticked course(s) or class(es) have no students.",
    }
    return [
        ReadinessProblem(
            code, Severity.WARNING, messages[code].format(n=len(groups)), len(groups), tuple(groups[:EXAMPLES])
        )
        for code, groups in found.items()
        if groups
    ]


def _unplaced_students(school: m.School, settings: SchoolSyncSettings) -> list[ReadinessProblem]:
    if settings.users_to_publish != UsersToPublish.GROUP_MEMBERS:
        return []
    unplaced = m.Student.objects.filter(school=school, status=m.Status.ACTIVE).exclude(
        in_ticked_group(school, m.Student)
    )
    count = unplaced.count()
    if not count:
        return []
    rows = unplaced.order_by("family_name", "given_name", "pk").values_list(
        "given_name", "family_name", "student_number"
    )
    message = (
        f"{count} active student(s) are in no ticked course or class, so they are not published (only members are)."
    )
    return [
        ReadinessProblem(
            "unplaced_students", Severity.WARNING, message, count, tuple(_label("student", *r) for r in rows[:EXAMPLES])
        )
    ]


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def active_year_notice(year: m.AcademicYear | None, today: dt.date | None = None) -> str | None:
    """Why the active ``year`` is not the current one, or None when ``today`` lies inside it.

    ``today`` defaults to today in the sync zone (``SYNC_TIME_ZONE``). The message is the banner
    the LIS pages show, e.g. "MySchool's active year 2017-18 ended on 30 June 2018; SDS will
    receive it as current."
    """
    if year is None:
        return None
    today = today or timezone.now().astimezone(ZoneInfo(django_settings.SYNC_TIME_ZONE)).date()
    if today > year.end_date:
        return f"MySchool's active year {year.name} ended on {_long_date(year.end_date)}; SDS will receive it as current."
    if today < year.start_date:
        return (
            f"MySchool's active year {year.name} starts on {_long_date(year.start_date)}; "
            "SDS will receive it as current already."
        )
    return None


def _linked_people(school: m.School, tenant_school_ids: frozenset[int]) -> list[ReadinessProblem]:
    """Active people of ``school`` linked to a record at another school: one user with several orgs (a
    warning, so the school sees them), and links to a school outside this school's Microsoft tenant (the
    CSV import sets links before integrations exist): that school's tenant does not see the one user."""
    found: dict[str, tuple[int, list[str]]] = {"linked_people": (0, []), "linked_other_tenant": (0, [])}
    for role, model in MODELS.items():
        linked = model.objects.filter(school=school, status=m.Status.ACTIVE).filter(
            Q(same_person_as__isnull=False) | Q(linked_records__isnull=False)
        ).distinct()
        for person in linked.order_by("family_name", "given_name", "pk").iterator():
            schools = also_at(person)
            label = _label(role, person.given_name, person.family_name, getattr(person, NUMBER_FIELDS[role]))
            text = f"{label} — also at {', '.join(other.name for other in schools)}"
            codes = ["linked_people"] + (["linked_other_tenant"] if any(o.pk not in tenant_school_ids for o in schools) else [])
            for code in codes:
                count, examples = found[code]
                found[code] = (count + 1, examples + [text] if len(examples) < EXAMPLES else examples)
    messages = {
        "linked_people": "{n} user(s) are also at another school of the tenant (records linked as the same person): "
        "published once, under the main record's sourcedId, with every publishing school in orgs.",
        "linked_other_tenant": "{n} user(s) are linked to a record at a school outside this school's Microsoft tenant: "
        "one user cannot serve two tenants; support should remove the link or put the schools in one integration.",
    }
    return [
        ReadinessProblem(code, Severity.WARNING, messages[code].format(n=count), count, tuple(examples))
        for code, (count, examples) in found.items()
        if count
    ]


def school_readiness(school: m.School) -> ReadinessReport:
    """Check ``school`` (see the module docstring); blocking problems come first. About 20 queries, whatever its size."""
    school = m.School.objects.select_related("active_year", "sync_settings").get(pk=school.pk)
    settings = school_sync_settings(school)
    problems = email_problems(school)
    found: list[ReadinessProblem] = []
    if school.active_year is None:
        found.append(
            ReadinessProblem(
                "no_active_year",
                Severity.BLOCKING,
                "The school has no active academic year: nothing but the school itself is published.",
            )
        )
    elif not school.active_year.terms.exists():
        found.append(
            ReadinessProblem(
                "no_terms",
                Severity.WARNING,
                f"The active year {school.active_year} has no terms: classes get the year as their only session.",
            )
        )
    if notice := active_year_notice(school.active_year):
        found.append(ReadinessProblem("active_year_not_current", Severity.WARNING, notice))
    user_problems, withheld = _user_problems(school, settings, problems)
    found += user_problems
    if not problems.tenant.domains:
        found.append(
            ReadinessProblem(
                "no_microsoft_domains",
                Severity.WARNING,
                "No Microsoft domains are registered for this school's integration, so email domains are not checked.",
            )
        )
    found += _group_problems(school)
    found += _unplaced_students(school, settings)
    found += _linked_people(school, problems.tenant.school_ids)
    found.sort(key=lambda problem: not problem.is_blocking)
    return ReadinessReport(school, found, withheld)


def integration_readiness(integration: Integration) -> IntegrationReadiness:
    """The readiness of every school of ``integration`` (by name); a warning when it has no school."""
    reports = [school_readiness(school) for school in integration.schools.order_by("name")]
    problems = []
    if not reports:
        problems.append(ReadinessProblem("no_schools", Severity.WARNING, "The integration has no schools yet."))
    return IntegrationReadiness(integration, reports, problems)


def readiness_blocking_problems(integration) -> list[str]:
    """The blocking problems of ``integration``'s schools, one message each, prefixed with the school ([] when ready).

    The credential step calls this: while it returns anything, credentials are issued only when
    support records a reason.
    """
    return integration_readiness(integration).blocking_messages
