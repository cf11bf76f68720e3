"""Changing an integration's schools: what SDS will see, and support's explicit confirmation.

Removing a school from an integration makes that tenant's SDS delete everything it was served
of the school (tenant tombstones, :mod:`lis.publication.tenants`): all its users, classes and
enrollments at once. That is the mass-deletion guard's case, so it needs an explicit
confirmation that shows the counts: :func:`integration_schools_set` refuses it with
:class:`SchoolRemovalUnconfirmed` unless ``confirm_removal=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from lis.models import Integration, Kind, PublishedObject, PublishedStatus
from myschool.models import School

PLURALS = {
    Kind.ORG: "orgs", Kind.ACADEMIC_SESSION: "academic sessions", Kind.COURSE: "courses", Kind.CLASS: "classes",
    Kind.USER: "users", Kind.ENROLLMENT: "enrollments", Kind.DEMOGRAPHICS: "demographics records",
}


@dataclass
class SchoolRemoval:
    """Schools leaving an integration and, per OneRoster kind, how many served records SDS will see deleted."""

    schools: list[School]
    counts: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """One sentence for support, e.g. "Removing Alder High: SDS will delete 812 users, 40 classes, …"."""
        names = ", ".join(school.name for school in self.schools)
        parts = ", ".join(f"{count:,} {PLURALS.get(kind, kind)}" for kind, count in self.counts.items())
        return (
            f"Removing {names} from this integration: its Microsoft tenant's SDS will receive as "
            f"tobedeleted (and delete) {parts or 'nothing published'}."
        )


class SchoolRemovalUnconfirmed(ValidationError):
    """Removing schools with published records needs ``confirm_removal=True``; the message gives the counts."""


def integration_schools_removal(integration: Integration, schools: Iterable[School]) -> SchoolRemoval:
    """The schools of ``integration`` missing from ``schools`` and their active published records per kind (one query)."""
    kept = {school.pk for school in schools}
    removed = [school for school in integration.schools.all() if school.pk not in kept]
    counts = dict(
        PublishedObject.objects.filter(school__in=removed, tenant=0, status=PublishedStatus.ACTIVE)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by("kind")
    )
    order = list(PLURALS)
    return SchoolRemoval(removed, {kind: counts[kind] for kind in sorted(counts, key=order.index)})


@transaction.atomic
def integration_schools_set(
    *, integration: Integration, schools: Iterable[School], confirm_removal: bool = False
) -> SchoolRemoval:
    """Make ``schools`` the integration's schools; returns what the removal sends SDS.

    Raises :class:`SchoolRemovalUnconfirmed` when a removed school has active published
    records and ``confirm_removal`` is False (nothing changes). Tenant tombstones are written
    once the change commits.
    """
    schools = list(schools)
    removal = integration_schools_removal(integration, schools)
    if removal.counts and not confirm_removal:
        raise SchoolRemovalUnconfirmed(removal.message() + " Confirm it to save.")
    integration.schools.set(schools)
    return removal
