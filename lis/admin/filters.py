"""Small list filters of the LIS admin pages; each one's choices come from the user's scoped rows."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

from myschool.models import GradeLevel, School
from myschool.scoping import SCHOOL_PATHS, school_lookup, sees_all_schools

from ..selection.selectors import selection_grade_codes, selections_in_grade


def chosen_school_id(request) -> int | None:
    """The school picked in :class:`SchoolFilter` (the ``school`` query parameter), or None."""
    try:
        return int(request.GET["school"])
    except (KeyError, ValueError):
        return None


class SchoolFilter(admin.SimpleListFilter):
    """By school, for support staff only (a school administrator has one school; the filter is hidden)."""

    title = "school"
    parameter_name = "school"

    def lookups(self, request, model_admin):
        if not sees_all_schools(request.user):
            return []
        school_ids = model_admin.get_queryset(request).order_by().values(SCHOOL_PATHS[model_admin.model])
        return [(str(school.pk), str(school)) for school in School.objects.filter(pk__in=school_ids)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            return queryset.filter(**school_lookup(queryset.model, int(self.value())))
        except ValueError:
            raise IncorrectLookupParameters(f"Unknown school {self.value()!r}") from None


class SyncedFilter(admin.SimpleListFilter):
    """Whether the row's *sync* flag is on."""

    title = "sync"
    parameter_name = "synced"

    def lookups(self, request, model_admin):
        return [("yes", "Synced"), ("no", "Not synced")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(sync=self.value() == "yes")
        return queryset


class GradeFilter(admin.SimpleListFilter):
    """By CEDS grade level; offers only the grades present on the rows the user may see."""

    title = "grade"
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        labels = dict(GradeLevel.choices)
        return [(code, labels.get(code, code)) for code in selection_grade_codes(model_admin.get_queryset(request))]

    def queryset(self, request, queryset):
        return selections_in_grade(queryset, self.value()) if self.value() else queryset


class WithoutTeacherFilter(admin.SimpleListFilter):
    """Rows whose course or class has no teacher (needs the ``teacher_count`` annotation)."""

    title = "teacher"
    parameter_name = "without_teacher"

    def lookups(self, request, model_admin):
        return [("yes", "Without teacher"), ("no", "With a teacher")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(teacher_count=0)
        if self.value() == "no":
            return queryset.filter(teacher_count__gt=0)
        return queryset
