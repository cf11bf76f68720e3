"""Read paths of the sync selection, shared by the LIS admin pages and the publication."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.db.models import Count, F, Model, Q, QuerySet

from myschool.models import GradeLevel, split_list
from myschool.selectors import course_member_counts, school_class_member_counts

from ..models import ClassSelection, CourseSelection, SchoolSyncSettings

# Selection model → its one-to-one field to the group it selects.
GROUP_FIELDS: dict[type[Model], str] = {CourseSelection: "course", ClassSelection: "school_class"}


def active_year_selections(model: type[Model], queryset: QuerySet | None = None) -> QuerySet:
    """``model`` (CourseSelection or ClassSelection) rows whose group is in its school's active year.

    Rows of other years are kept (their flag survives) but never listed. A school without an
    active year has no such rows. Raises ``KeyError`` for another model.
    """
    field = GROUP_FIELDS[model]
    queryset = model.objects.all() if queryset is None else queryset
    return queryset.filter(**{f"{field}__year": F(f"{field}__school__active_year")})


def course_selections_with_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Active-year CourseSelections annotated with the course's ``student_count`` and ``teacher_count`` (ints).

    The counts are correlated subqueries through ``course_id``, so they never multiply.
    """
    return active_year_selections(CourseSelection, queryset).annotate(**course_member_counts("course_id"))


def class_selections_with_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Active-year ClassSelections annotated with the class's ``student_count`` and ``teacher_count`` (ints)."""
    return active_year_selections(ClassSelection, queryset).annotate(**school_class_member_counts("school_class_id"))


def selection_counts(*, model: type[Model], school_ids: Collection[int] | None) -> dict[int, tuple[int, int]]:
    """``{school_id: (selected, total)}`` over the active-year ``model`` rows of the given schools (one query).

    ``school_ids`` None means every school. Schools without rows are missing from the result.
    """
    field = GROUP_FIELDS[model]
    rows = active_year_selections(model)
    if school_ids is not None:
        rows = rows.filter(**{f"{field}__school__in": school_ids})
    rows = (
        rows.order_by()
        .values(f"{field}__school")
        .annotate(total=Count("pk"), selected=Count("pk", filter=Q(sync=True)))
        .values_list(f"{field}__school", "selected", "total")
    )
    return {school_id: (selected, total) for school_id, selected, total in rows}


def selection_grade_codes(queryset: QuerySet) -> list[str]:
    """The CEDS grade codes present on the groups of ``queryset`` (selections), in CEDS order (one query)."""
    model = queryset.model
    column = "course__grade_levels" if model is CourseSelection else "school_class__grade_level"
    present: set[str] = set()
    for value in queryset.order_by().values_list(column, flat=True).distinct():
        present.update(split_list(value or ""))
    order = {code: index for index, code in enumerate(GradeLevel.values)}
    return sorted(present, key=lambda code: (order.get(code, len(order)), code))


def selections_in_grade(queryset: QuerySet, code: str) -> QuerySet:
    """The selections of ``queryset`` whose course lists (or whose class has) the CEDS grade ``code``."""
    if queryset.model is CourseSelection:
        return queryset.filter(course__grade_levels__regex=rf"(^|,)\s*{re.escape(code)}\s*(,|$)")
    return queryset.filter(school_class__grade_level=code)


def school_sync_settings(school) -> SchoolSyncSettings:
    """``school``'s sync settings, or unsaved defaults (not synced) when it has none yet.

    Reads ``school.sync_settings``: select it with the school (``select_related("sync_settings")``)
    to avoid a query per school. The one way to read them; writes go through
    :func:`~lis.selection.services.school_sync_settings_update`.
    """
    try:
        return school.sync_settings
    except SchoolSyncSettings.DoesNotExist:
        return SchoolSyncSettings(school=school)
