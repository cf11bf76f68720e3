"""The LIS app's settings: one namespaced dict, ``settings.LIS``, with these defaults.

The defaults are written only here: ``myschool/settings.py`` puts in ``settings.LIS`` just the keys
whose environment variable ``LIS_<KEY>`` is set.

- ``TOMBSTONE_RETENTION_DAYS`` (90): how long a ``tobedeleted`` object stays published.
- ``MASS_DELETION_PERCENT`` (30) and ``MASS_DELETION_MIN_OBJECTS`` (10): a run that would turn
  more than this share of a school's published users or classes, and more than this many,
  into tombstones is held until support confirms it.
- ``SUPPORT_RUNS_PER_DAY`` (1): extra publications support may start per school and day.
- ``HANDOFF_VALID_HOURS`` (24): how long a credential handoff link can be revealed and confirmed.
- ``HANDOFF_COOLDOWN_HOURS`` (24): after issuing credentials, a resend (rotation) within this
  time needs a reason from support.
- ``HANDOFF_FAILURES_PER_MINUTE`` (10): wrong or dead handoff tokens one IP address may try per minute.
- ``SILENCE_ALERT_HOURS`` (48): support is emailed when an active integration made no API request for this long.
- ``INCREMENTAL_EVERY_MINUTES`` (60): how often the periodic run publishes, incrementally, the schools
  with logged changes (``lis.publication.incremental``); 0 turns it off.
- ``FULL_RUN_EVERY_DAYS`` (1): the nightly run is full (the safety net) when the school's last full
  run is at least this old; 1 makes every nightly run full, 7 weekly.
- ``INCREMENTAL_MAX_OBJECTS`` (50000): an incremental run whose changes touch more users, classes
  and enrollments than this runs in full instead.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    "TOMBSTONE_RETENTION_DAYS": 90,
    "MASS_DELETION_PERCENT": 30,
    "MASS_DELETION_MIN_OBJECTS": 10,
    "SUPPORT_RUNS_PER_DAY": 1,
    "HANDOFF_VALID_HOURS": 24,
    "HANDOFF_COOLDOWN_HOURS": 24,
    "HANDOFF_FAILURES_PER_MINUTE": 10,
    "SILENCE_ALERT_HOURS": 48,
    "INCREMENTAL_EVERY_MINUTES": 60,
    "FULL_RUN_EVERY_DAYS": 1,
    "INCREMENTAL_MAX_OBJECTS": 50000,
}


def lis_setting(name: str):
    """The value of ``settings.LIS[name]``, or its default. Raises ``KeyError`` for unknown names."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown LIS setting {name!r}")
    return getattr(settings, "LIS", {}).get(name, DEFAULTS[name])
