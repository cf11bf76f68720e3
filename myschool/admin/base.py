"""The base of every school-owned ModelAdmin: querysets and relation choices scoped to the user's school.

Support staff see every school; a school administrator sees and changes only their own
school's rows: querysets, foreign-key choices, autocompletes and list filters all go
through :func:`~myschool.scoping.scope_to_user`, so a crafted POST naming another school's
row fails form validation like any unknown id.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import ForeignKey

from ..scoping import SCHOOL_PATHS, scope_to_user, sees_all_schools
from ..signals import school_groups_changed_notify
from ..synctime import sync_time_html


class SchoolScopedMixin:
    """Scopes a ModelAdmin or inline, and the choices of its relations, to the user's school."""

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request, **kwargs):
        related = db_field.related_model
        if related in SCHOOL_PATHS and "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_user(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related in SCHOOL_PATHS and "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_user(related._default_manager.all(), request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class SchoolScopedAdmin(SchoolScopedMixin, admin.ModelAdmin):
    """Base ModelAdmin of every school-owned model."""

    list_per_page = 50

    def get_list_filter(self, request):
        # A school administrator has one school: a "school" filter would only list it.
        filters = super().get_list_filter(request)
        if sees_all_schools(request.user):
            return filters
        path = SCHOOL_PATHS[self.model]
        return [f for f in filters if not (isinstance(f, tuple) and f[0] == path)]


SCHOOL_FILTER = ("school", admin.RelatedOnlyFieldListFilter)


def sync_time_field(field: str, description: str):
    """A list column or read-only field showing the datetime ``field`` (a path such as
    ``"batch__created_at"`` may cross relations) in the sync zone with :func:`~myschool.synctime.sync_time_html`
    (the date never broken across lines), sortable by ``field``. Use it as a class attribute of a
    ModelAdmin or inline: ``started = sync_time_field("started_at", "started at")``."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = obj
        for name in field.split("__"):
            value = getattr(value, name, None)
        return sync_time_html(value)

    return column


def may_view_on_site(site: admin.AdminSite, model: type, request) -> bool:
    """Whether ``site`` has a page for ``model`` that ``request.user`` may view (to link to it or not)."""
    return site.is_registered(model) and site.get_model_admin(model).has_view_permission(request)


class SchoolGroupsChangedOnSave:
    """Sends :data:`~myschool.signals.school_groups_changed` after a save on this page (schools, courses,
    classes: a new group or another active year), so the apps that follow the groups catch up at once."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        school_id = getattr(obj, "school_id", obj.pk)  # a School is its own school
        school_groups_changed_notify(sender=type(obj), school_ids=[school_id])


class MemberCountColumns:
    """``teacher_count`` and ``student_count`` list columns for a queryset annotated with them
    (:mod:`myschool.selectors`: subqueries, never a multiplied join)."""

    @admin.display(description="teachers", ordering="teacher_count")
    def teacher_count(self, obj) -> int:
        return obj.teacher_count

    @admin.display(description="students", ordering="student_count")
    def student_count(self, obj) -> int:
        return obj.student_count


class ReadOnlyAdminMixin:
    """A log in the admin: it can be viewed (by whoever has the view permission), never written."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
