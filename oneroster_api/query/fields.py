"""What each OneRoster kind offers to ``filter``, ``sort`` and ``fields`` (oneroster-1.1.md §3–§4).

A :class:`Field` says how a OneRoster field name maps onto :class:`lis.models.PublishedObject`:
a real column (``sourced_id``, ``status``, ``date_last_modified``, ``subtype``, the ``*_ref``
columns), a key of the JSON ``payload``, or a list of references stored as
:class:`lis.models.PublishedReference` rows. Only the fields listed here can be filtered or
sorted on; :data:`SELECTABLE` lists every top-level key a ``fields=`` selection may name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lis.models import Kind


class FieldType(enum.Enum):
    TEXT = "text"  # compared as text, by code point
    BOOL = "bool"  # JSON true/false, filtered with 'true' / 'false'
    DATETIME = "datetime"  # dateLastModified: a time comparison
    REFS = "refs"  # a list of GUIDRefs, filtered on their sourcedIds (``orgs.sourcedId``)


@dataclass(frozen=True)
class Field:
    """One filterable/sortable field: ``column`` is a model field, else ``payload`` key ``name``."""

    name: str
    type: FieldType = FieldType.TEXT
    column: str | None = None
    reference_name: str | None = None  # PublishedReference.name for FieldType.REFS
    # ``=`` and ``!=`` ignore case: Microsoft compares emails and usernames case-insensitively, and
    # SDS looks teachers up with ``email='…'`` as typed in the tenant (oneroster-1.1.md §6, issue 14).
    case_insensitive: bool = False

    @property
    def sortable(self) -> bool:
        return self.type is not FieldType.REFS


def _text(*names: str) -> list[Field]:
    return [Field(name) for name in names]


def _folded(*names: str) -> list[Field]:
    return [Field(name, case_insensitive=True) for name in names]


def _bool(*names: str) -> list[Field]:
    return [Field(name, FieldType.BOOL) for name in names]


def _ref(name: str, column: str) -> Field:
    return Field(f"{name}.sourcedId", FieldType.TEXT, column=column)


def _refs(name: str) -> Field:
    return Field(f"{name}.sourcedId", FieldType.REFS, reference_name=name)


COMMON = [
    Field("sourcedId", column="sourced_id"),
    Field("status", column="status"),
    Field("dateLastModified", FieldType.DATETIME, column="date_last_modified"),
]

DEMOGRAPHIC_BOOLEANS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)
DEMOGRAPHIC_PLACES = ("countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus")

_BY_KIND: dict[str, list[Field]] = {
    Kind.ORG: [*_text("name", "identifier"), Field("type", column="subtype"), _ref("parent", "parent_ref")],
    Kind.ACADEMIC_SESSION: [
        *_text("title", "startDate", "endDate", "schoolYear"),
        Field("type", column="subtype"),
        _ref("parent", "parent_ref"),
    ],
    Kind.COURSE: [*_text("title", "courseCode"), _ref("schoolYear", "year_ref"), _ref("org", "school_ref")],
    Kind.CLASS: [
        *_text("title", "classCode", "location"),
        Field("classType", column="subtype"),
        _ref("course", "course_ref"),
        _ref("school", "school_ref"),
        _refs("terms"),
    ],
    Kind.USER: [
        *_folded("username", "email"),
        *_text("givenName", "familyName", "middleName", "identifier", "sms", "phone"),
        *_bool("enabledUser"),
        Field("role", column="subtype"),
        _refs("orgs"),
        _refs("agents"),
    ],
    Kind.ENROLLMENT: [
        *_text("beginDate", "endDate"),
        *_bool("primary"),
        Field("role", column="subtype"),
        _ref("user", "user_ref"),
        _ref("class", "class_ref"),
        _ref("school", "school_ref"),
    ],
    Kind.DEMOGRAPHICS: [
        *_text("birthDate", "sex", *DEMOGRAPHIC_PLACES),
        *_bool(*DEMOGRAPHIC_BOOLEANS),
    ],
}

FIELDS: dict[str, dict[str, Field]] = {
    kind: {field.name: field for field in COMMON + extra} for kind, extra in _BY_KIND.items()
}

# Every top-level key of a served object, in the order §3 lists them (``fields=`` may name these).
SELECTABLE: dict[str, tuple[str, ...]] = {
    Kind.ORG: ("name", "type", "identifier", "parent", "children"),
    Kind.ACADEMIC_SESSION: ("title", "type", "startDate", "endDate", "parent", "children", "schoolYear"),
    Kind.COURSE: ("title", "courseCode", "schoolYear", "org", "grades", "subjects", "subjectCodes", "resources"),
    Kind.CLASS: (
        "title",
        "classCode",
        "classType",
        "location",
        "course",
        "school",
        "terms",
        "grades",
        "subjects",
        "subjectCodes",
        "periods",
        "resources",
    ),
    Kind.USER: (
        "username",
        "userIds",
        "enabledUser",
        "givenName",
        "familyName",
        "middleName",
        "role",
        "identifier",
        "email",
        "sms",
        "phone",
        "agents",
        "orgs",
        "grades",
    ),
    Kind.ENROLLMENT: ("user", "class", "school", "role", "primary", "beginDate", "endDate"),
    Kind.DEMOGRAPHICS: (
        "birthDate",
        "sex",
        *DEMOGRAPHIC_BOOLEANS,
        *DEMOGRAPHIC_PLACES,
    ),
}
SELECTABLE = {
    kind: ("sourcedId", "status", "dateLastModified", *names, "metadata") for kind, names in SELECTABLE.items()
}


def field_for(kind: str, name: str) -> Field | None:
    """The filterable field ``name`` of ``kind`` (a :class:`lis.models.Kind` value), or None."""
    return FIELDS[kind].get(name)
