"""The OneRoster error envelope, warnings, and the DRF exception handler (oneroster-1.1.md §5).

Every failure under the base path answers with the same JSON shape::

    {"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": "...",
     "imsx_CodeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldName": "TargetEndSystem",
                                                 "imsx_codeMinorFieldValue": "<codeMinor>"}]}}

401s carry ``WWW-Authenticate: Bearer …`` and 429s ``Retry-After``. A database too busy to
answer in time (SQLite's write lock held past the busy timeout by a long publication, a
PostgreSQL lock or statement timeout) is 503 ``server_busy`` with ``Retry-After``: SDS retries.
Anything else unexpected is logged and answered 500 ``internal_server_error`` in the same
shape, never an HTML page.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions

from .query import QueryError, QueryWarning
from .query.errors import INVALID_DATA

log = logging.getLogger(__name__)

UNAUTHORISED = "unauthorisedrequest"
FORBIDDEN = "forbidden"
UNKNOWN_OBJECT = "unknownobject"
UNSUPPORTED = "unsupportedoperation"
SERVER_BUSY = "server_busy"
INTERNAL_ERROR = "internal_server_error"


def status_info(code_minor: str, description: str, *, code_major: str = "failure", severity: str = "error") -> dict:
    """One imsx status object: the whole error body, or one element of a ``statusInfoSet``."""
    return {
        "imsx_codeMajor": code_major,
        "imsx_severity": severity,
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code_minor}
            ]
        },
    }


def warning_set(warnings: tuple[QueryWarning, ...] | list[QueryWarning]) -> list[dict]:
    """The ``statusInfoSet`` of a 200 body: each warning with codeMajor success, severity warning."""
    return [status_info(w.code_minor, w.description, code_major="success", severity="warning") for w in warnings]


def error_response(status: int, code_minor: str, description: str, headers: dict | None = None) -> JsonResponse:
    """A JSON error envelope response with ``status`` and extra ``headers``."""
    response = JsonResponse(status_info(code_minor, description), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def exception_handler(exc: Exception, context: dict) -> JsonResponse:
    """DRF ``EXCEPTION_HANDLER`` for the OneRoster views: every exception → envelope (see module doc)."""
    if isinstance(exc, QueryError):
        return error_response(400, exc.code_minor, exc.description)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        challenge = getattr(exc, "auth_header", None) or 'Bearer realm="oneroster"'
        description = "A valid bearer access token is required (OAuth 2.0 client credentials)."
        request = context.get("request")
        oauth2_error = getattr(request, "oauth2_error", None) or {}
        if oauth2_error.get("error_description"):
            description = str(oauth2_error["error_description"])
        elif isinstance(exc, exceptions.AuthenticationFailed) and exc.detail != exc.default_detail:
            description = str(exc.detail)
        return error_response(401, UNAUTHORISED, description, {"WWW-Authenticate": challenge})
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return error_response(403, FORBIDDEN, str(exc) or "Forbidden.")
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return error_response(404, UNKNOWN_OBJECT, str(exc) or "No such object.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(405, UNSUPPORTED, "The OneRoster API is read-only: use GET.", {"Allow": "GET, HEAD"})
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        return error_response(429, SERVER_BUSY, "Too many requests; retry later.", {"Retry-After": str(wait)})
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, INVALID_DATA, str(exc))
    if isinstance(exc, OperationalError):
        return database_busy_response(exc)
    log.exception("OneRoster API request failed", exc_info=exc)
    return error_response(500, INTERNAL_ERROR, "The server could not answer this request.")


BUSY_RETRY_AFTER_SECONDS = 30


def database_busy_response(exc: OperationalError) -> JsonResponse:
    """503 ``server_busy`` with ``Retry-After`` for a database that could not answer in time (logged)."""
    log.warning("Database busy, answered 503: %s", exc)
    return error_response(
        503,
        SERVER_BUSY,
        "The server is busy (a publication is being written); retry shortly.",
        {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )
