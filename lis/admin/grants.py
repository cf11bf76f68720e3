"""Support's side of LIS: which school groups get which feature, and each school's sync settings.

Only holders of the model permissions (the "Support" group, granted by migration) reach these
pages; the feature grants give school administrators no permission on them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery

from myschool.admin import SCHOOL_FILTER, SchoolScopedAdmin
from myschool.synctime import sync_time

from ..models import FeatureGrant, PublicationRun, RunStatus, SchoolSyncSettings
from ..operations import OperationRefused, confirm_held_run, publish_now
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
    """Each school's *should sync school*, which users to publish and whether to share demographics;
    and support's *publish now* (once per school per day) and *confirm held run* actions."""

    list_display = ["school", "should_sync", "users_to_publish", "share_demographics", "last_run"]
    list_filter = ["should_sync", "users_to_publish", "share_demographics"]
    list_select_related = ["school"]
    actions = ["publish_now", "confirm_held"]

    def get_queryset(self, request):
        latest = PublicationRun.objects.filter(school=OuterRef("school")).exclude(status=RunStatus.QUEUED).order_by("-started_at", "-pk")
        return super().get_queryset(request).annotate(
            last_run_status=Subquery(latest.values("status")[:1]), last_run_at=Subquery(latest.values("started_at")[:1])
        )

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, obj) -> str:
        if not obj.last_run_at:
            return "—"
        return f"{RunStatus(obj.last_run_status).label} at {sync_time(obj.last_run_at)}"

    @admin.action(description="Publish now (once per school per day)", permissions=["publish"])
    def publish_now(self, request, queryset):
        for settings in queryset.select_related("school"):
            try:
                run = publish_now(settings.school, user=request.user)
            except OperationRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{settings.school}: publication {run.get_status_display().lower()}.")

    @admin.action(description="Confirm the held run", permissions=["publish"])
    def confirm_held(self, request, queryset):
        for settings in queryset.select_related("school"):
            held = PublicationRun.objects.filter(school=settings.school).exclude(status=RunStatus.QUEUED).first()
            try:
                if held is None:
                    raise OperationRefused("There is no run to confirm.")
                run = confirm_held_run(held, user=request.user)
            except OperationRefused as exc:
                self.message_user(request, f"{settings.school}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{settings.school}: confirmed; the new run {run.get_status_display().lower()}.")

    def has_publish_permission(self, request) -> bool:
        """Support's operations: whoever may change publication runs (the Support group)."""
        return request.user.has_perm("lis.change_publicationrun")
    search_fields = ["school__name", "school__code"]
    fields = ["school", *SETTINGS_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ["school"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # Through the service, so each changed setting is recorded in the LIS history.
        values = {name: getattr(obj, name) for name in SETTINGS_FIELDS if not change or name in form.changed_data}
        settings, _ = school_sync_settings_update(school=obj.school, user=request.user, **values)
        obj.pk = settings.pk
