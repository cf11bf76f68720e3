"""The django-oauth-toolkit validator for SDS clients (``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]``).

Differences from the toolkit's default, all from oneroster-1.1.md §1:

- only the ``client_credentials`` grant is accepted (``unauthorized_client`` otherwise);
- scopes: the intersection rule of :mod:`.scopes` instead of "every requested scope must be
  allowed"; the granted list replaces ``request.scopes`` so the token and the response's
  ``scope`` say exactly what was granted;
- without a ``scope`` parameter the client gets every scope it is allowed.

Client authentication (HTTP Basic or ``client_id``/``client_secret`` form fields, hashed secrets)
is the toolkit's own.
"""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from .scopes import client_allowed_scopes, granted_scopes


class OneRosterOAuth2Validator(OAuth2Validator):
    """Client credentials only, scopes by intersection."""

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
