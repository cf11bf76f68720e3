"""Sync health reads: what support (and, read-only, the school) sees of an integration's activity.

Per integration: its status, when credentials were last issued, when one of its clients last
got a token and last called the API, and per school the last successful publication.
"""

from __future__ import annotations

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery

from lis.models import CredentialHandoff, Integration, IntegrationClient, RunStatus
from myschool.models import School


def _latest(queryset: QuerySet, field: str) -> Subquery:
    return Subquery(queryset.filter(**{f"{field}__isnull": False}).order_by(f"-{field}").values(field)[:1])


def integrations_with_health(queryset: QuerySet[Integration] | None = None) -> QuerySet[Integration]:
    """``queryset`` (default: every integration) annotated with ``last_issued_at`` (latest handoff),
    ``last_token_at`` and ``last_request_at`` (latest over all its clients, retired ones included).

    Each is a correlated subquery, so rows are never multiplied and the list stays one query; any
    may be None.
    """
    queryset = Integration.objects.all() if queryset is None else queryset
    handoffs = CredentialHandoff.objects.filter(integration=OuterRef("pk"))
    clients = IntegrationClient.objects.filter(integration=OuterRef("pk"))
    return queryset.annotate(
        last_issued_at=_latest(handoffs, "created_at"),
        last_token_at=_latest(clients, "last_token_at"),
        last_request_at=_latest(clients, "last_request_at"),
    )


def integration_schools_with_last_publication(integration: Integration) -> QuerySet[School]:
    """The integration's schools by name, each annotated with ``last_published_at``: the commit
    time of its latest successful publication run (None if it never had one). One query."""
    return (
        School.objects.filter(integrations=integration)
        .annotate(
            last_published_at=Max(
                "publication_runs__committed_at", filter=Q(publication_runs__status=RunStatus.SUCCEEDED)
            )
        )
        .order_by("name")
    )
