"""Read paths of the school domain, shared by the admin, the LIS pages and the publication."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from . import models as m


def _member_count(model, group_field: str, outer_field: str = "pk") -> Coalesce:
    """A correlated subquery counting ``model`` rows whose ``group_field`` is the outer row's ``outer_field``.

    Subqueries, unlike two joined ``Count``s, never multiply each other's rows.
    """
    counts = (
        model.objects.filter(**{group_field: OuterRef(outer_field)})
        .order_by()
        .values(group_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def course_member_counts(outer_field: str = "pk") -> dict[str, Coalesce]:
    """``student_count`` and ``teacher_count`` annotations for rows whose ``outer_field`` holds a Course id.

    Pass ``"course_id"`` to count through a relation, e.g. ``CourseSelection.objects.annotate(**...)``.
    """
    return {
        "student_count": _member_count(m.CourseStudent, "course", outer_field),
        "teacher_count": _member_count(m.CourseTeacher, "course", outer_field),
    }


def school_class_member_counts(outer_field: str = "pk") -> dict[str, Coalesce]:
    """``student_count`` and ``teacher_count`` annotations for rows whose ``outer_field`` holds a SchoolClass id."""
    return {
        "student_count": _member_count(m.ClassStudent, "school_class", outer_field),
        "teacher_count": _member_count(m.ClassTeacher, "school_class", outer_field),
    }


def courses_with_member_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Courses annotated with ``student_count`` and ``teacher_count`` (ints)."""
    queryset = m.Course.objects.all() if queryset is None else queryset
    return queryset.annotate(**course_member_counts())


def school_classes_with_member_counts(queryset: QuerySet | None = None) -> QuerySet:
    """Homeroom classes annotated with ``student_count`` and ``teacher_count`` (ints)."""
    queryset = m.SchoolClass.objects.all() if queryset is None else queryset
    return queryset.annotate(**school_class_member_counts())


def also_at(person) -> list:
    """The other schools (by name) where ``person`` (a Student or Teacher) has a record linked as the same
    person (``same_person_as``, issue 14): its main record and the main record's other links."""
    model = type(person)
    main_pk = person.same_person_as_id or person.pk
    records = model.objects.filter(Q(pk=main_pk) | Q(same_person_as_id=main_pk)).exclude(pk=person.pk)
    return list(m.School.objects.filter(pk__in=records.values("school_id")).order_by("name"))
