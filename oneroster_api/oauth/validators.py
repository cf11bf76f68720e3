"""The django-oauth-toolkit validator for SDS clients (``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]``).

Differences from the toolkit's default, all from oneroster-1.1.md §1:

- only the ``client_credentials`` grant is accepted (``unauthorized_client`` otherwise);
- scopes: the intersection rule of :mod:`.scopes` instead of "every requested scope must be
  allowed"; the granted list replaces ``request.scopes`` so the token and the response's
  ``scope`` say exactly what was granted;
- without a ``scope`` parameter the client gets every scope it is allowed;
- a client whose integration is suspended fails client authentication (``invalid_client``, 401);
- each token issued is recorded on the client (``last_token_at``) for sync health.

Client authentication (HTTP Basic or ``client_id``/``client_secret`` form fields, hashed secrets)
is the toolkit's own.
"""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from lis.integrations.health import client_token_record
from lis.models import IntegrationClient, IntegrationStatus

from .scopes import client_allowed_scopes, granted_scopes


class OneRosterOAuth2Validator(OAuth2Validator):
    """Client credentials only, scopes by intersection."""

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        suspended = IntegrationClient.objects.filter(
            application=request.client, integration__status=IntegrationStatus.SUSPENDED
        ).exists()
        return not suspended

    def save_bearer_token(self, token, request, *args, **kwargs):
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        client_token_record(application_id=request.client.pk)
        return saved

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type != "client_credentials":
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return client_allowed_scopes(request.client)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        granted = granted_scopes(scopes, client_allowed_scopes(client))
        if not granted:
            return False
        request.scopes = granted
        return True
