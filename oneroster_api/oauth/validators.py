"""The django-oauth-toolkit validator for SDS clients (``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]``).

Differences from the toolkit's default, all from oneroster-1.1.md §1:

- only the ``client_credentials`` grant is accepted (the server, :mod:`.server`, refuses the
  others with ``unsupported_grant_type`` before they reach the validator; this is a second lock);
- every secret check is counted against ``ONEROSTER_API["TOKEN_RATE"]`` for (client id, IP
  address) just before the toolkit hashes the secret, for HTTP Basic and form credentials alike;
  over the limit raises :class:`TokenRateExceeded`, which the token view turns into a 429;
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

from ..conf import api_setting
from myschool.clientip import client_ip_from_meta
from myschool.ratelimit import hit_rate_limit
from .scopes import client_allowed_scopes, granted_scopes


class TokenRateExceeded(Exception):
    """Too many secret checks for one client id from one address; ``retry_after`` in whole seconds (≥ 1)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"token rate exceeded; retry after {retry_after} s")


class OneRosterOAuth2Validator(OAuth2Validator):
    """Client credentials only, scopes by intersection."""

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        suspended = IntegrationClient.objects.filter(
            application=request.client, integration__status=IntegrationStatus.SUSPENDED
        ).exists()
        return not suspended

    def _load_application(self, client_id, request):
        # The toolkit loads the application, then checks the secret against it: count the check here,
        # keyed on the id it is about to authenticate (Basic or form), before the slow hash runs.
        application = super()._load_application(client_id, request)
        if application is not None and getattr(request, "grant_type", None) == "client_credentials":
            address = client_ip_from_meta(request.headers) if request.headers else ""
            retry_after = hit_rate_limit(f"token:client:{client_id}:{address}", api_setting("TOKEN_RATE"))
            if retry_after is not None:
                raise TokenRateExceeded(retry_after)
        return application

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
