"""Publication-store rows for API tests, in exactly the shapes the publication writes.

:func:`publish` derives ``subtype``, the ``*_ref`` columns and the ``PublishedReference`` rows
from the payload the same way the publication does, so tests only write payloads.
:func:`build_roster` publishes a small, complete school; :func:`oauth_client` and
:func:`bearer_token` make SDS clients and their tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from lis.models import Integration, IntegrationClient, PublishedObject, PublishedReference, SchoolSyncSettings
from lis.oneroster import guid_ref
from myschool.models import School
from oneroster_api.conf import DEMOGRAPHICS, ROSTER, ROSTER_CORE

UTC = dt.UTC
T0 = dt.datetime(2026, 9, 1, 12, 0, 0, 123000, tzinfo=UTC)
ALL_SCOPES = (ROSTER_CORE, ROSTER, DEMOGRAPHICS)

_SUBTYPE_KEY = {"user": "role", "enrollment": "role", "org": "type", "academicSession": "type", "class": "classType"}
_REF_COLUMNS = {
    "class": {"school": "school_ref", "course": "course_ref"},
    "enrollment": {"school": "school_ref", "class": "class_ref", "user": "user_ref"},
    "course": {"org": "school_ref", "schoolYear": "year_ref"},
    "org": {"parent": "parent_ref"},
    "academicSession": {"parent": "parent_ref"},
}
_LISTS = {"class": ("terms",), "user": ("orgs", "agents")}


def publish(
    kind: str,
    sourced_id: str,
    payload: dict,
    *,
    school: School | None,
    status: str = "active",
    modified: dt.datetime = T0,
) -> PublishedObject:
    """One ``PublishedObject`` (and its reference rows) as the publication would store it."""
    columns = {
        column: payload[key]["sourcedId"] for key, column in _REF_COLUMNS.get(kind, {}).items() if key in payload
    }
    obj = PublishedObject.objects.create(
        kind=kind,
        sourced_id=sourced_id,
        school=school,
        status=status,
        date_last_modified=modified,
        subtype=payload.get(_SUBTYPE_KEY.get(kind, ""), ""),
        payload=payload,
        content_hash=hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest(),
        **columns,
    )
    PublishedReference.objects.bulk_create(
        PublishedReference(obj=obj, name=name, sourced_id=ref["sourcedId"])
        for name in _LISTS.get(kind, ())
        for ref in payload.get(name, [])
    )
    return obj


def org(school: School, *, district: str | None = None, **kwargs) -> PublishedObject:
    payload = {"name": school.name, "type": "school", "identifier": school.code}
    if district:
        payload["parent"] = guid_ref("org", district)
    return publish("org", school.sourced_id, payload, school=school, **kwargs)


def district(sourced_id: str, **kwargs) -> PublishedObject:
    return publish(
        "org", sourced_id, {"name": "Lakes District", "type": "district", "identifier": "D1"}, school=None, **kwargs
    )


def session(school: School, sourced_id: str, type_: str, *, parent: str | None = None, title: str = "", **kwargs):
    payload = {
        "title": title or sourced_id,
        "type": type_,
        "startDate": "2026-08-01",
        "endDate": "2027-07-31",
        "schoolYear": "2027",
    }
    if parent:
        payload["parent"] = guid_ref("academicSession", parent)
    return publish("academicSession", sourced_id, payload, school=school, **kwargs)


def course(school: School, sourced_id: str, *, year: str, title: str = "Math 101", **kwargs) -> PublishedObject:
    payload = {
        "title": title,
        "courseCode": sourced_id.upper(),
        "schoolYear": guid_ref("academicSession", year),
        "org": guid_ref("org", school.sourced_id),
        "grades": ["09"],
        "subjects": ["Math"],
        "subjectCodes": [],
    }
    return publish("course", sourced_id, payload, school=school, **kwargs)


def klass(
    school: School,
    sourced_id: str,
    *,
    course_id: str,
    terms: list[str],
    class_type: str = "scheduled",
    title: str = "",
    **kwargs,
):
    payload = {
        "title": title or f"Class {sourced_id}",
        "classCode": sourced_id.upper(),
        "classType": class_type,
        "location": "Room 1",
        "course": guid_ref("course", course_id),
        "school": guid_ref("org", school.sourced_id),
        "terms": [guid_ref("academicSession", t) for t in terms],
        "grades": ["09"],
        "subjects": ["Math"],
        "subjectCodes": [],
        "periods": ["1"],
    }
    return publish("class", sourced_id, payload, school=school, **kwargs)


def user(
    school: School, sourced_id: str, role: str, *, given: str = "Ada", family: str = "", enabled: bool = True, **kwargs
):
    payload = {
        "username": sourced_id,
        "enabledUser": enabled,
        "givenName": given,
        "familyName": family or f"Family {sourced_id}",
        "middleName": "",
        "role": role,
        "identifier": f"ID-{sourced_id}",
        "email": f"{sourced_id}@school.example",
        "sms": "",
        "phone": "",
        "orgs": [guid_ref("org", school.sourced_id)],
        "agents": [],
        "grades": ["09"] if role == "student" else [],
        "userIds": [{"type": "MySchool", "identifier": f"ID-{sourced_id}"}],
    }
    return publish("user", sourced_id, payload, school=school, **kwargs)


def enrollment(
    school: School, sourced_id: str, *, user_id: str, class_id: str, role: str, primary: bool = False, **kwargs
):
    payload = {
        "user": guid_ref("user", user_id),
        "class": guid_ref("class", class_id),
        "school": guid_ref("org", school.sourced_id),
        "role": role,
        "primary": primary,
        "beginDate": "2026-08-01",
    }
    return publish("enrollment", sourced_id, payload, school=school, **kwargs)


def demographics(school: School, user_id: str, *, sex: str = "female", **kwargs) -> PublishedObject:
    payload = {"birthDate": "2011-04-02", "sex": sex, "white": True, "asian": False}
    return publish("demographics", user_id, payload, school=school, **kwargs)


@dataclass
class Roster:
    """The ids of one published school (see :func:`build_roster`)."""

    school: School
    prefix: str
    district: str | None

    def __getattr__(self, name: str) -> str:
        """``roster.k1`` → ``"<prefix>-k1"``: the sourcedId of that object."""
        return f"{self.__dict__['prefix']}-{name}"


def build_roster(
    school: School, prefix: str, *, district_id: str | None = None, share_demographics: bool = True
) -> Roster:
    """A complete small publication for ``school``; every id starts with ``prefix``.

    district ``district_id`` (optional, shared) ← org school ← year ``{p}-y`` ← terms ``{p}-t1``,
    ``{p}-t2`` ← grading period ``{p}-gp1`` (in t1); course ``{p}-c1``; classes ``{p}-k1`` (scheduled,
    t1) and ``{p}-k2`` (homeroom, t1+t2); students ``{p}-s1..s3``, teacher ``{p}-te1``; enrollments
    ``{p}-e1`` s1→k1, ``{p}-e2`` s2→k1, ``{p}-e3`` te1→k1 (primary), ``{p}-e4`` s3→k2,
    ``{p}-e5`` s2→k2 **tobedeleted**; demographics for s1 and s2.
    """
    roster = Roster(school, prefix, district_id)
    p = prefix
    if district_id and not PublishedObject.objects.filter(kind="org", sourced_id=district_id).exists():
        district(district_id)
    org(school, district=district_id)
    session(school, f"{p}-y", "schoolYear")
    session(school, f"{p}-t1", "term", parent=f"{p}-y")
    session(school, f"{p}-t2", "term", parent=f"{p}-y")
    session(school, f"{p}-gp1", "gradingPeriod", parent=f"{p}-t1")
    course(school, f"{p}-c1", year=f"{p}-y")
    klass(school, f"{p}-k1", course_id=f"{p}-c1", terms=[f"{p}-t1"])
    klass(school, f"{p}-k2", course_id=f"{p}-c1", terms=[f"{p}-t1", f"{p}-t2"], class_type="homeroom")
    for n in (1, 2, 3):
        user(school, f"{p}-s{n}", "student")
    user(school, f"{p}-te1", "teacher", given="Alan")
    enrollment(school, f"{p}-e1", user_id=f"{p}-s1", class_id=f"{p}-k1", role="student")
    enrollment(school, f"{p}-e2", user_id=f"{p}-s2", class_id=f"{p}-k1", role="student")
    enrollment(school, f"{p}-e3", user_id=f"{p}-te1", class_id=f"{p}-k1", role="teacher", primary=True)
    enrollment(school, f"{p}-e4", user_id=f"{p}-s3", class_id=f"{p}-k2", role="student")
    enrollment(school, f"{p}-e5", user_id=f"{p}-s2", class_id=f"{p}-k2", role="student", status="tobedeleted")
    SchoolSyncSettings.objects.update_or_create(
        school=school, defaults={"should_sync": True, "share_demographics": share_demographics}
    )
    if share_demographics:
        demographics(school, f"{p}-s1")
        demographics(school, f"{p}-s2", sex="male")
    return roster


def integration(*schools: School, name: str = "Contoso", status: str = "active") -> Integration:
    """A Microsoft tenant integration for ``schools``."""
    obj = Integration.objects.create(
        name=name,
        tenant_id=str(uuid.uuid4()),
        key_contact_name="Kim Key",
        key_contact_email="kim@contoso.example",
        status=status,
    )
    obj.schools.set(schools)
    return obj


def oauth_client(
    integration_obj: Integration | None, *, secret: str = "s3cret-value", name: str = "SDS"
) -> Application:
    """A confidential client-credentials application, tied to ``integration_obj`` when given.

    The plain secret is ``secret`` (the toolkit stores it hashed).
    """
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    if integration_obj is not None:
        IntegrationClient.objects.create(integration=integration_obj, application=application)
    return application


def bearer_token(application: Application, *scopes: str, expires_in: int = 3600) -> str:
    """A raw access token for ``application`` with ``scopes`` (default: all three), stored hashed."""
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        application=application,
        scope=" ".join(scopes or ALL_SCOPES),
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
    )
    set_token_value(token, raw)
    token.save()
    return raw
