"""Which published records an OAuth client may see: its integration's schools, nothing else (issue 6 §5).

An OAuth application belongs to at most one :class:`lis.models.Integration` through its
:class:`lis.models.IntegrationClient`. The client sees the :class:`lis.models.PublishedObject`
rows owned by that integration's schools, plus the district orgs that are the ``parent`` of a
visible school org; active demographics only of schools whose sync settings share demographics
(their tombstones always, so switching sharing off reaches SDS); and its own tenant tombstones
(records it was served that left its scope, :mod:`lis.publication.tenants`).
An application with no integration is refused (403 ``forbidden``) rather than shown an empty
roster, so a misconfigured client is noticed. One whose integration is suspended is refused as
unauthenticated (401): suspension revokes its tokens, and this catches any that slipped through.

The lookup also feeds sync health: when the client's ``last_request_at`` is over a minute old,
one conditional UPDATE records this request (:mod:`lis.integrations.health`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from lis.integrations.health import client_request_due, client_request_record
from lis.models import IntegrationClient, IntegrationStatus, Kind, PublishedObject, PublishedStatus
from lis.publication.lock import commit_order_filter, commit_order_wait


class TenantRefused(Exception):
    """The application may not read any roster; ``str(exc)`` says why."""


class TenantSuspended(TenantRefused):
    """The application's integration is suspended: its credentials count as revoked (401)."""


@dataclass(frozen=True)
class Tenant:
    """The integration an OAuth client reads for; builds the scope every query is AND-ed with.

    ``school_ids`` are the integration's schools and ``demographics_school_ids`` those of them that
    share demographics, resolved once per request: literal ids (rather than a subquery) let
    PostgreSQL estimate how many rows a page scans and pick the page-key index (see ``views``).
    """

    integration_id: int
    school_ids: tuple[int, ...] = ()
    demographics_school_ids: tuple[int, ...] = ()
    has_tenant_tombstones: bool = False

    def scope(self, kind: str) -> Q:
        """The ``Q`` limiting ``PublishedObject`` rows of ``kind`` to what this tenant may see.

        Applied before and outside the client's filter: ``qs.filter(scope).filter(client_q)``.
        """
        schools = list(self.school_ids)
        visible = Q(school_id__in=schools)  # tenant tombstones have no school: never matched here
        if kind == Kind.DEMOGRAPHICS:
            sharing = list(self.demographics_school_ids)
            visible &= Q(school_id__in=sharing) | Q(status=PublishedStatus.TOBEDELETED)
        if kind == Kind.ORG:
            district_ids = PublishedObject.objects.filter(
                kind=Kind.ORG, subtype="school", school_id__in=schools, parent_ref__isnull=False
            ).values("parent_ref")
            visible |= Q(school__isnull=True, tenant=0, sourced_id__in=district_ids)
        if self.has_tenant_tombstones:  # only then, so the usual plan is untouched
            visible |= Q(tenant=self.integration_id)
        return visible


def tenant_for_application(application_id: int | None) -> Tenant:
    """The :class:`Tenant` of an OAuth application, with its schools (one query, plus at most one
    UPDATE a minute per client recording the request for sync health).

    Raises :class:`TenantRefused` when the application has no integration client, and
    :class:`TenantSuspended` when its integration is suspended.
    """
    # Before reading the store, wait for a run between its stamp and its commit (the watermark
    # that cannot be missed, lis.publication.lock): on PostgreSQL within this same query.
    commit_order_wait()
    clients = IntegrationClient.objects.filter(application_id=application_id)
    if (waiting := commit_order_filter()) is not None:
        clients = clients.filter(waiting)
    rows = list(
        clients.values_list(
            "integration_id",
            "integration__status",
            "integration__schools__id",
            "integration__schools__sync_settings__share_demographics",
            "pk",
            "last_request_at",
            "integration__tenant_tombstones_until",
        )
    )
    if not rows:
        raise TenantRefused("This OAuth client is not connected to any integration.")
    integration_id, status = rows[0][:2]
    if status == IntegrationStatus.SUSPENDED:
        raise TenantSuspended("This client's integration is suspended.")
    client_pk, last_request_at, tombstones_until = rows[0][4:]
    if client_request_due(last_request_at):
        client_request_record(client_pk=client_pk)
    schools = sorted({school for _i, _s, school, _d, *_client in rows if school is not None})
    sharing = sorted({school for _i, _s, school, shares, *_client in rows if school is not None and shares})
    has_copies = tombstones_until is not None and tombstones_until > timezone.now()
    return Tenant(integration_id, tuple(schools), tuple(sharing), has_copies)
