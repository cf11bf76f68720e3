"""The token endpoint: django-oauth-toolkit's ``TokenView`` behind a rate limit (§1, §5).

Checking a client secret means running a deliberately slow password hash, so each
(client id, IP address) pair may ask ``ONEROSTER_API["TOKEN_RATE"]`` times per window
(default 30 a minute); more → 429 ``server_busy`` envelope with ``Retry-After``. Unknown client
ids cost no hashing (the toolkit looks the application up first), so they share the same limit
per (id, IP) without further protection. The answer is always JSON: a database too busy to
store the token (SQLite during a long publication) is 503 ``server_busy`` with ``Retry-After``,
and any other failure a 500 envelope, never Django's HTML error page.
"""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote_plus

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView

from ..conf import api_setting
from ..errors import INTERNAL_ERROR, SERVER_BUSY, database_busy_response, error_response
from ..ratelimit import hit_rate_limit

log = logging.getLogger(__name__)


def client_id_of(request: HttpRequest) -> str:
    """The client id a token request claims: from HTTP Basic, else the ``client_id`` form field."""
    kind, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return ""
        return unquote_plus(decoded.partition(":")[0])
    return request.POST.get("client_id", "")


class OneRosterTokenView(TokenView):
    """``POST grant_type=client_credentials`` → ``{"access_token", "token_type", "expires_in", "scope"}``."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = f"token:{client_id_of(request)}:{request.META.get('REMOTE_ADDR', '')}"
        retry_after = hit_rate_limit(key, api_setting("TOKEN_RATE"))
        if retry_after is not None:
            return error_response(
                429, SERVER_BUSY, "Too many token requests; retry later.", {"Retry-After": str(retry_after)}
            )
        try:
            return super().post(request, *args, **kwargs)
        except OperationalError as exc:
            return database_busy_response(exc)
        except Exception:  # noqa: BLE001 — SDS gets JSON whatever went wrong
            log.exception("Token request failed")
            return error_response(500, INTERNAL_ERROR, "The server could not issue a token.")
