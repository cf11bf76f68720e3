"""Times shown to people: always in the sync zone (``SYNC_TIME_ZONE``, default CET), labelled, one format.

The nightly publication runs at 00:00 in that zone, so every time a school secretary or support
reads ("last published", "valid until", a run's start) is given in it: ``2026-12-01 09:30 CET``
(``CEST`` in summer). :func:`sync_time` is the one formatter (the ``sync_time`` template filter
calls it); :class:`SyncTimeZoneMiddleware` makes the sync zone current for the admin and the
handoff page, so Django's own date displays agree (their format is set in
:mod:`myschool.formats.en.formats`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

FORMAT = "%Y-%m-%d %H:%M"
# Paths whose pages show times to people (the API keeps UTC, as OneRoster requires).
PEOPLE_PATHS = ("/admin/", "/handoff/")


def sync_zone() -> ZoneInfo:
    """The zone of the nightly run and of "per day" (``SYNC_TIME_ZONE``, default CET)."""
    return ZoneInfo(settings.SYNC_TIME_ZONE)


def sync_time(value: dt.datetime | None, *, empty: str = "—") -> str:
    """``value`` (aware) as ``YYYY-MM-DD HH:MM ZONE`` in the sync zone, e.g. ``2026-12-01 09:30 CET``;
    ``empty`` for None."""
    if value is None:
        return empty
    local = value.astimezone(sync_zone())
    return f"{local:{FORMAT}} {local.tzname()}"


def sync_time_html(value: dt.datetime | None, *, empty: str = "—") -> SafeString | str:
    """:func:`sync_time` for an HTML cell: the date and the time each kept whole
    (``<span class="nowrap">2026-12-01</span> <span class="nowrap">09:30 CET</span>``), so a narrow
    column breaks between them, never inside the date (browsers break after a hyphen); ``empty`` for None."""
    if value is None:
        return empty
    date, _, time = sync_time(value).partition(" ")
    return format_html('<span class="nowrap">{}</span> <span class="nowrap">{}</span>', date, time)


def next_nightly_run(now: dt.datetime | None = None) -> dt.datetime:
    """The next 00:00 in the sync zone after ``now`` (aware), when the nightly publication starts."""
    local = (now or timezone.now()).astimezone(sync_zone())
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=sync_zone())


def time_until(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """A short relative time: ``in 5 h``, ``in 40 min``, ``in 1 h 20 min``, ``now``."""
    minutes = max(0, int(((moment - (now or timezone.now())).total_seconds() + 59) // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes and hours < 3:
        return f"in {hours} h {minutes} min"
    if hours:
        return f"in {hours + (1 if minutes >= 30 else 0)} h"
    return f"in {minutes} min" if minutes else "now"


def next_publication_text(now: dt.datetime | None = None) -> str:
    """``tonight 00:00 CET (in 5 h)``: when the nightly publication next runs."""
    moment = next_nightly_run(now)
    return f"tonight 00:00 {moment.tzname()} ({time_until(moment, now)})"


class SyncTimeZoneMiddleware:
    """Makes the sync zone the current time zone for pages people read (admin, handoff)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PEOPLE_PATHS):
            return self.get_response(request)
        with timezone.override(sync_zone()):
            return self.get_response(request)
