"""Usernames as Microsoft sees them: one per person within a tenant, compared case-insensitively.

SDS matches accounts on ``username`` plus the tenant's domain, so two people of one tenant's
schools publishing ``OKlein`` and ``oklein`` become one Microsoft account. The **published
username** of a person is their MySchool login name cut at any ``@`` (OneRoster §3: it must not
contain one); a person without one gets a **generated** username, made here so that it never
equals anyone else's in the tenant:

1. the local part of the primary email, else the person's number (identifier);
2. if that is taken (another person's login name, or generated for someone created earlier),
   ``<1>.<number>``;
3. if that is taken too, ``<1>.<sourcedId>`` (a sourcedId is unique).

Login names that clash with each other cannot be fixed by the publication: both people are
*duplicate usernames* (:data:`myschool.emails.Problem.DUPLICATE_USERNAME`), withheld like
duplicate emails until someone renames one of them. Only **active** people count, as for emails.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import reduce
from operator import or_

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BigIntegerField, Case, CharField, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Lower, StrIndex, Substr

from myschool.lookups import in_chunks
from myschool.models import Status

from .people import MODELS, NUMBER_FIELDS, PersonKey

USERNAME_LOWER = "username_lower"
PERSON = Coalesce("same_person_as_id", "pk")
"""The person a Student or Teacher row stands for: its main record's pk when linked (issue 14), else its own."""
CHUNK = 1000


def active_people(role: str, school_ids: Collection[int]) -> QuerySet:
    """The active students or teachers (``role``) of the schools ``school_ids``."""
    return MODELS[role].objects.filter(school_id__in=school_ids, status=Status.ACTIVE)


def published_username_expression(field: str = "username"):
    """SQL for the published form of ``field`` (a login name, e.g. ``student__username``), lower-cased:
    cut at the first ``@``, "" when none."""
    cut = Substr(field, 1, StrIndex(field, Value("@")) - 1)
    return Lower(
        Case(When(**{f"{field}__contains": "@"}, then=cut), default=F(field), output_field=CharField())
    )


def with_username_lower(queryset: QuerySet) -> QuerySet:
    """``queryset`` (Students or Teachers) with the alias ``username_lower`` (see :func:`published_username_expression`)."""
    return queryset.alias(**{USERNAME_LOWER: published_username_expression()})


def published_login(username: str) -> str:
    """The published form of a MySchool login name, in lower case: cut at the first ``@``."""
    return username.split("@", 1)[0].lower()


def duplicate_usernames(school_ids: Collection[int], among: Collection[str] | None = None) -> frozenset[str]:
    """Lower-case published login names held by more than one active student or teacher of ``school_ids``.

    Generated usernames are not counted: they never clash (:func:`generated_usernames`). Records linked as
    one person (``same_person_as``) count once. One query (:func:`values_shared`). ``among`` (lower-case
    names): only those are looked at, so the answer is exact for them and reads only their holders.
    """
    names = {
        role: with_username_lower(active_people(role, school_ids)).exclude(**{USERNAME_LOWER: ""})
        for role in MODELS
    }
    if among is not None:
        names = {role: among_values(people, USERNAME_LOWER, among) for role, people in names.items()}
    return values_shared(names, USERNAME_LOWER)


def among_values(people: QuerySet, alias: str, values: Collection[str]) -> QuerySet:
    """``people`` whose ``alias`` is one of ``values`` (one ``any_of`` list on PostgreSQL, several elsewhere;
    more values than one SQLite query may take: ``people`` unfiltered, a superset)."""
    lists = in_chunks(values)
    if not lists:
        return people.none()
    if len(lists) > 8:
        return people
    return people.filter(reduce(or_, (Q(**{f"{alias}__any_of": chunk}) for chunk in lists)))


def values_shared(people: dict[str, QuerySet], alias: str) -> frozenset[str]:
    """The values of ``alias`` that more than one person has among ``people`` (role → Students or Teachers
    queryset with ``alias`` on it): two people of one role (linked records count once) or a student and
    a teacher.

    One query and a single pass over the people: their rows (value, person key) as a ``UNION ALL`` grouped
    by value, keeping values whose smallest and largest person key differ — the same as ``COUNT(DISTINCT)
    > 1``, which PostgreSQL can hash instead of sorting every value, in one scan of each table. The
    person key is ``2 × person + role`` so a student and a teacher never share one.
    """
    parts = []
    for index, (role, queryset) in enumerate(sorted(people.items())):
        key = ExpressionWrapper(PERSON * Value(2) + Value(index), output_field=BigIntegerField())
        parts.append(queryset.order_by().annotate(shared_value=F(alias), person_key=key).values("shared_value", "person_key"))
    union = parts[0].union(*parts[1:], all=True)
    try:
        sql, params = union.query.sql_with_params()
    except EmptyResultSet:  # every part filtered to nothing (e.g. ``among_values`` of no values)
        return frozenset()
    query = (
        f"SELECT u.shared_value FROM ({sql}) u GROUP BY u.shared_value"
        " HAVING MIN(u.person_key) <> MAX(u.person_key)"
    )
    with connections[union.db].cursor() as cursor:
        cursor.execute(query, params)
        return frozenset(row[0] for row in cursor.fetchall())


def _candidate(email: str, number: str) -> str:
    return email.split("@", 1)[0] or number


def generated_usernames(school_ids: Collection[int]) -> dict[PersonKey, str]:
    """The generated username of every active person of ``school_ids`` without a login name.

    Deterministic (people in creation order, students before teachers of the same id) and the
    same whichever of the tenant's schools asks, so each school's publication agrees with the
    others'. Returns ``{PersonKey: username}``; usually a handful of queries.
    """
    people: list[tuple[int, str, int, str, str]] = []
    for role in MODELS:
        # A linked record publishes its main record's username: only main records get one generated.
        rows = with_username_lower(active_people(role, school_ids)).filter(**{USERNAME_LOWER: ""}, same_person_as=None)
        for pk, sourced_id, email, number in rows.values_list("pk", "sourced_id", "primary_email", NUMBER_FIELDS[role]):
            people.append((pk, role, sourced_id, email or "", number or ""))
    if not people:
        return {}
    people.sort(key=lambda person: (person[0], person[1]))
    options = {
        (pk, role): [
            name.replace("@", "")
            for name in (
                _candidate(email, number),
                f"{_candidate(email, number)}.{number}",
                f"{_candidate(email, number)}.{sourced_id}",
            )
        ]
        for pk, role, sourced_id, email, number in people
    }
    taken = _logins_among({name.lower() for names in options.values() for name in names}, school_ids)
    generated: dict[PersonKey, str] = {}
    for pk, role, *_ in people:
        names = options[(pk, role)]
        chosen = next((name for name in names if name and name.lower() not in taken), names[-1])
        taken.add(chosen.lower())
        generated[PersonKey(role, pk)] = chosen
    return generated


def _logins_among(names: set[str], school_ids: Collection[int]) -> set[str]:
    """Which of the lower-case ``names`` are published login names of active people of ``school_ids``."""
    found: set[str] = set()
    ordered = sorted(names)
    for role in MODELS:
        people = with_username_lower(active_people(role, school_ids))
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            matching = people.filter(**{f"{USERNAME_LOWER}__in": chunk}).annotate(name=F(USERNAME_LOWER))
            found.update(matching.values_list("name", flat=True))
    return found
