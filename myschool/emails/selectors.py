"""Read paths of primary emails: domains in use, duplicates, and who has which problem.

The mass-edit page, the readiness report (``lis.readiness``) and the publication's rule for
withheld users (``lis.publication.collect``) share :class:`EmailProblems`, so they always agree
on who has a missing, duplicate or foreign-domain email. Emails are compared in lower case and
only among **active** people: people who left are not published, so they clash with nobody.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Lower, StrIndex, Substr

from myschool.models import School, Status

from .people import MODELS, NUMBER_FIELDS, PERSON_FIELDS
from .tenant import EmailTenant, email_tenant
from .usernames import (
    USERNAME_LOWER,
    active_people,
    among_values,
    duplicate_usernames,
    published_login,
    values_shared,
    with_username_lower,
)

EMAIL_LOWER = "email_lower"


def with_email_lower(queryset: QuerySet) -> QuerySet:
    """``queryset`` (Students or Teachers) with the aliases ``email_lower`` and ``username_lower`` to filter on."""
    return with_username_lower(queryset.alias(**{EMAIL_LOWER: Lower("primary_email")}))


def email_domains(school: School) -> list[tuple[str, int]]:
    """``[(domain, people), …]``: the lower-case domains of the active people's emails, most used first.

    For registering a tenant's domains from loaded data (two queries).
    """
    counts: Counter[str] = Counter()
    for role in MODELS:
        emails = active_people(role, [school.pk]).exclude(primary_email="").alias(lower=Lower("primary_email"))
        domains = emails.annotate(domain=Substr("lower", StrIndex("lower", Value("@")) + 1)).order_by()
        counts.update(dict(domains.values_list("domain").annotate(n=Count("pk"))))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def duplicate_emails(school_ids: Collection[int], among: Collection[str] | None = None) -> frozenset[str]:
    """Lower-case emails held by more than one active student or teacher of ``school_ids`` (one query,
    :func:`~myschool.emails.usernames.values_shared`).

    Records linked as one person (``same_person_as``, issue 14) count once: they are one Microsoft user.
    ``among`` (lower-case emails): only those are looked at, so the answer is exact for them.
    """
    emails = {
        role: active_people(role, school_ids).exclude(primary_email="").alias(**{EMAIL_LOWER: Lower("primary_email")})
        for role in MODELS
    }
    if among is not None:
        emails = {role: among_values(people, EMAIL_LOWER, among) for role, people in emails.items()}
    return values_shared(emails, EMAIL_LOWER)


class Problem(models.TextChoices):
    """The problems a person's email or username can have, as the mass-edit page filters them."""

    MISSING = "missing", "No email"
    FOREIGN_DOMAIN = "foreign_domain", "Domain not Microsoft"
    DUPLICATE_IN_SCHOOL = "duplicate_in_school", "Duplicate in this school"
    DUPLICATE = "duplicate", "Duplicate in the tenant's schools"  # the school itself when it has no tenant
    USERNAME = "username", "Username missing or with @"
    DUPLICATE_USERNAME = "duplicate_username", "Username used by another person of the tenant"


@dataclass(frozen=True)
class EmailProblems:
    """Who of one school has which email problem: the school's tenant and the duplicate emails in it.

    Filter a Student or Teacher queryset with :meth:`having`; the flags of one row come from
    :meth:`flags`. Build it with :func:`email_problems`.
    """

    school_id: int
    tenant: EmailTenant
    duplicates: frozenset[str]
    duplicates_in_school: frozenset[str]
    duplicate_usernames: frozenset[str] = frozenset()

    def q(self, problem: str) -> Q:
        """The condition for ``problem`` (a :class:`Problem` value) on a queryset from :meth:`having`'s alias.

        A check that cannot apply (no domains known, no duplicates) gives a condition nothing matches.
        """
        if problem == Problem.MISSING:
            return Q(primary_email="")
        if problem == Problem.FOREIGN_DOMAIN:
            if not self.tenant.domains:
                return Q(pk__in=[])
            allowed = reduce(
                or_, (Q(**{f"{EMAIL_LOWER}__endswith": f"@{domain}"}) for domain in sorted(self.tenant.domains))
            )
            return ~Q(primary_email="") & ~allowed
        if problem in (Problem.DUPLICATE, Problem.DUPLICATE_IN_SCHOOL):
            emails = self.duplicates if problem == Problem.DUPLICATE else self.duplicates_in_school
            return Q(**{f"{EMAIL_LOWER}__in": sorted(emails)})
        if problem == Problem.USERNAME:
            return Q(username="") | Q(username__contains="@")
        if problem == Problem.DUPLICATE_USERNAME:
            return Q(**{f"{USERNAME_LOWER}__in": sorted(self.duplicate_usernames)})
        raise KeyError(problem)

    def blocking_q(self) -> Q:
        """Active people matching this are withheld from publication: no email, a duplicate email, a
        foreign domain, or a login name another person of the tenant has too (case-insensitive)."""
        return (
            self.q(Problem.MISSING)
            | self.q(Problem.DUPLICATE)
            | self.q(Problem.FOREIGN_DOMAIN)
            | self.q(Problem.DUPLICATE_USERNAME)
        )

    def having(self, queryset: QuerySet, problem: str | None = None) -> QuerySet:
        """``queryset`` with the ``email_lower`` alias, restricted to ``problem`` when given."""
        queryset = with_email_lower(queryset)
        return queryset.filter(self.q(problem)) if problem else queryset

    def flags(self, email: str, username: str) -> list[str]:
        """The :class:`Problem` values that apply to one person, for showing next to their row."""
        email = email.lower()
        flags = []
        if not email:
            flags.append(Problem.MISSING)
        elif not self.tenant.allows(email):
            flags.append(Problem.FOREIGN_DOMAIN)
        if email in self.duplicates_in_school:
            flags.append(Problem.DUPLICATE_IN_SCHOOL)
        elif email in self.duplicates:
            flags.append(Problem.DUPLICATE)
        if not username or "@" in username:
            flags.append(Problem.USERNAME)
        if username and published_login(username) in self.duplicate_usernames:
            flags.append(Problem.DUPLICATE_USERNAME)
        return flags


def email_problems(school: School, *, tenant: EmailTenant | None = None) -> EmailProblems:
    """The :class:`EmailProblems` of ``school`` (the tenant's queries, then six or nine more)."""
    tenant = tenant or email_tenant(school)
    in_school = duplicate_emails([school.pk])
    across = duplicate_emails(tenant.school_ids) if tenant.school_ids != {school.pk} else in_school
    return EmailProblems(
        school_id=school.pk,
        tenant=tenant,
        duplicates=across,
        duplicates_in_school=in_school,
        duplicate_usernames=duplicate_usernames(tenant.school_ids),
    )


def email_problems_among(
    school: School, *, emails: Collection[str], usernames: Collection[str], tenant: EmailTenant | None = None
) -> EmailProblems:
    """The :class:`EmailProblems` of ``school`` as far as people with one of ``emails`` (lower case) and
    one of ``usernames`` (published, lower case) are concerned: exact for them, not for anyone else.

    Whether an email is a duplicate depends only on who holds it, so only the tenant's people holding one
    of ``emails`` are grouped, not the whole tenant (the incremental publication's case,
    ``lis.publication.incremental``).
    """
    tenant = tenant or email_tenant(school)
    in_school = duplicate_emails([school.pk], among=emails)
    across = duplicate_emails(tenant.school_ids, among=emails) if tenant.school_ids != {school.pk} else in_school
    return EmailProblems(
        school_id=school.pk,
        tenant=tenant,
        duplicates=across,
        duplicates_in_school=in_school,
        duplicate_usernames=duplicate_usernames(tenant.school_ids, among=usernames),
    )


def people_rows(
    *,
    problems: EmailProblems,
    role: str | None = None,
    problem: str | None = None,
    status: str | None = Status.ACTIVE,
    search: str = "",
) -> QuerySet:
    """The school's students and teachers as ``values()`` dicts for the mass-edit page, by name.

    Each dict has ``role`` plus :data:`~myschool.emails.people.PERSON_FIELDS` (``number`` is the
    student or staff number). ``role`` None lists both (a UNION, so it pages in SQL); ``problem``
    is a :class:`Problem` value; ``status`` None lists leavers too; ``search`` matches names,
    username, email and number (case-insensitive).
    """
    parts = []
    for name in [role] if role else list(MODELS):
        queryset = problems.having(MODELS[name].objects.filter(school_id=problems.school_id), problem)
        if status:
            queryset = queryset.filter(status=status)
        number = NUMBER_FIELDS[name]
        for word in search.split():
            queryset = queryset.filter(
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(username__icontains=word)
                | Q(primary_email__icontains=word)
                | Q(**{f"{number}__icontains": word})
            )
        parts.append(queryset.annotate(role=Value(name), number=F(number)).values("role", *PERSON_FIELDS).order_by())
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return rows.order_by("family_name", "given_name", "role", "pk")
