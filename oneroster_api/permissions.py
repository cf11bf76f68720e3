"""Authentication and authorization of OneRoster API requests: bearer tokens and their scopes (§1, §5).

Client-credentials tokens carry no user, so everything here looks at the access token
(``request.auth``): its scopes and its application — never ``request.user``.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from lis.models import Kind

from myschool.ratelimit import hit_rate_limit

from .conf import DEMOGRAPHICS, ROSTER, ROSTER_CORE, api_setting
from .tenancy import TenantRefused, TenantSuspended, tenant_of_application, tenant_request_record


def scopes_allow(kind: str, scopes: set[str] | frozenset[str]) -> bool:
    """Whether a token with ``scopes`` may read objects of ``kind``.

    Demographics need ``roster-demographics.readonly``; everything else ``roster-core.readonly``,
    which ``roster.readonly`` includes.
    """
    if kind == Kind.DEMOGRAPHICS:
        return DEMOGRAPHICS in scopes
    return ROSTER_CORE in scopes or ROSTER in scopes


class ClientCredentialsAuthentication(OAuth2Authentication):
    """django-oauth-toolkit bearer authentication; the user is anonymous, ``request.auth`` the token."""

    www_authenticate_realm = "oneroster"

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        return AnonymousUser(), result[1]


class HasOneRosterScope(BasePermission):
    """The token's scopes cover the view's ``endpoint.kind`` (see :func:`scopes_allow`)."""

    message = "The access token does not carry the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False
        kind = view.endpoint.kind
        if scopes_allow(kind, frozenset(token.scope.split())):
            return True
        needed = DEMOGRAPHICS if kind == Kind.DEMOGRAPHICS else f"{ROSTER_CORE} or {ROSTER}"
        self.message = f"This endpoint needs the scope {needed}."
        return False


class IsIntegrationClient(BasePermission):
    """The token's application is a client of an integration that is not suspended (issue 6 §5).

    On success the view's ``tenant`` is set (:func:`~oneroster_api.tenancy.tenant_of_application`)
    and the request recorded for sync health. No integration: 403 ``forbidden`` (a misconfigured
    client is noticed, rather than shown an empty roster); a suspended one: 401, as a revoked token.
    """

    message = "This OAuth client is not connected to any integration."

    def has_permission(self, request, view) -> bool:
        try:
            found = tenant_of_application(request.auth.application_id)
        except TenantSuspended as exc:
            raise AuthenticationFailed(str(exc)) from None
        except TenantRefused as exc:
            self.message = str(exc)
            return False
        tenant_request_record(found)
        view.tenant = found.tenant
        view.store_version = found.store_version
        return True


class ApplicationRateThrottle(BaseThrottle):
    """At most ``ONEROSTER_API["API_RATE"]`` requests per OAuth application and window (429 ``server_busy``).

    Keyed by the token's application, never by IP address: many schools' SDS connectors share
    Microsoft's addresses. Counted with :func:`myschool.ratelimit.hit_rate_limit` in the
    default cache (Redis in production, so all web processes share one budget per client).
    """

    retry_after: int | None = None

    def allow_request(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return True
        self.retry_after = hit_rate_limit(f"api:application:{token.application_id}", api_setting("API_RATE"))
        return self.retry_after is None

    def wait(self) -> int | None:
        return self.retry_after
