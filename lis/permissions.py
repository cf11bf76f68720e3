"""Which Django permissions the LIS features stand for, and who may flip a school's sync switch.

Support staff hold these permissions through the "Support" group (granted by migration
``lis.0002``); a school administrator holds them only through a :class:`~lis.models.FeatureGrant`
for their school (see :class:`lis.backends.FeatureGrantBackend`). Views and admin classes test
these permissions, never group names.
"""

from __future__ import annotations

from myschool.scoping import user_may_access_school

from .models import Feature

MANAGE_LIS_COURSES = "lis.manage_lis_courses"
MANAGE_LIS_CLASSES = "lis.manage_lis_classes"

# What one granted feature lets a school administrator do, for their own school's rows only.
# Either feature also shows the school's Microsoft integration (status and sync health) and its
# publication runs, read-only.
FEATURE_PERMISSIONS: dict[str, frozenset[str]] = {
    Feature.LIS_COURSES: frozenset(
        {
            MANAGE_LIS_COURSES,
            "lis.view_courseselection",
            "lis.change_courseselection",
            "lis.view_selectionchange",
            "lis.view_integration",
            "lis.view_publicationrun",
        }
    ),
    Feature.LIS_CLASSES: frozenset(
        {
            MANAGE_LIS_CLASSES,
            "lis.view_classselection",
            "lis.change_classselection",
            "lis.view_selectionchange",
            "lis.view_integration",
            "lis.view_publicationrun",
        }
    ),
}


def user_may_set_school_sync(user, school_id: int | None) -> bool:
    """True when ``user`` may switch *should sync school* for school ``school_id``.

    That is anyone who may manage LIS Courses or LIS Classes and may access the school.
    """
    if school_id is None or not user.is_active:
        return False
    may_manage = user.has_perm(MANAGE_LIS_COURSES) or user.has_perm(MANAGE_LIS_CLASSES)
    return may_manage and user_may_access_school(user, school_id)
