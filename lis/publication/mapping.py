"""MySchool → OneRoster 1.1: pure functions from row values to the records SDS will read.

Implements the mapping table of ``design.md`` and the field rules of ``oneroster-1.1.md`` §3.
No function here touches the database; :mod:`lis.publication.collect` feeds them.

A :class:`PublishedRecord` is an object *without* ``sourcedId``/``status``/``dateLastModified``
in its payload (those are store columns); its GUIDRefs carry ``href`` paths
(:func:`lis.oneroster.guid_ref`) so a change of host never changes a hash.

The content hash is the SHA-256 of the payload as canonical JSON (sorted keys, no spaces, UTF-8,
non-ASCII characters as themselves): :func:`canonical_json`, written with ``orjson``, whose
output for these payloads (strings, booleans, null, lists, objects) is byte for byte what
``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives, the
definition the stored hashes were made with (``tests/lis/test_canonical_json.py``). It is made
once per record, for the hash and (PostgreSQL) the stage's payload: the two ``json.dumps`` per
record it replaces took 60.6 s of a 453 s profiled first publication at 50,000 students.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

import orjson

from lis.models import Kind
from lis.oneroster import format_date, guid_ref
from myschool.models import split_list

# Namespace of the deterministic ids MySchool invents (the per-school, per-year Homeroom course).
MYSCHOOL_NAMESPACE = uuid.UUID("6f0b5e0e-4f0a-5d3c-9a1e-6d7973636f6f")


@dataclass(slots=True)
class PublishedRecord:
    """One OneRoster object as the publication computes it.

    ``refs`` maps store columns (``school_ref``, ``course_ref``, ``class_ref``, ``user_ref``,
    ``parent_ref``, ``year_ref``) to the sourcedIds the payload references; ``lists`` maps a
    list field (``terms``, ``orgs``, ``agents``) to its sourcedIds. ``shared`` is True for an
    object no single school owns (a district org). ``owner_id`` is the owning school's pk when it is
    not the running school (a person linked across schools, :mod:`lis.publication.people`), and
    ``movable_from`` the schools whose stored copy the run may take over (move, never tombstone).
    """

    kind: str
    sourced_id: str
    payload: dict
    subtype: str = ""
    refs: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    shared: bool = False
    owner_id: int | None = None
    movable_from: frozenset[int] = frozenset()
    _hash: str | None = None
    _canonical: bytes | None = None

    @property
    def canonical(self) -> bytes:
        """The payload as canonical JSON (:func:`canonical_json`), computed once."""
        if self._canonical is None:
            self._canonical = canonical_json(self.payload)
        return self._canonical

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the payload as canonical JSON: sorted keys, no spaces, UTF-8."""
        if self._hash is None:
            self._hash = hashlib.sha256(self.canonical).hexdigest()
        return self._hash

    @property
    def label(self) -> str:
        """A short human description for previews, e.g. ``Algebra 1 (cls-1)`` or ``student usr-1 in cls-1 (enr-1)``."""
        return describe(self.kind, self.sourced_id, self.payload)


def canonical_json(payload: dict) -> bytes:
    """``payload`` as canonical JSON, UTF-8: sorted keys, no spaces, non-ASCII characters unescaped.

    Byte for byte ``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``
    for the JSON types a payload holds (str, bool, None, int, list, dict with str keys); raises
    ``orjson.JSONEncodeError`` (a ``TypeError``) for anything else, as ``json.dumps`` raises ``TypeError``.
    """
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def describe(kind: str, sourced_id: str, payload: dict) -> str:
    """A short human description of a published object for previews and run logs."""
    if kind == Kind.ENROLLMENT:
        name = f"{payload.get('role')} {payload['user']['sourcedId']} in {payload['class']['sourcedId']}"
    elif kind == Kind.DEMOGRAPHICS:
        name = "demographics"
    else:
        name = payload.get("title") or payload.get("name") or payload.get("username") or kind
    return f"{name} ({sourced_id})"


def school_year(end_date: dt.date) -> str:
    """OneRoster ``schoolYear``: the calendar year in which the school year ends, as digits (§3)."""
    return str(end_date.year)


def homeroom_course_id(*, school_sourced_id: str, year_sourced_id: str) -> str:
    """The sourcedId of a school's Homeroom course for one year: a UUID5, the same on every run."""
    return str(uuid.uuid5(MYSCHOOL_NAMESPACE, f"homeroom:{school_sourced_id}:{year_sourced_id}"))


def publishable_username(*, username: str, email: str, identifier: str) -> str:
    """A non-empty ``username`` without ``@`` (SDS appends the tenant's domain, §3 user).

    The MySchool login name when it has no ``@``; else its part before the ``@``; when
    there is no login name, the local part of the email, and failing that the identifier.
    This is one person's fallback only: two people without a login name may get the same one
    here, so the publication passes the tenant-wide generated username instead
    (:func:`myschool.emails.usernames.generated_usernames`, which never clashes).
    """
    candidate = username or email or identifier
    return candidate.split("@", 1)[0] or identifier


# orgs ---------------------------------------------------------------------------------------


def org_for_school(*, sourced_id: str, name: str, code: str, district_sourced_id: str | None = None) -> PublishedRecord:
    """A school → org ``type=school``; ``identifier`` is the school code (never empty)."""
    payload = {"name": name, "type": "school", "identifier": code or sourced_id}
    refs = {}
    if district_sourced_id:
        payload["parent"] = guid_ref("org", district_sourced_id)
        refs["parent_ref"] = district_sourced_id
    return PublishedRecord(Kind.ORG, sourced_id, payload, subtype="school", refs=refs)


def org_for_district(*, sourced_id: str, name: str, code: str) -> PublishedRecord:
    """A school group → org ``type=district``, shared by its schools (no ``children``, so every
    school's run computes the same payload)."""
    payload = {"name": name, "type": "district", "identifier": code or sourced_id}
    return PublishedRecord(Kind.ORG, sourced_id, payload, subtype="district", shared=True)


# academic sessions --------------------------------------------------------------------------


def session_for_year(
    *, sourced_id: str, title: str, start_date: dt.date, end_date: dt.date, term_sourced_ids: list[str]
) -> PublishedRecord:
    """The active academic year → academicSession ``type=schoolYear`` whose children are its terms."""
    payload = {
        "title": title,
        "type": "schoolYear",
        "startDate": format_date(start_date),
        "endDate": format_date(end_date),
        "children": [guid_ref("academicSession", t) for t in term_sourced_ids],
        "schoolYear": school_year(end_date),
    }
    return PublishedRecord(Kind.ACADEMIC_SESSION, sourced_id, payload, subtype="schoolYear")


def session_for_term(
    *, sourced_id: str, title: str, start_date: dt.date, end_date: dt.date, year_sourced_id: str, year_end: dt.date
) -> PublishedRecord:
    """A term → academicSession ``type=term`` whose parent is its school year."""
    payload = {
        "title": title,
        "type": "term",
        "startDate": format_date(start_date),
        "endDate": format_date(end_date),
        "parent": guid_ref("academicSession", year_sourced_id),
        "schoolYear": school_year(year_end),
    }
    return PublishedRecord(Kind.ACADEMIC_SESSION, sourced_id, payload, subtype="term", refs={"parent_ref": year_sourced_id})


# courses and classes ------------------------------------------------------------------------


def _listed(value: str) -> list[str]:
    """A Subject's comma-separated ``subject_area`` / ``subject_code`` as the list OneRoster publishes
    (``"Math,Science"`` → ``["Math", "Science"]``; §3 ``subjects``/``subjectCodes`` are lists)."""
    return split_list(value)


def course_for_subject(
    *,
    sourced_id: str,
    title: str,
    code: str,
    subject_area: str,
    subject_code: str,
    grades: list[str],
    year_sourced_id: str,
    school_sourced_id: str,
) -> PublishedRecord:
    """A Subject → OneRoster course of the active year, owned by its school (``org``)."""
    payload = {
        "title": title,
        "courseCode": code,
        "schoolYear": guid_ref("academicSession", year_sourced_id),
        "org": guid_ref("org", school_sourced_id),
        "grades": sorted(set(grades)),
        "subjects": _listed(subject_area),
        "subjectCodes": _listed(subject_code),
    }
    return PublishedRecord(
        Kind.COURSE, sourced_id, payload, refs={"school_ref": school_sourced_id, "year_ref": year_sourced_id}
    )


def homeroom_course(*, school_sourced_id: str, year_sourced_id: str) -> PublishedRecord:
    """The one "Homeroom" course per school and year that every homeroom class belongs to."""
    sourced_id = homeroom_course_id(school_sourced_id=school_sourced_id, year_sourced_id=year_sourced_id)
    payload = {
        "title": "Homeroom",
        "courseCode": "HOMEROOM",
        "schoolYear": guid_ref("academicSession", year_sourced_id),
        "org": guid_ref("org", school_sourced_id),
        "grades": [],
        "subjects": [],
        "subjectCodes": [],
    }
    return PublishedRecord(
        Kind.COURSE, sourced_id, payload, refs={"school_ref": school_sourced_id, "year_ref": year_sourced_id}
    )


def _class(
    *,
    sourced_id: str,
    title: str,
    code: str,
    class_type: str,
    location: str,
    course_sourced_id: str,
    school_sourced_id: str,
    term_sourced_ids: list[str],
    grades: list[str],
    subjects: list[str],
    subject_codes: list[str],
    periods: list[str],
) -> PublishedRecord:
    if not term_sourced_ids:
        raise ValueError(f"class {sourced_id} needs at least one term (oneroster-1.1.md §3)")
    payload = {
        "title": title,
        "classCode": code,
        "classType": class_type,
        "location": location,
        "course": guid_ref("course", course_sourced_id),
        "school": guid_ref("org", school_sourced_id),
        "terms": [guid_ref("academicSession", t) for t in term_sourced_ids],
        "grades": grades,
        "subjects": subjects,
        "subjectCodes": subject_codes,
        "periods": periods,
    }
    return PublishedRecord(
        Kind.CLASS,
        sourced_id,
        payload,
        subtype=class_type,
        refs={"school_ref": school_sourced_id, "course_ref": course_sourced_id},
        lists={"terms": list(term_sourced_ids)},
    )


def class_for_course(
    *,
    sourced_id: str,
    title: str,
    code: str,
    location: str,
    grades: list[str],
    periods: list[str],
    subject_sourced_id: str,
    subject_area: str,
    subject_code: str,
    school_sourced_id: str,
    term_sourced_ids: list[str],
) -> PublishedRecord:
    """A Course (teaching group) → class ``classType=scheduled`` whose course is its Subject.

    ``term_sourced_ids`` are the Course's terms, or all terms of its year when it names none
    (or the year itself when the year has no terms): a class always has at least one.
    """
    return _class(
        sourced_id=sourced_id,
        title=title,
        code=code,
        class_type="scheduled",
        location=location,
        course_sourced_id=subject_sourced_id,
        school_sourced_id=school_sourced_id,
        term_sourced_ids=term_sourced_ids,
        grades=grades,
        subjects=_listed(subject_area),
        subject_codes=_listed(subject_code),
        periods=periods,
    )


def class_for_homeroom(
    *,
    sourced_id: str,
    title: str,
    code: str,
    location: str,
    grade: str,
    school_sourced_id: str,
    year_sourced_id: str,
    term_sourced_ids: list[str],
) -> PublishedRecord:
    """A SchoolClass (form/homeroom) → class ``classType=homeroom`` in the school's Homeroom course,
    taking every term of its year (the year itself when it has none)."""
    return _class(
        sourced_id=sourced_id,
        title=title,
        code=code,
        class_type="homeroom",
        location=location,
        course_sourced_id=homeroom_course_id(school_sourced_id=school_sourced_id, year_sourced_id=year_sourced_id),
        school_sourced_id=school_sourced_id,
        term_sourced_ids=term_sourced_ids,
        grades=_listed(grade),
        subjects=[],
        subject_codes=[],
        periods=[],
    )


# users, enrollments, demographics -------------------------------------------------------------


def user_record(
    *,
    sourced_id: str,
    role: str,
    username: str,
    given_name: str,
    middle_name: str,
    family_name: str,
    identifier: str,
    email: str,
    grades: list[str],
    school_sourced_id: str | None = None,
    org_sourced_ids: list[str] | None = None,
) -> PublishedRecord:
    """A Student (``role=student``, identifier = student number) or Teacher (``role=teacher``,
    identifier = staff number) → user. ``email`` is the primary (Microsoft) email and nothing
    else; ``username`` follows :func:`publishable_username`; there is never a ``password``.
    ``orgs`` is the one school ``school_sourced_id``, or ``org_sourced_ids`` for a person linked
    across schools (one user with several orgs, issue 14)."""
    orgs = list(org_sourced_ids) if org_sourced_ids is not None else [school_sourced_id]
    payload = {
        "username": publishable_username(username=username, email=email, identifier=identifier),
        "enabledUser": True,
        "givenName": given_name,
        "familyName": family_name,
        "middleName": middle_name,
        "role": role,
        "identifier": identifier,
        "email": email,
        "sms": "",
        "phone": "",
        "orgs": [guid_ref("org", org) for org in orgs],
        "agents": [],
        "grades": grades,
        "userIds": [],
    }
    return PublishedRecord(Kind.USER, sourced_id, payload, subtype=role, lists={"orgs": orgs})


def enrollment_record(
    *,
    sourced_id: str,
    role: str,
    user_sourced_id: str,
    class_sourced_id: str,
    school_sourced_id: str,
    primary: bool,
    begin_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> PublishedRecord:
    """A membership → enrollment carrying the membership's own sourcedId; ``primary`` is true
    only for a group's main teacher."""
    payload = {
        "user": guid_ref("user", user_sourced_id),
        "class": guid_ref("class", class_sourced_id),
        "school": guid_ref("org", school_sourced_id),
        "role": role,
        "primary": primary,
    }
    if begin_date:
        payload["beginDate"] = format_date(begin_date)
    if end_date:
        payload["endDate"] = format_date(end_date)
    return PublishedRecord(
        Kind.ENROLLMENT,
        sourced_id,
        payload,
        subtype=role,
        refs={"user_ref": user_sourced_id, "class_ref": class_sourced_id, "school_ref": school_sourced_id},
    )


def demographics_record(*, sourced_id: str, birth_date: dt.date | None, sex: str) -> PublishedRecord | None:
    """A student's birth date and sex → demographics with the user's sourcedId; None when neither is known."""
    if not birth_date and not sex:
        return None
    payload = {}
    if birth_date:
        payload["birthDate"] = format_date(birth_date)
    if sex:
        payload["sex"] = sex
    return PublishedRecord(Kind.DEMOGRAPHICS, sourced_id, payload)
