"""Students and teachers side by side: the two kinds of people whose primary email is managed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from myschool.models import Student, Teacher


class PersonRole(models.TextChoices):
    STUDENT = "student", "Student"
    TEACHER = "teacher", "Teacher"


MODELS: dict[str, type[Student | Teacher]] = {PersonRole.STUDENT: Student, PersonRole.TEACHER: Teacher}
NUMBER_FIELDS = {PersonRole.STUDENT: "student_number", PersonRole.TEACHER: "staff_number"}


@dataclass(frozen=True, order=True)
class PersonKey:
    """Identifies a student or a teacher; written ``student:12`` in forms."""

    role: str
    pk: int

    def __str__(self) -> str:
        return f"{self.role}:{self.pk}"

    @classmethod
    def parse(cls, value: str) -> PersonKey:
        """``"teacher:7"`` → ``PersonKey("teacher", 7)``. Raises ``ValueError`` for anything else."""
        role, _, pk = (value or "").partition(":")
        if role not in MODELS or not pk.isdigit():
            raise ValueError(f"Not a person: {value!r}")
        return cls(role, int(pk))


@dataclass(frozen=True)
class Person:
    """What the email pages show of a person, and their current primary email."""

    key: PersonKey
    number: str
    username: str
    given_name: str
    family_name: str
    email: str
    status: str = "active"

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.key.role} {self.number})"


PERSON_FIELDS = ("pk", "number", "username", "given_name", "family_name", "primary_email", "status")


def person_values(queryset, role: str):
    """``queryset`` (of ``role``'s model) as ``values_list`` in :data:`PERSON_FIELDS` order."""
    return queryset.annotate(number=models.F(NUMBER_FIELDS[role])).values_list(*PERSON_FIELDS)


def person_from_values(role: str, row: tuple) -> Person:
    """A :class:`Person` from a :func:`person_values` row of ``role``."""
    pk, number, username, given, family, email, status = row
    return Person(PersonKey(role, pk), number, username, given, family, email, status)


def person_from_dict(row: dict) -> Person:
    """A :class:`Person` from a ``people_rows`` dict (``role`` plus :data:`PERSON_FIELDS`)."""
    return person_from_values(row["role"], tuple(row[name] for name in PERSON_FIELDS))


def people_by_key(*, school_id: int, keys, lock: bool = False) -> dict[PersonKey, Person]:
    """The people of school ``school_id`` among ``keys`` (one query per role present); others are left out.

    ``lock`` selects them ``FOR UPDATE`` (inside a transaction) so their emails are read as written.
    """
    found: dict[PersonKey, Person] = {}
    for role, model in MODELS.items():
        pks = [key.pk for key in keys if key.role == role]
        for start in range(0, len(pks), 1000):
            rows = model.objects.filter(school_id=school_id, pk__in=pks[start : start + 1000])
            rows = rows.select_for_update() if lock else rows
            for row in person_values(rows, role):
                person = person_from_values(role, row)
                found[person.key] = person
    return found
