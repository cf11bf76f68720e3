"""The page django-axes shows a locked-out admin login (``AXES_LOCKOUT_CALLABLE``).

A member of staff who typed ``AXES_FAILURE_LIMIT`` wrong passwords from one address sees when
they may try again, in the sync zone (``SYNC_TIME_ZONE``, CET by default) with the zone's name,
in the one format used for times shown to people (``2026-12-02 01:30 CET``). The answer is a 429
with ``Retry-After`` in seconds, like every other rate limit of the project.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .clientip import client_ip

TEMPLATE = "admin/lockout.html"


def format_local_time(moment: dt.datetime) -> str:
    """``moment`` (aware) in the sync zone with the zone's abbreviation: ``2026-12-02 01:30 CET``."""
    local = moment.astimezone(ZoneInfo(settings.SYNC_TIME_ZONE))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def lockout_ends_at(request: HttpRequest, username: str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """When the lockout of (``username``, this request's address) ends: its last counted failure
    plus ``AXES_COOLOFF_TIME``; ``now`` plus the cool-off when no failure is on record."""
    now = now or timezone.now()
    last = AccessAttempt.objects.filter(
        username=username, ip_address=getattr(request, "axes_ip_address", None) or client_ip(request)
    ).aggregate(last=Max("attempt_time"))["last"]
    return (last or now) + get_cool_off(request)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429: "Too many failed logins, try again after <time> CET", with ``Retry-After`` (seconds, ≥ 1)."""
    username = get_client_username(request, credentials)
    now = timezone.now()
    ends_at = lockout_ends_at(request, username, now=now)
    wait = max(1, math.ceil((ends_at - now).total_seconds()))
    context = {
        "title": "Too many failed logins",
        "site_header": "MySchool administration",
        "username": username or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "retry_at": format_local_time(ends_at),
        "cooloff_minutes": settings.AXES_COOLOFF_MINUTES,
    }
    response = render(request, TEMPLATE, context, status=429)
    response["Retry-After"] = str(wait)
    return response
