"""OneRoster 1.1 vocabulary shared by the publication (which writes it) and the API (which serves it)."""

from __future__ import annotations

import datetime as dt

BASE_PATH = "/ims/oneroster/v1p1"

# GUIDRef ``type`` → the collection whose ``/{id}`` serves that object (oneroster-1.1.md §2–3).
COLLECTION_OF_TYPE = {
    "org": "orgs",
    "academicSession": "academicSessions",
    "term": "terms",
    "gradingPeriod": "gradingPeriods",
    "course": "courses",
    "class": "classes",
    "user": "users",
    "student": "students",
    "teacher": "teachers",
    "enrollment": "enrollments",
    "demographics": "demographics",
}


def guid_ref(ref_type: str, sourced_id: str) -> dict[str, str]:
    """A OneRoster GUIDRef whose ``href`` is a *path*; the API prefixes scheme and host when serving.

    ``ref_type`` is a key of :data:`COLLECTION_OF_TYPE`; raises ``KeyError`` otherwise.
    """
    return {"href": f"{BASE_PATH}/{COLLECTION_OF_TYPE[ref_type]}/{sourced_id}", "sourcedId": sourced_id, "type": ref_type}


def format_datetime(value: dt.datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.sssZ`` (§3 dateLastModified); ``value`` must be timezone-aware."""
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_date(value: dt.date | None) -> str | None:
    """``YYYY-MM-DD`` (§3 startDate, endDate, beginDate, birthDate), or None."""
    return value.isoformat() if value else None


# OAuth scopes of OneRoster 1.1 (oneroster-1.1.md §1).
SCOPE_PREFIX = "https://purl.imsglobal.org/spec/or/v1p1/scope/"
SCOPE_ROSTER_CORE = SCOPE_PREFIX + "roster-core.readonly"
SCOPE_ROSTER = SCOPE_PREFIX + "roster.readonly"
SCOPE_DEMOGRAPHICS = SCOPE_PREFIX + "roster-demographics.readonly"
ALL_SCOPES = (SCOPE_ROSTER_CORE, SCOPE_ROSTER, SCOPE_DEMOGRAPHICS)
