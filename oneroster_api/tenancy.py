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

The lookup (:func:`tenant_of_application`, a selector: it only reads) also feeds sync health: when
the client's ``last_request_at`` is over a minute old, :func:`tenant_request_record` (a service)
records this request with one conditional UPDATE (:mod:`lis.integrations.health`). Both are called
by :class:`oneroster_api.permissions.IsIntegrationClient`, which turns a refusal into 403 or 401.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from lis.integrations.health import client_request_due, client_request_record
from lis.models import IntegrationClient, IntegrationStatus, Kind, PublishedObject, PublishedStatus
from lis.publication.lock import commit_order_filter, commit_order_wait

from .paging import store_version


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


@dataclass(frozen=True)
class TenantClient:
    """What :func:`tenant_of_application` found: the :class:`Tenant` and the OAuth client it was
    found through (``client_pk``, ``last_request_at``: when sync health last recorded a request), and
    the publication store's version read in the same query (``store_version``, ``None`` when unknown:
    :mod:`oneroster_api.paging`)."""

    tenant: Tenant
    client_pk: int
    last_request_at: dt.datetime | None
    store_version: int | None = None


def tenant_of_application(application_id: int | None) -> TenantClient:
    """The :class:`Tenant` of an OAuth application with its schools, its client and the store version (one query; reads only).

    Raises :class:`TenantRefused` when the application has no integration client, and
    :class:`TenantSuspended` when its integration is suspended. Recording the request for sync
    health is the caller's write (:func:`tenant_request_record`).
    """
    # Before reading the store, wait for a run between its stamp and its commit (the watermark
    # that cannot be missed, lis.publication.lock): on PostgreSQL within this same query.
    commit_order_wait()
    clients = IntegrationClient.objects.filter(application_id=application_id)
    if (waiting := commit_order_filter()) is not None:
        clients = clients.filter(waiting)
    rows = list(
        clients.annotate(store_version=store_version()).values_list(
            "integration_id",
            "pk",
            "last_request_at",
            "integration__tenant_tombstones_until",
            "integration__status",
            "integration__schools__id",
            "integration__schools__sync_settings__share_demographics",
            "store_version",
            named=True,
        )
    )
    if not rows:
        raise TenantRefused("This OAuth client is not connected to any integration.")
    client = rows[0]  # the integration's and the client's columns are the same on every row
    if client.integration__status == IntegrationStatus.SUSPENDED:
        raise TenantSuspended("This client's integration is suspended.")
    schools = [row for row in rows if row.integration__schools__id is not None]
    until = client.integration__tenant_tombstones_until
    tenant = Tenant(
        client.integration_id,
        tuple(sorted({row.integration__schools__id for row in schools})),
        tuple(
            sorted(
                {
                    row.integration__schools__id
                    for row in schools
                    if row.integration__schools__sync_settings__share_demographics
                }
            )
        ),
        has_tenant_tombstones=until is not None and until > timezone.now(),
    )
    return TenantClient(tenant, client.pk, client.last_request_at, client.store_version)


def tenant_request_record(found: TenantClient) -> None:
    """Record an API request of ``found``'s client for sync health: at most one conditional UPDATE a
    minute per client (:func:`lis.integrations.health.client_request_record`)."""
    if client_request_due(found.last_request_at):
        client_request_record(client_pk=found.client_pk)
