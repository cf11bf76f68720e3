"""LIS Courses and LIS Classes: which of a school's active-year groups go to Microsoft.

The pages are the changelists of the selection models themselves, so *sync* is an ordinary
``list_editable`` column. Rows are created where groups are created or the active year changes
(:mod:`lis.selection.receivers`), never by listing them: a GET writes nothing. Who reaches a page is decided by Django
permissions (support's group, a school administrator's feature grants); which rows they see by
:mod:`myschool.scoping`. Every write goes through :mod:`lis.selection.services`, which records
the change.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from myschool.admin import MemberCountColumns, SchoolScopedAdmin
from myschool.admin.base import may_view_on_site
from myschool.models import School
from myschool.scoping import scope_to_user, sees_all_schools, staff_school_id

from ..models import ClassSelection, CourseSelection, SelectionChange
from ..permissions import user_may_set_school_sync
from ..publication.selectors import last_publication
from ..readiness import school_readiness
from ..selection.selectors import (
    class_selections_with_counts,
    course_selections_with_counts,
    school_sync_settings,
    selection_counts,
)
from ..selection.services import school_sync_settings_update, selections_set_sync
from .confirm import confirmation_page, confirmed
from .filters import GradeFilter, SchoolFilter, SyncedFilter, WithoutTeacherFilter, chosen_school_id
from .ordering import NaturalOrderChangeList, natural_sorted
from .readiness import readiness_summary

ADVANCED_OPTIONS_CHANGE_LIST = "admin/lis/advanced_options/change_list.html"
ADVANCED_OPTIONS_CHANGE_FORM = "admin/lis/advanced_options/change_form.html"


class SelectionAdmin(MemberCountColumns, SchoolScopedAdmin):
    """Shared behaviour of the LIS Courses and LIS Classes pages.

    Subclasses name ``group_field``, the selection's one-to-one field to its course or class.
    Rows are never added or deleted here: they follow the school's active-year groups.
    """

    group_field: str
    change_list_template = ADVANCED_OPTIONS_CHANGE_LIST
    change_form_template = ADVANCED_OPTIONS_CHANGE_FORM
    list_editable = ["sync"]
    list_per_page = 200
    actions = ["select_for_sync", "remove_from_sync"]
    natural_column: str  # the list_display entry of the group's name, sorted naturally ("7A" before "10A")

    @property
    def natural_fields(self) -> tuple[str, str]:
        return f"{self.group_field}__school__name", f"{self.group_field}__name"

    def get_changelist(self, request, **kwargs):
        return NaturalOrderChangeList

    def with_counts(self, queryset):
        """Restrict ``queryset`` to the active year and annotate ``teacher_count``/``student_count``."""
        raise NotImplementedError

    def get_queryset(self, request):
        return self.with_counts(super().get_queryset(request)).select_related(f"{self.group_field}__school")

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if sees_all_schools(request.user):
            columns.insert(columns.index("sync"), "school")
        return columns

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.get_fields(request, obj) if field != "sync"]

    @admin.display(description="school")
    def school(self, obj) -> str:
        return getattr(obj, self.group_field).school.name

    # --- writes: every path calls selections_set_sync, which records the change ---

    def save_model(self, request, obj, form, change):
        # The scoped queryset again: a row the user may not change is never written.
        selections_set_sync(selections=self.get_queryset(request).filter(pk=obj.pk), sync=obj.sync, user=request.user)

    @admin.action(description="Select for sync", permissions=["change"])
    def select_for_sync(self, request, queryset):
        self._set_sync(request, queryset, sync=True)

    @admin.action(description="Remove from sync", permissions=["change"])
    def remove_from_sync(self, request, queryset):
        if confirmed(request):
            self._set_sync(request, queryset, sync=False)
            return None
        synced = natural_sorted(queryset.filter(sync=True), lambda obj: getattr(obj, self.group_field).name)
        if not synced:
            self._set_sync(request, queryset, sync=False)  # nothing leaves Microsoft: the message says so
            return None
        noun = self.opts.verbose_name if len(synced) == 1 else self.opts.verbose_name_plural
        students = sum(obj.student_count for obj in synced)
        teachers = sum(obj.teacher_count for obj in synced)
        return confirmation_page(
            request,
            self,
            title=f"Remove {len(synced)} {noun} from sync?",
            consequences=[
                f"Tonight's publication removes {len(synced)} {noun} from Microsoft: their Teams lose "
                f"{students} student and {teachers} teacher enrolments.",
                "Students and teachers stay in Microsoft while another synced course or class has them.",
            ],
            items=[self.row_label(obj) for obj in synced],
            action="remove_from_sync",
            selected=[obj.pk for obj in queryset],
            button="Yes, remove from sync",
        )

    def row_label(self, obj) -> str:
        """``Art 10A (24 students)``: a selected row in MySchool words."""
        return f"{getattr(obj, self.group_field).name} ({obj.student_count} students)"

    def _set_sync(self, request, queryset, *, sync: bool) -> None:
        changed = selections_set_sync(selections=queryset, sync=sync, user=request.user)
        plural = self.model._meta.verbose_name_plural if changed != 1 else self.model._meta.verbose_name
        verb = "selected for sync" if sync else "removed from sync"
        unchanged = queryset.count() - changed
        note = f" ({unchanged} already {'were' if unchanged != 1 else 'was'})" if unchanged else ""
        self.message_user(request, f"{changed} {plural} {verb}{note}.", messages.SUCCESS)

    # --- the page: the school switch and "N of M selected" above the list ---

    def changelist_view(self, request, extra_context=None):
        if self.has_view_or_change_permission(request):
            extra_context = {**(extra_context or {}), **self.switch_context(request)}
        return super().changelist_view(request, extra_context)

    def shown_school_ids(self, request) -> list[int]:
        """The schools whose switch the page shows: the administrator's own, or the one support filtered."""
        if not sees_all_schools(request.user):
            return [school_id] if (school_id := staff_school_id(request.user)) else []
        return [school_id] if (school_id := chosen_school_id(request)) else []

    def switch_context(self, request) -> dict:
        """Template context for the *should sync school* forms and the counts above the list.

        A fixed number of queries (schools with their settings, one count per model) whatever the rows.
        """
        school_ids = self.shown_school_ids(request)
        schools = scope_to_user(School.objects.filter(pk__in=school_ids), request.user).select_related("sync_settings")
        counts = selection_counts(model=self.model, school_ids=school_ids)
        published = last_publication(school_ids)
        info = self.opts.app_label, self.opts.model_name
        rows = []
        for school in schools:
            settings = school_sync_settings(school)
            selected, total = counts.get(school.pk, (0, 0))
            rows.append(
                {
                    "school": school,
                    "should_sync": settings.should_sync,
                    "selected": selected,
                    "total": total,
                    "action": reverse("admin:%s_%s_school_sync" % info, args=[school.pk]),
                    "may_change": user_may_set_school_sync(request.user, school.pk),
                    "published": published[school.pk],
                    "preview_url": reverse("admin:lis_publicationrun_preview", args=[school.pk]),
                    "readiness": readiness_summary(school_readiness(school)),
                }
            )
        history_url = None
        if may_view_on_site(self.admin_site, SelectionChange, request):
            history_url = reverse("admin:lis_selectionchange_changelist")
            history_url += f"?school={school_ids[0]}" if sees_all_schools(request.user) and school_ids else ""
        all_counts = None
        if sees_all_schools(request.user) and not school_ids:
            per_school = selection_counts(model=self.model, school_ids=None).values()
            all_counts = (sum(selected for selected, _ in per_school), sum(total for _, total in per_school))
        return {
            "title": self.model._meta.verbose_name_plural,
            "lis_switch_rows": rows,
            "lis_all_counts": all_counts,
            "lis_changelist_filters": request.GET.urlencode(),
            "lis_history_url": history_url,
        }

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.school_sync_view)
        return [
            path("school-sync/<int:school_id>/", view, name="%s_%s_school_sync" % info),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def school_sync_view(self, request, school_id: int):
        """POST ``should_sync=on`` (or nothing, for off) to set a school's *should sync school* switch."""
        if not user_may_set_school_sync(request.user, school_id):
            raise PermissionDenied
        school = get_object_or_404(School, pk=school_id)
        should_sync = request.POST.get("should_sync") == "on"
        settings = school_sync_settings(school)
        url = reverse("admin:%s_%s_changelist" % (self.opts.app_label, self.opts.model_name))
        filters = QueryDict(request.POST.get("_changelist_filters", "")).urlencode()
        if filters:
            url = f"{url}?{filters}"  # back to the same school and filters, whether cancelled or done
        if not should_sync and settings.should_sync and not confirmed(request):
            published = last_publication([school.pk])[school.pk]
            return confirmation_page(
                request,
                self,
                title=f"Switch {school.name} off?",
                consequences=[
                    f"Tonight's publication removes everything {school.name} has in Microsoft: "
                    f"{published['classes']} classes and {published['users']} users (students and teachers).",
                    "Their Teams lose these classes and members. Ticks on LIS Courses and LIS Classes are kept "
                    "for when the school is switched on again.",
                ],
                hidden={"should_sync": "", "_changelist_filters": request.POST.get("_changelist_filters", "")},
                button=f"Yes, switch {school.name} off",
                back_url=url,
            )
        _, changes = school_sync_settings_update(school=school, user=request.user, should_sync=should_sync)
        state = "on" if should_sync else "off"
        text = (
            f"Should sync school is now {state} for {school.name}."
            if changes
            else f"Should sync school was already {state}."
        )
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(url)


@admin.register(CourseSelection)
class CourseSelectionAdmin(SelectionAdmin):
    """LIS Courses: the active-year courses (teaching groups) and whether each goes to Microsoft."""

    group_field = "course"
    natural_column = "course_name"
    list_display = ["course_name", "course_code", "subject", "grades", "teacher_count", "student_count", "sync"]
    list_display_links = ["course_name"]
    list_filter = [
        SchoolFilter,
        ("course__subject", admin.RelatedOnlyFieldListFilter),
        GradeFilter,
        SyncedFilter,
        WithoutTeacherFilter,
    ]
    search_fields = ["course__name", "course__code", "course__subject__name"]
    ordering = ["course__school__name", "course__name"]
    fields = ["course", "subject", "grades", "teacher_count", "student_count", "sync"]

    def with_counts(self, queryset):
        return course_selections_with_counts(queryset).select_related("course__subject")

    @admin.display(description="course", ordering="course__name")
    def course_name(self, obj) -> str:
        return obj.course.name

    @admin.display(description="code", ordering="course__code")
    def course_code(self, obj) -> str:
        return obj.course.code

    @admin.display(description="subject", ordering="course__subject__name")
    def subject(self, obj) -> str:
        return obj.course.subject.name

    @admin.display(description="grades", ordering="course__grade_levels")
    def grades(self, obj) -> str:
        return ", ".join(obj.course.grade_list)


@admin.register(ClassSelection)
class ClassSelectionAdmin(SelectionAdmin):
    """LIS Classes: the active-year homeroom classes and whether each goes to Microsoft."""

    group_field = "school_class"
    natural_column = "class_name"
    list_display = ["class_name", "class_code", "grade", "teacher_count", "student_count", "sync"]
    list_display_links = ["class_name"]
    list_filter = [SchoolFilter, GradeFilter, SyncedFilter, WithoutTeacherFilter]
    search_fields = ["school_class__name", "school_class__code"]
    ordering = ["school_class__school__name", "school_class__name"]
    fields = ["school_class", "grade", "teacher_count", "student_count", "sync"]

    def with_counts(self, queryset):
        return class_selections_with_counts(queryset)

    @admin.display(description="class", ordering="school_class__name")
    def class_name(self, obj) -> str:
        return obj.school_class.name

    @admin.display(description="code", ordering="school_class__code")
    def class_code(self, obj) -> str:
        return obj.school_class.code

    @admin.display(description="grade", ordering="school_class__grade_level")
    def grade(self, obj) -> str:
        return obj.school_class.get_grade_level_display()
