"""The token endpoint: django-oauth-toolkit's ``TokenView`` behind two rate limits (§1, §5).

Checking a client secret means running a deliberately slow password hash, so:

- every ``POST`` counts against its IP address: ``ONEROSTER_API["TOKEN_IP_RATE"]`` per window
  (default 120 a minute; SDS connectors of many schools share Microsoft's addresses);
- every secret check counts against the client id actually being authenticated, from that
  address: ``ONEROSTER_API["TOKEN_RATE"]`` per window (default 30 a minute). The count is taken
  by the validator (:meth:`.validators.OneRosterOAuth2Validator._load_application`) right before
  the toolkit hashes, whichever way the client id came (HTTP Basic, or the form fields the
  toolkit falls back to when Basic fails), so a decoy ``Authorization`` header changes nothing.

Over either limit → 429 ``server_busy`` envelope with ``Retry-After``. Unknown client ids cost no
hashing (the toolkit looks the application up first); only the IP limit applies to them.
Grants other than ``client_credentials`` are refused by the OAuth server itself
(:data:`.server.ClientCredentialsServer`) before any client or user lookup.

The answer is always JSON: a database too busy to store the token (SQLite during a long
publication) is 503 ``server_busy`` with ``Retry-After``, and any other failure a 500 envelope,
never Django's HTML error page.
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView

from ..conf import api_setting
from ..errors import INTERNAL_ERROR, SERVER_BUSY, database_busy_response, error_response
from myschool.clientip import client_ip
from myschool.ratelimit import hit_rate_limit
from .validators import TokenRateExceeded

log = logging.getLogger(__name__)


def _busy(retry_after: int) -> HttpResponse:
    return error_response(429, SERVER_BUSY, "Too many token requests; retry later.", {"Retry-After": str(retry_after)})


class OneRosterTokenView(TokenView):
    """``POST grant_type=client_credentials`` → ``{"access_token", "token_type", "expires_in", "scope"}``."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        retry_after = hit_rate_limit(f"token:ip:{client_ip(request)}", api_setting("TOKEN_IP_RATE"))
        if retry_after is not None:
            return _busy(retry_after)
        try:
            return super().post(request, *args, **kwargs)
        except TokenRateExceeded as exceeded:
            return _busy(exceeded.retry_after)
        except OperationalError as exc:
            return database_busy_response(exc)
        except Exception:  # noqa: BLE001 — SDS gets JSON whatever went wrong
            log.exception("Token request failed")
            return error_response(500, INTERNAL_ERROR, "The server could not issue a token.")
