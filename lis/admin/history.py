"""LIS history: every recorded change of a sync flag or a school's sync settings, read-only."""

from __future__ import annotations

from django.contrib import admin

from myschool.admin import ReadOnlyAdminMixin, SchoolScopedAdmin, sync_time_field
from myschool.scoping import sees_all_schools

from ..models import SelectionChange
from .filters import SchoolFilter
from .selection import ADVANCED_OPTIONS_CHANGE_FORM, ADVANCED_OPTIONS_CHANGE_LIST


@admin.register(SelectionChange)
class SelectionChangeAdmin(ReadOnlyAdminMixin, SchoolScopedAdmin):
    """Who changed what, when, from which value to which. Nobody edits or deletes history here."""

    change_list_template = ADVANCED_OPTIONS_CHANGE_LIST
    change_form_template = ADVANCED_OPTIONS_CHANGE_FORM
    list_display = ["changed", "changed_by", "target", "field", "change"]
    list_filter = [SchoolFilter, "field"]
    list_select_related = ["changed_by", "school"]
    search_fields = ["target", "changed_by__username"]
    list_per_page = 100
    changed = sync_time_field("changed_at", "changed at")

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns[:2], "school", *columns[2:]] if sees_all_schools(request.user) else columns

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "LIS history", **(extra_context or {})})

    @admin.display(description="old → new")
    def change(self, obj) -> str:
        return f"{obj.old_value} → {obj.new_value}"
