"""Which published records an OAuth client may see: its integration's schools, nothing else (issue 6 §5).

An OAuth application belongs to at most one :class:`lis.models.Integration` through its
:class:`lis.models.IntegrationClient`. The client sees the :class:`lis.models.PublishedObject`
rows owned by that integration's schools, plus the district orgs that are the ``parent`` of a
visible school org; demographics only of schools whose sync settings share demographics.
An application with no integration, or with a suspended one, is refused (403 ``forbidden``)
rather than shown an empty roster, so a misconfigured client is noticed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from lis.models import Integration, IntegrationClient, IntegrationStatus, Kind, PublishedObject


class TenantRefused(Exception):
    """The application may not read any roster; ``str(exc)`` says why."""


@dataclass(frozen=True)
class Tenant:
    """The integration an OAuth client reads for; builds the scope every query is AND-ed with."""

    integration_id: int

    def school_ids(self, *, sharing_demographics: bool = False) -> QuerySet:
        """A subquery of the ids of this integration's schools (optionally only those sharing demographics)."""
        links = Integration.schools.through.objects.filter(integration_id=self.integration_id)
        if sharing_demographics:
            links = links.filter(school__sync_settings__share_demographics=True)
        return links.values("school_id")

    def scope(self, kind: str) -> Q:
        """The ``Q`` limiting ``PublishedObject`` rows of ``kind`` to what this tenant may see.

        Applied before and outside the client's filter: ``qs.filter(scope).filter(client_q)``.
        """
        schools = self.school_ids(sharing_demographics=kind == Kind.DEMOGRAPHICS)
        visible = Q(school_id__in=schools)
        if kind == Kind.ORG:
            district_ids = PublishedObject.objects.filter(
                kind=Kind.ORG, subtype="school", school_id__in=schools, parent_ref__isnull=False
            ).values("parent_ref")
            visible |= Q(school__isnull=True, sourced_id__in=district_ids)
        return visible


def tenant_for_application(application_id: int | None) -> Tenant:
    """The :class:`Tenant` of an OAuth application (one query).

    Raises :class:`TenantRefused` when the application has no integration client or its
    integration is suspended.
    """
    row = (
        IntegrationClient.objects.filter(application_id=application_id)
        .values_list("integration_id", "integration__status")
        .first()
    )
    if row is None:
        raise TenantRefused("This OAuth client is not connected to any integration.")
    integration_id, status = row
    if status == IntegrationStatus.SUSPENDED:
        raise TenantRefused("This client's integration is suspended.")
    return Tenant(integration_id)
