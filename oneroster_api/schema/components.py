"""The OpenAPI 3 component schemas of the OneRoster API: objects, wrappers, the error envelope.

Built from the same tables the views serve from (:data:`oneroster_api.query.fields.SELECTABLE`,
:data:`oneroster_api.endpoints.COLLECTIONS`), so the document cannot drift from what is served.
Shapes follow oneroster-1.1.md §3 (objects), §4 (``statusInfoSet`` warnings) and §5 (errors).

No object property is ``required``: ``fields=`` returns only the fields asked for, so any of them
may be absent. Wrappers are exact: the wrapper key (required) and an optional ``statusInfoSet``.
"""

from __future__ import annotations

from lis.models import Kind

from ..endpoints import COLLECTIONS, SINGULAR
from ..query.fields import DEMOGRAPHIC_BOOLEANS, SELECTABLE

STRING = {"type": "string"}
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
STRINGS = {"type": "array", "items": STRING}
REF = {"$ref": "#/components/schemas/GUIDRef"}
REFS = {"type": "array", "items": REF}
ROLES = ["student", "teacher", "administrator", "aide", "guardian", "parent", "proctor", "relative"]

# Component name of each kind's object schema.
OBJECT_NAMES = {
    Kind.ACADEMIC_SESSION: "AcademicSession",
    Kind.CLASS: "Class",
    Kind.COURSE: "Course",
    Kind.DEMOGRAPHICS: "Demographics",
    Kind.ENROLLMENT: "Enrollment",
    Kind.ORG: "Org",
    Kind.USER: "User",
}

_COMMON = {
    "sourcedId": {"type": "string", "description": "Stable forever; never reused."},
    "status": {"type": "string", "enum": ["active", "tobedeleted"]},
    "dateLastModified": {
        "type": "string",
        "format": "date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        "description": "UTC, YYYY-MM-DDTHH:MM:SS.sssZ; changes whenever anything in the object changes.",
    },
    "metadata": {"type": "object", "description": "Extensions."},
    "startDate": DATE,
    "endDate": DATE,
    "beginDate": DATE,
    "birthDate": DATE,
    "parent": REF,
    "children": REFS,
    "org": REF,
    "course": REF,
    "school": REF,
    "class": REF,
    "user": REF,
    "terms": REFS,
    "orgs": REFS,
    "agents": REFS,
    "resources": REFS,
    "grades": {**STRINGS, "description": "CEDS grade codes (KG, 01 … 13, PK, Other …)."},
    "subjects": STRINGS,
    "subjectCodes": STRINGS,
    "periods": STRINGS,
    "enabledUser": {"type": "boolean"},
    "primary": {"type": "boolean"},
    "username": {"type": "string", "pattern": "^[^@]*$", "description": "Never contains @ (SDS appends the domain)."},
    "userIds": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": STRING, "identifier": STRING},
            "required": ["type", "identifier"],
        },
    },
    "sex": {"type": "string", "enum": ["male", "female"]},
    "role": {"type": "string", "enum": ROLES},
    **{name: {"type": "boolean"} for name in DEMOGRAPHIC_BOOLEANS},
}
_BY_KIND = {
    (Kind.ORG, "type"): {"type": "string", "enum": ["school", "district", "department", "local", "state", "national"]},
    (Kind.ACADEMIC_SESSION, "type"): {"type": "string", "enum": ["schoolYear", "term", "semester", "gradingPeriod"]},
    (Kind.ACADEMIC_SESSION, "schoolYear"): {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "The calendar year in which the school year ends, e.g. 2027.",
    },
    (Kind.COURSE, "schoolYear"): REF,
    (Kind.CLASS, "classType"): {"type": "string", "enum": ["homeroom", "scheduled"]},
}


def object_schema(kind: str) -> dict:
    """The schema of one served object of ``kind``: every selectable field, none required."""
    properties = {name: _BY_KIND.get((kind, name)) or _COMMON.get(name) or STRING for name in SELECTABLE[kind]}
    return {
        "type": "object",
        "description": f"A OneRoster {kind} (oneroster-1.1.md §3). With fields= only the named properties appear.",
        "properties": properties,
    }


def wrapper_schema(wrapper: str, kind: str, *, single: bool) -> dict:
    """``{"<wrapper>": object | [objects], "statusInfoSet"?: [warnings]}``, nothing else."""
    item = {"$ref": f"#/components/schemas/{OBJECT_NAMES[kind]}"}
    return {
        "type": "object",
        "properties": {
            wrapper: item if single else {"type": "array", "items": item},
            "statusInfoSet": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/StatusInfo"},
                "description": "Warnings (invalid_sort_field, invalid_selection_field); the data is still served.",
            },
        },
        "required": [wrapper],
        "additionalProperties": False,
    }


def wrapper_name(wrapper: str, *, single: bool) -> str:
    """Component name of a wrapper: ``UsersList``, ``UserObject``."""
    return wrapper[:1].upper() + wrapper[1:] + ("Object" if single else "List")


STATUS_INFO = {
    "type": "object",
    "description": "An imsx status: the whole body of an error, or one warning of a statusInfoSet (§5).",
    "properties": {
        "imsx_codeMajor": {"type": "string", "enum": ["success", "processing", "failure", "unsupported"]},
        "imsx_severity": {"type": "string", "enum": ["status", "warning", "error"]},
        "imsx_description": STRING,
        "imsx_CodeMinor": {
            "type": "object",
            "properties": {
                "imsx_codeMinorField": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "imsx_codeMinorFieldName": STRING,
                            "imsx_codeMinorFieldValue": {
                                "type": "string",
                                "description": "unauthorisedrequest, forbidden, unknownobject, invalid_filter_field, "
                                "invalid_blank_selection_field, invaliddata, server_busy, unsupportedoperation, "
                                "internal_server_error (errors); invalid_sort_field, invalid_selection_field (warnings).",
                            },
                        },
                        "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
                    },
                }
            },
            "required": ["imsx_codeMinorField"],
        },
    },
    "required": ["imsx_codeMajor", "imsx_severity", "imsx_description", "imsx_CodeMinor"],
}

GUID_REF = {
    "type": "object",
    "description": "A reference to another object: its absolute URL, sourcedId and type.",
    "properties": {
        "href": {"type": "string", "format": "uri"},
        "sourcedId": STRING,
        "type": STRING,
    },
    "required": ["href", "sourcedId", "type"],
}


def all_component_schemas() -> dict[str, dict]:
    """Name → schema of every component the operations refer to."""
    schemas = {"GUIDRef": GUID_REF, "StatusInfo": STATUS_INFO}
    schemas.update({name: object_schema(kind) for kind, name in OBJECT_NAMES.items()})
    for kind, singular in SINGULAR.items():
        schemas[wrapper_name(singular, single=True)] = wrapper_schema(singular, kind, single=True)
    for kind, _subtype, wrapper in COLLECTIONS.values():
        schemas[wrapper_name(wrapper, single=False)] = wrapper_schema(wrapper, kind, single=False)
    return schemas
