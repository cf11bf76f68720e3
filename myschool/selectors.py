"""Read paths of the school domain, shared by the admin, the LIS pages and the publication."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from . import models as m


def _member_count(model, group_field: str) -> Coalesce:
    """A correlated subquery counting ``model`` rows whose ``group_field`` is the outer row.

    Subqueries, unlike two joined ``Count``s, never multiply each other's rows.
    """
    counts = (
        model.objects.filter(**{group_field: OuterRef("pk")})
        .order_by()
        .values(group_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def courses_with_member_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Courses annotated with ``student_count`` and ``teacher_count`` (ints)."""
    queryset = m.Course.objects.all() if queryset is None else queryset
    return queryset.annotate(
        student_count=_member_count(m.CourseStudent, "course"),
        teacher_count=_member_count(m.CourseTeacher, "course"),
    )


def school_classes_with_member_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Homeroom classes annotated with ``student_count`` and ``teacher_count`` (ints)."""
    queryset = m.SchoolClass.objects.all() if queryset is None else queryset
    return queryset.annotate(
        student_count=_member_count(m.ClassStudent, "school_class"),
        teacher_count=_member_count(m.ClassTeacher, "school_class"),
    )
