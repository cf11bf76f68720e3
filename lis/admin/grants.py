"""Support's side of LIS: which school groups get which feature, and each school's sync settings.

Only holders of the model permissions (the "Support" group, granted by migration) reach these
pages; the feature grants give school administrators no permission on them.
"""

from __future__ import annotations

from django.contrib import admin

from myschool.admin import SCHOOL_FILTER, SchoolScopedAdmin

from ..models import FeatureGrant, SchoolSyncSettings
from ..selection.services import SETTINGS_FIELDS, school_sync_settings_update


@admin.register(FeatureGrant)
class FeatureGrantAdmin(SchoolScopedAdmin):
    """Map an LIS feature, for one school, to one Django group whose members may then use it."""

    list_display = ["feature", "school", "group", "granted_by", "granted_at"]
    list_filter = ["feature", SCHOOL_FILTER, ("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["school", "group", "granted_by"]
    search_fields = ["school__name", "school__code", "group__name"]
    fields = ["feature", "school", "group", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SchoolSyncSettings)
class SchoolSyncSettingsAdmin(SchoolScopedAdmin):
    """Each school's *should sync school*, which users to publish and whether to share demographics."""

    list_display = ["school", "should_sync", "users_to_publish", "share_demographics"]
    list_filter = ["should_sync", "users_to_publish", "share_demographics"]
    list_select_related = ["school"]
    search_fields = ["school__name", "school__code"]
    fields = ["school", *SETTINGS_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ["school"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # Through the service, so each changed setting is recorded in the LIS history.
        values = {name: getattr(obj, name) for name in SETTINGS_FIELDS if not change or name in form.changed_data}
        settings, _ = school_sync_settings_update(school=obj.school, user=request.user, **values)
        obj.pk = settings.pk
