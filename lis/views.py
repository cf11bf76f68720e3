"""The credential handoff page (design.md, *Credential handoff*): the one non-admin page of LIS.

``GET /handoff/`` shows a button and nothing else, so mail scanners that prefetch the link
burn nothing. The link's token sits in the URL fragment, which browsers never send; the
button's POST carries it in the body (:mod:`lis.integrations.crypto`). ``POST action=reveal``
shows the connection details, ``POST action=confirm`` ("I have entered these in SDS") ends the
handoff and activates the integration.

No login and no CSRF token: the token in the body is the only authority, and a forged
cross-site POST would have to know it. Failed tries are limited per IP address
(``LIS["HANDOFF_FAILURES_PER_MINUTE"]``); unknown, malformed, expired, confirmed and
revoked tokens all get the same page (404; 429 with ``Retry-After`` once the limit is reached), so guessing
learns nothing. Responses are never cached and send no referrer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from lis.integrations.crypto import failure_record, failures_retry_after
from lis.integrations.handoff import HandoffUnavailable, handoff_confirm, handoff_reveal
from lis.integrations.services import TransitionRefused
from lis.oneroster import BASE_PATH
from myschool.clientip import client_ip
from myschool.links import public_url

TEMPLATE = "lis/handoff.html"


def _page(request: HttpRequest, state: str, *, status: int = 200, **context) -> HttpResponse:
    # The first SUPPORT_EMAILS address is the contact the page names.
    support_email = settings.SUPPORT_EMAILS[0] if settings.SUPPORT_EMAILS else ""
    response = render(request, TEMPLATE, {"state": state, "support_email": support_email, **context}, status=status)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def handoff_page(request: HttpRequest) -> HttpResponse:
    """GET: the reveal button. POST: reveal or confirm (see the module docstring)."""
    if request.method == "GET":
        return _page(request, "start")
    ip = client_ip(request) or None
    retry_after = failures_retry_after(ip or "")
    if retry_after is not None:
        response = _page(request, "unavailable", status=429)
        response["Retry-After"] = str(retry_after)
        return response
    token = request.POST.get("token", "")
    try:
        if request.POST.get("action") == "confirm":
            handoff = handoff_confirm(token=token, ip=ip)
            return _page(request, "confirmed", integration=handoff.integration)
        revealed = handoff_reveal(token=token, ip=ip)
    except HandoffUnavailable:
        failure_record(ip or "")
        return _page(request, "unavailable", status=404)
    except TransitionRefused as exc:
        return _page(request, "start", message=str(exc), status=409)
    return _page(
        request,
        "revealed",
        revealed=revealed,
        integration=revealed.integration,
        token=token,
        token_url=public_url(reverse("oauth-token")),
        base_url=public_url(BASE_PATH),
        scope=" ".join(revealed.integration.scopes),
        expires_at=revealed.handoff.expires_at,
    )
