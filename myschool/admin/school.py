"""Admin of the school domain's own models (schools, years, groups, people, memberships)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q

from .. import models as m
from ..scoping import scope_to_user, sees_all_schools
from ..selectors import also_at, courses_with_member_counts, school_classes_with_member_counts
from ..signals import school_data_changed_notify
from .base import SCHOOL_FILTER, MemberCountColumns, SchoolGroupsChangedOnSave, SchoolScopedAdmin, SchoolScopedMixin


class MainTeacherInlineMixin:
    extra = 0
    autocomplete_fields = ["teacher"]
    fields = ["teacher", "is_main_teacher", "sourced_id"]
    readonly_fields = ["sourced_id"]


class StudentInlineMixin:
    extra = 0
    autocomplete_fields = ["student"]
    fields = ["student", "begin_date", "end_date", "sourced_id"]
    readonly_fields = ["sourced_id"]


class CourseTeacherInline(SchoolScopedMixin, MainTeacherInlineMixin, admin.TabularInline):
    model = m.CourseTeacher
    list_select_related = ["teacher"]


class CourseStudentInline(SchoolScopedMixin, StudentInlineMixin, admin.TabularInline):
    model = m.CourseStudent


class ClassTeacherInline(SchoolScopedMixin, MainTeacherInlineMixin, admin.TabularInline):
    model = m.ClassTeacher


class ClassStudentInline(SchoolScopedMixin, StudentInlineMixin, admin.TabularInline):
    model = m.ClassStudent


class TermInline(SchoolScopedMixin, admin.TabularInline):
    model = m.Term
    extra = 0
    fields = ["name", "start_date", "end_date", "sourced_id"]
    readonly_fields = ["sourced_id"]


@admin.register(m.SchoolGroup)
class SchoolGroupAdmin(SchoolScopedAdmin):
    list_display = ["name", "code", "sourced_id"]
    search_fields = ["name", "code", "sourced_id"]
    readonly_fields = ["sourced_id"]


@admin.register(m.School)
class SchoolAdmin(SchoolGroupsChangedOnSave, SchoolScopedAdmin):
    list_display = ["name", "code", "group", "active_year", "sourced_id"]
    list_filter = [("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["group", "active_year"]
    search_fields = ["name", "code", "sourced_id"]
    readonly_fields = ["sourced_id"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "active_year":
            school_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = scope_to_user(m.AcademicYear.objects.filter(school_id=school_id), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # Only support staff may rename a school, change its code or move it between groups.
        if sees_all_schools(request.user):
            return self.readonly_fields
        return [*self.readonly_fields, "name", "code", "group"]


@admin.register(m.AcademicYear)
class AcademicYearAdmin(SchoolScopedAdmin):
    list_display = ["name", "school", "start_date", "end_date", "sourced_id"]
    list_filter = [SCHOOL_FILTER]
    list_select_related = ["school"]
    search_fields = ["name", "sourced_id"]
    readonly_fields = ["sourced_id"]
    inlines = [TermInline]


@admin.register(m.Term)
class TermAdmin(SchoolScopedAdmin):
    list_display = ["name", "year", "start_date", "end_date", "sourced_id"]
    list_filter = [("year__school", admin.RelatedOnlyFieldListFilter), ("year", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["year", "year__school"]
    search_fields = ["name", "sourced_id"]
    readonly_fields = ["sourced_id"]


@admin.register(m.Subject)
class SubjectAdmin(SchoolScopedAdmin):
    list_display = ["name", "code", "subject_area", "school", "sourced_id"]
    list_filter = [SCHOOL_FILTER, "subject_area"]
    list_select_related = ["school"]
    search_fields = ["name", "code", "subject_area", "sourced_id"]
    readonly_fields = ["sourced_id"]


@admin.register(m.Course)
class CourseAdmin(SchoolGroupsChangedOnSave, MemberCountColumns, SchoolScopedAdmin):
    list_display = ["name", "code", "subject", "year", "grade_levels", "teacher_count", "student_count", "school"]
    list_filter = [SCHOOL_FILTER, ("year", admin.RelatedOnlyFieldListFilter), ("subject", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["subject", "year", "school"]
    search_fields = ["name", "code", "subject__name", "sourced_id"]
    readonly_fields = ["sourced_id"]
    filter_horizontal = ["terms"]
    inlines = [CourseTeacherInline, CourseStudentInline]

    def get_queryset(self, request):
        return courses_with_member_counts(super().get_queryset(request))


@admin.register(m.SchoolClass)
class SchoolClassAdmin(SchoolGroupsChangedOnSave, MemberCountColumns, SchoolScopedAdmin):
    list_display = ["name", "code", "year", "grade_level", "teacher_count", "student_count", "school"]
    list_filter = [SCHOOL_FILTER, ("year", admin.RelatedOnlyFieldListFilter), "grade_level"]
    list_select_related = ["year", "school"]
    search_fields = ["name", "code", "sourced_id"]
    readonly_fields = ["sourced_id"]
    inlines = [ClassTeacherInline, ClassStudentInline]

    def get_queryset(self, request):
        return school_classes_with_member_counts(super().get_queryset(request))


class PersonLinkAdmin(SchoolScopedAdmin):
    """Students and teachers, with the link that makes records of several schools one person (issue 14).

    Support sets ``same_person_as`` (the main record, at another school of the same Microsoft tenant;
    the model's ``clean`` refuses anything else); a school administrator sees it read-only, as
    "also at <school>", in the list and on the record.
    """

    readonly_fields = ["sourced_id", "also_at"]
    raw_id_fields = ["same_person_as"]

    def get_exclude(self, request, obj=None):
        # A school administrator sees the link only as "also at …": another school's record is not theirs.
        exclude = list(super().get_exclude(request, obj) or [])
        return exclude if sees_all_schools(request.user) else [*exclude, "same_person_as"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "same_person_as":  # a record of another school: support only (see get_exclude)
            kwargs["queryset"] = self.model._default_manager.all()
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        other = self.model._default_manager.filter(
            Q(pk=OuterRef("same_person_as_id")) | Q(same_person_as_id=OuterRef("same_person_as_id"))
            | Q(same_person_as_id=OuterRef("pk"))
        ).exclude(pk=OuterRef("pk"))
        return super().get_queryset(request).annotate(linked=Exists(other))

    @admin.display(description="also at")
    def also_at(self, obj) -> str:
        """The other schools where this person has a linked record ("also at Birch School"), or "—"."""
        if obj is None or obj.pk is None or not getattr(obj, "linked", True):
            return "—"
        schools = also_at(obj)
        return f"also at {', '.join(school.name for school in schools)}" if schools else "—"


@admin.register(m.Student)
class StudentAdmin(PersonLinkAdmin):
    list_display = [
        "student_number", "family_name", "given_name", "username", "primary_email", "grade_level", "status", "school", "also_at",
    ]
    list_filter = [SCHOOL_FILTER, "status", "grade_level", "sex"]
    list_select_related = ["school"]
    search_fields = ["student_number", "given_name", "family_name", "username", "primary_email", "sourced_id"]


@admin.register(m.Teacher)
class TeacherAdmin(PersonLinkAdmin):
    list_display = ["staff_number", "family_name", "given_name", "username", "primary_email", "status", "school", "also_at"]
    list_filter = [SCHOOL_FILTER, "status"]
    list_select_related = ["school"]
    search_fields = ["staff_number", "given_name", "family_name", "username", "primary_email", "sourced_id"]


class MembershipAdmin(SchoolScopedAdmin):
    readonly_fields = ["sourced_id"]
    search_fields = ["sourced_id"]

    # Deleting sends no per-row signal the LIS follows (the demo deletes memberships by the
    # hundred thousand): say which rows go, before they go (myschool.signals.school_data_changed).
    def delete_model(self, request, obj):
        school_data_changed_notify(sender=type(obj), school_ids=[obj.person.school_id], pks=[obj.pk])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        rows = list(queryset.values_list("pk", f"{queryset.model.person_field}__school_id"))
        school_data_changed_notify(sender=queryset.model, school_ids={s for _, s in rows}, pks=[pk for pk, _ in rows])
        super().delete_queryset(request, queryset)


@admin.register(m.CourseStudent)
class CourseStudentAdmin(MembershipAdmin):
    list_display = ["student", "course", "begin_date", "end_date", "sourced_id"]
    list_filter = [("course__school", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["student", "course"]
    search_fields = ["sourced_id", "student__family_name", "student__student_number", "course__name"]
    autocomplete_fields = ["student", "course"]


@admin.register(m.ClassStudent)
class ClassStudentAdmin(MembershipAdmin):
    list_display = ["student", "school_class", "begin_date", "end_date", "sourced_id"]
    list_filter = [("school_class__school", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["student", "school_class"]
    search_fields = ["sourced_id", "student__family_name", "student__student_number", "school_class__name"]
    autocomplete_fields = ["student", "school_class"]


@admin.register(m.CourseTeacher)
class CourseTeacherAdmin(MembershipAdmin):
    list_display = ["teacher", "course", "is_main_teacher", "sourced_id"]
    list_filter = [("course__school", admin.RelatedOnlyFieldListFilter), "is_main_teacher"]
    list_select_related = ["teacher", "course"]
    search_fields = ["sourced_id", "teacher__family_name", "teacher__staff_number", "course__name"]
    autocomplete_fields = ["teacher", "course"]


@admin.register(m.ClassTeacher)
class ClassTeacherAdmin(MembershipAdmin):
    list_display = ["teacher", "school_class", "is_main_teacher", "sourced_id"]
    list_filter = [("school_class__school", admin.RelatedOnlyFieldListFilter), "is_main_teacher"]
    list_select_related = ["teacher", "school_class"]
    search_fields = ["sourced_id", "teacher__family_name", "teacher__staff_number", "school_class__name"]
    autocomplete_fields = ["teacher", "school_class"]


@admin.register(m.SchoolStaff)
class SchoolStaffAdmin(SchoolScopedAdmin):
    list_display = ["user", "school"]
    list_filter = [SCHOOL_FILTER]
    list_select_related = ["user", "school"]
    search_fields = ["user__username", "user__email", "school__name"]
    autocomplete_fields = ["user"]
