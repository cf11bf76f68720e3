"""Support's side of LIS: which school groups get which feature, and each school's sync settings.

Only holders of the model permissions (the "Support" group, granted by migration) reach these
pages; the feature grants give school administrators no permission on them.

Switching *share demographics* off turns every published demographics record of the school into
a tombstone, which SDS reads as "delete this student's birth date and sex": saving that change
first shows a confirmation page (:mod:`lis.admin.confirm`) with the count.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import Group
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils.html import format_html

from myschool.admin import SCHOOL_FILTER, SchoolScopedAdmin, sync_time_field
from myschool.roles import SCHOOL_ADMINISTRATORS_GROUP, SUPPORT_GROUP
from myschool.synctime import next_publication_text, sync_time_html

from ..models import FeatureGrant, PublicationRun, RunStatus, SchoolSyncSettings
from ..publication import publish_school
from ..publication.runs import OperationRefused, publish_now
from ..publication.selectors import latest_run, published_demographics_count
from ..selection.services import SETTINGS_FIELDS, school_sync_settings_update
from .confirm import confirmation_page, confirmed
from .publication import confirm_held_runs
from .wording import summary_lines


@admin.register(FeatureGrant)
class FeatureGrantAdmin(SchoolScopedAdmin):
    """Map an LIS feature, for one school, to one Django group whose members may then use it."""

    list_display = ["feature", "school", "group", "granted_by", "granted"]
    list_filter = ["feature", SCHOOL_FILTER, ("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["school", "group", "granted_by"]
    search_fields = ["school__name", "school__code", "group__name"]
    fields = ["feature", "school", "group", "granted_by", "granted"]
    readonly_fields = ["granted_by", "granted"]
    granted = sync_time_field("granted_at", "granted at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group":
            # Only a school's own groups (every member is staff of one school); never Support or a global role.
            kwargs["queryset"] = school_groups()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class GrantForm(form):
            def clean(self):
                cleaned = super().clean()
                school, group = cleaned.get("school"), cleaned.get("group")
                if school and group and not school_groups(school).filter(pk=group.pk).exists():
                    self.add_error(
                        "group",
                        f"{group} is not a group of {school}: choose a group whose members are all staff of {school}.",
                    )
                return cleaned

        return GrantForm


def school_groups(school=None):
    """Groups whose members are all staff of one school (of ``school`` when given), or that have no
    members yet: a grant's possible groups.

    Support's and the global role groups have members without a school, or from several, so never qualify.
    """
    groups = Group.objects.annotate(
        members=Count("user", distinct=True),
        schools=Count("user__school_staff__school", distinct=True),
        staff=Count("user__school_staff", distinct=True),
    ).filter(schools__lte=1, staff=F("members")).exclude(name__in=[SUPPORT_GROUP, SCHOOL_ADMINISTRATORS_GROUP])
    if school is not None:
        groups = groups.filter(Q(members=0) | Q(user__school_staff__school=school))
    return groups.order_by("name").distinct()


@admin.register(SchoolSyncSettings)
class SchoolSyncSettingsAdmin(SchoolScopedAdmin):
    """Each school's *should sync school*, which users to publish and whether to share demographics;
    and support's *publish now* (once per school per day) and *confirm held run* actions."""

    list_display = ["school", "should_sync", "users_to_publish", "share_demographics", "last_run"]
    list_filter = ["should_sync", "users_to_publish", "share_demographics"]
    list_select_related = ["school"]
    actions = ["publish_now", "confirm_held"]

    def get_queryset(self, request):
        latest = PublicationRun.objects.started().filter(school=OuterRef("school"))
        return super().get_queryset(request).annotate(
            last_run_status=Subquery(latest.values("status")[:1]), last_run_at=Subquery(latest.values("started_at")[:1])
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "School sync settings", **(extra_context or {})})

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, obj) -> str:
        if not obj.last_run_at:
            return "—"
        return format_html("{} at {}", RunStatus(obj.last_run_status).label, sync_time_html(obj.last_run_at))

    @admin.action(description="Publish now (once per school per day)", permissions=["publish"])
    def publish_now(self, request, queryset):
        settings_list = list(queryset.select_related("school"))
        if not confirmed(request):
            consequences = []
            for settings in settings_list:
                preview = publish_school(settings.school, dry_run=True)
                held = f" It would be held for confirmation: {preview.hold_reason}" if preview.hold_reason else ""
                consequences.append(f"{settings.school}: " + " ".join(summary_lines(preview.changes)) + held)
            consequences.append(
                "Each school may be published by support once a day besides the nightly run "
                f"(next: {next_publication_text()})."
            )
            return confirmation_page(
                request,
                self,
                title="Publish now?",
                consequences=consequences,
                action="publish_now",
                selected=[settings.pk for settings in settings_list],
                button="Yes, publish now",
                danger=False,
            )
        for settings in settings_list:
            try:
                run = publish_now(settings.school, user=request.user)
            except OperationRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{settings.school}: publication {run.get_status_display().lower()}.")

    @admin.action(description="Confirm the held run", permissions=["publish"])
    def confirm_held(self, request, queryset):
        runs, missing = [], []
        for settings in queryset.select_related("school"):
            latest = latest_run(settings.school)
            (runs if latest is not None else missing).append(latest or settings.school)
        for school in missing:
            self.message_user(request, f"{school}: there is no run to confirm.", messages.ERROR)
        return confirm_held_runs(self, request, runs, action="confirm_held")

    def get_actions(self, request):
        # Only support's operations: deleting a school's settings is never what "Publish now" sits next to.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_publish_permission(self, request) -> bool:
        """Support's operations: whoever may change publication runs (the Support group)."""
        return request.user.has_perm("lis.change_publicationrun")
    search_fields = ["school__name", "school__code"]
    fields = ["school", *SETTINGS_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ["school"] if obj is not None else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id and not confirmed(request):
            settings = self.get_object(request, unquote(object_id))
            sharing = settings is not None and settings.share_demographics
            if sharing and not request.POST.get("share_demographics") and self.has_change_permission(request, settings):
                return self.demographics_off_page(request, settings)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def demographics_off_page(self, request, settings: SchoolSyncSettings):
        """The confirmation before *share demographics* goes off: the form's POST is carried back unchanged."""
        school = settings.school
        shared = published_demographics_count(school)
        if shared:
            what = (
                f"{shared} students' demographics (birth date, sex) will be deleted in Microsoft at the next "
                f"publication ({next_publication_text()})."
            )
        else:
            what = "No student's birth date or sex is in Microsoft yet, so nothing is deleted there."
        return confirmation_page(
            request,
            self,
            title=f"Stop sharing demographics of {school.name}?",
            consequences=[
                what,
                "The students themselves, their classes and their courses stay in Microsoft; only birth date "
                "and sex are no longer sent. Switching sharing on again sends them again.",
            ],
            hidden={name: value for name, value in request.POST.items() if name != "csrfmiddlewaretoken"},
            button="Yes, stop sharing demographics",
            back_url=request.path,
        )

    def save_model(self, request, obj, form, change):
        # Through the service, so each changed setting is recorded in the LIS history.
        values = {name: getattr(obj, name) for name in SETTINGS_FIELDS if not change or name in form.changed_data}
        settings, _ = school_sync_settings_update(school=obj.school, user=request.user, **values)
        obj.pk = settings.pk
