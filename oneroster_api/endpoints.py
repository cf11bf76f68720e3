"""Every OneRoster 1.1 rostering endpoint as one declaration (oneroster-1.1.md §2).

An :class:`Endpoint` names its route (relative to ``/ims/oneroster/v1p1/``), the kind and subtype it
serves, its wrapper key, and — for a sub-collection — the selector that joins it to its parent.
The views read nothing else; :mod:`oneroster_api.urls` turns this table into URL patterns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.db.models import Q

from lis.models import Kind

from . import selectors as s

ACADEMIC_SESSION, CLASS, COURSE, DEMOGRAPHICS, ENROLLMENT, ORG, USER = (
    Kind.ACADEMIC_SESSION,
    Kind.CLASS,
    Kind.COURSE,
    Kind.DEMOGRAPHICS,
    Kind.ENROLLMENT,
    Kind.ORG,
    Kind.USER,
)

# The singular wrapper of a single-object GET, by kind.
SINGULAR = {
    ACADEMIC_SESSION: "academicSession",
    CLASS: "class",
    COURSE: "course",
    DEMOGRAPHICS: "demographics",
    ENROLLMENT: "enrollment",
    ORG: "org",
    USER: "user",
}


@dataclass(frozen=True)
class Endpoint:
    """One route. ``join(tenant, **url_kwargs) → Q`` limits a sub-collection to its parent."""

    route: str
    kind: str
    wrapper: str
    subtype: str | None = None
    join: Callable[..., Q] | None = field(default=None, compare=False)
    single: bool = False

    @property
    def name(self) -> str:
        """The URL name: ``oneroster:`` + route with parameters dropped (``schools-classes``)."""
        parts = [part for part in self.route.split("/") if not part.startswith("<")]
        return "-".join(parts) + ("-detail" if self.single else "")

    @property
    def store_only(self) -> bool:
        """Whether the collection's SQL reads only the publication store, so its count and page
        boundaries may be kept per store version (:mod:`oneroster_api.paging`)."""
        join = getattr(self.join, "func", self.join)  # a functools.partial's function
        return join is None or join in s.STORE_ONLY_JOINS


# Top-level collections: route → (kind, subtype, wrapper).
COLLECTIONS = {
    "academicSessions": (ACADEMIC_SESSION, None, "academicSessions"),
    "classes": (CLASS, None, "classes"),
    "courses": (COURSE, None, "courses"),
    "demographics": (DEMOGRAPHICS, None, "demographics"),
    "enrollments": (ENROLLMENT, None, "enrollments"),
    "gradingPeriods": (ACADEMIC_SESSION, "gradingPeriod", "academicSessions"),
    "orgs": (ORG, None, "orgs"),
    "schools": (ORG, "school", "orgs"),
    "students": (USER, "student", "users"),
    "teachers": (USER, "teacher", "users"),
    "terms": (ACADEMIC_SESSION, "term", "academicSessions"),
    "users": (USER, None, "users"),
}

SUB_COLLECTIONS = [
    Endpoint("schools/<str:school_id>/courses", COURSE, "courses", join=s.owned_by_school_ref),
    Endpoint("schools/<str:school_id>/classes", CLASS, "classes", join=s.owned_by_school_ref),
    Endpoint("schools/<str:school_id>/enrollments", ENROLLMENT, "enrollments", join=s.owned_by_school_ref),
    Endpoint("schools/<str:school_id>/students", USER, "users", "student", join=s.users_of_school),
    Endpoint("schools/<str:school_id>/teachers", USER, "users", "teacher", join=s.users_of_school),
    Endpoint("schools/<str:school_id>/terms", ACADEMIC_SESSION, "academicSessions", "term", join=s.terms_of_school),
    Endpoint(
        "schools/<str:school_id>/classes/<str:class_id>/enrollments",
        ENROLLMENT,
        "enrollments",
        join=s.enrollments_of_school_class,
    ),
    Endpoint(
        "schools/<str:school_id>/classes/<str:class_id>/students",
        USER,
        "users",
        "student",
        join=partial(s.users_of_school_class, role="student"),
    ),
    Endpoint(
        "schools/<str:school_id>/classes/<str:class_id>/teachers",
        USER,
        "users",
        "teacher",
        join=partial(s.users_of_school_class, role="teacher"),
    ),
    Endpoint("terms/<str:term_id>/classes", CLASS, "classes", join=s.classes_of_term),
    Endpoint(
        "terms/<str:term_id>/gradingPeriods",
        ACADEMIC_SESSION,
        "academicSessions",
        "gradingPeriod",
        join=s.grading_periods_of_term,
    ),
    Endpoint("courses/<str:course_id>/classes", CLASS, "classes", join=s.classes_of_course),
    Endpoint("students/<str:user_id>/classes", CLASS, "classes", join=partial(s.classes_of_user, role="student")),
    Endpoint("teachers/<str:user_id>/classes", CLASS, "classes", join=partial(s.classes_of_user, role="teacher")),
    Endpoint("users/<str:user_id>/classes", CLASS, "classes", join=s.classes_of_user),
    Endpoint(
        "classes/<str:class_id>/students", USER, "users", "student", join=partial(s.users_of_class, role="student")
    ),
    Endpoint(
        "classes/<str:class_id>/teachers", USER, "users", "teacher", join=partial(s.users_of_class, role="teacher")
    ),
]

ENDPOINTS: list[Endpoint] = [
    *(Endpoint(route, kind, wrapper, subtype) for route, (kind, subtype, wrapper) in COLLECTIONS.items()),
    *(
        Endpoint(f"{route}/<str:sourced_id>", kind, SINGULAR[kind], subtype, single=True)
        for route, (kind, subtype, _wrapper) in COLLECTIONS.items()
    ),
    *SUB_COLLECTIONS,
]
