"""The one place that decides which schools' rows a Django user may see and change.

Support staff hold the ``myschool.access_all_schools`` permission (through the "Support"
group; superusers have every permission) and see everything. A school administrator is a
user attached to one school by :class:`~myschool.models.SchoolStaff` and sees that school's
rows only. Anybody else sees nothing.

Every scoped model names its path to :class:`~myschool.models.School` in ``SCHOOL_PATHS``.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from . import models as m

ALL_SCHOOLS_PERMISSION = "myschool.access_all_schools"

# Model → lookup path from that model to its School ("" for School itself).
SCHOOL_PATHS: dict[type[Model], str] = {
    m.School: "",
    m.SchoolGroup: "schools",
    m.AcademicYear: "school",
    m.Term: "year__school",
    m.Subject: "school",
    m.Course: "school",
    m.SchoolClass: "school",
    m.Student: "school",
    m.Teacher: "school",
    m.CourseStudent: "course__school",
    m.ClassStudent: "school_class__school",
    m.CourseTeacher: "course__school",
    m.ClassTeacher: "school_class__school",
    m.SchoolStaff: "school",
    m.PrimaryEmail: "school",
    m.EmailChangeBatch: "school",
    m.EmailChange: "batch__school",
}


def register_school_path(model: type[Model], path: str) -> None:
    """Let another app (``lis``) declare how its school-owned model reaches School."""
    SCHOOL_PATHS[model] = path


def sees_all_schools(user) -> bool:
    """True for active users holding ``myschool.access_all_schools`` (support staff, superusers)."""
    return bool(user.is_active and user.has_perm(ALL_SCHOOLS_PERMISSION))


def staff_school_id(user) -> int | None:
    """The id of the one school ``user`` administers, or None. Cached on the user object."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_staff_school_id"):
        user._staff_school_id = (
            m.SchoolStaff.objects.filter(user_id=user.pk).values_list("school_id", flat=True).first()
        )
    return user._staff_school_id


def school_lookup(model: type[Model], school_id: int) -> dict[str, int]:
    """The ``filter()`` keyword arguments that select ``model`` rows of school ``school_id``.

    Raises ``KeyError`` for a model that was never given a school path.
    """
    path = SCHOOL_PATHS[model]
    return {f"{path}__pk" if path else "pk": school_id}


def scope_to_user(queryset: QuerySet, user) -> QuerySet:
    """Restrict ``queryset`` to the rows ``user`` may see (see the module docstring)."""
    if sees_all_schools(user):
        return queryset
    school_id = staff_school_id(user)
    if school_id is None or not user.is_active:
        return queryset.none()
    filtered = queryset.filter(**school_lookup(queryset.model, school_id))
    # A reverse path (SchoolGroup → schools) may join several rows per object.
    return filtered.distinct() if "schools" in SCHOOL_PATHS[queryset.model] else filtered


def user_may_access_school(user, school_id: int | None) -> bool:
    """True when ``user`` may see and change rows of the school ``school_id``."""
    return sees_all_schools(user) or (school_id is not None and staff_school_id(user) == school_id)
