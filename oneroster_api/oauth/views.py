"""The token endpoint: django-oauth-toolkit's ``TokenView`` behind a rate limit (§1, §5).

Checking a client secret means running a deliberately slow password hash, so each
(client id, IP address) pair may ask ``ONEROSTER_API["TOKEN_RATE"]`` times per window
(default 30 a minute); more → 429 ``server_busy`` envelope with ``Retry-After``. Unknown client
ids cost no hashing (the toolkit looks the application up first), so they share the same limit
per (id, IP) without further protection.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView

from ..conf import api_setting
from ..errors import SERVER_BUSY, error_response
from ..ratelimit import hit_rate_limit


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
        return super().post(request, *args, **kwargs)
