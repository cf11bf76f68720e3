"""Publication runs in the admin: support sees and confirms every run, a school its own, read-only.

Also the pieces the LIS pages show about publication: "last published at … (N classes, M
users)" (:func:`last_publication`) and the *preview of tonight* page (a dry run).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from myschool.admin import SCHOOL_FILTER, SchoolScopedAdmin
from myschool.models import School
from myschool.scoping import scope_to_user

from ..models import PublicationRun, PublishedObject, PublishedStatus, RunStatus
from ..operations import OperationRefused, confirm_held_run
from ..publication import publish_school
from ..publication.collect import KIND_ORDER

CHANGES = ("created", "updated", "deleted", "unchanged")


def last_publication(school_ids: list[int]) -> dict[int, dict]:
    """school id → {"at": commit time of the last successful run or None, "classes": n, "users": n}.

    ``classes``/``users`` count the school's active published objects. Two queries whatever the schools.
    """
    summary = {school_id: {"at": None, "classes": 0, "users": 0} for school_id in school_ids}
    runs = (
        PublicationRun.objects.filter(school_id__in=school_ids, status=RunStatus.SUCCEEDED)
        .order_by("school_id", "-committed_at")
        .values_list("school_id", "committed_at")
    )
    for school_id, committed_at in runs:
        if summary[school_id]["at"] is None:
            summary[school_id]["at"] = committed_at
    counts = (
        PublishedObject.objects.filter(school_id__in=school_ids, status=PublishedStatus.ACTIVE, kind__in=["class", "user"])
        .values("school_id")
        .annotate(classes=Count("pk", filter=Q(kind="class")), users=Count("pk", filter=Q(kind="user")))
    )
    for row in counts:
        summary[row["school_id"]].update(classes=row["classes"], users=row["users"])
    return summary


@admin.register(PublicationRun)
class PublicationRunAdmin(SchoolScopedAdmin):
    """Every publication run: when, why, by whom, what it changed, how it ended. Nothing is editable;
    support confirms a held run with the *confirm* action."""

    list_display = ["started_at", "school", "trigger", "triggered_by", "status", "changes", "finished_at"]
    list_filter = [SCHOOL_FILTER, "status", "trigger"]
    list_select_related = ["school", "triggered_by"]
    search_fields = ["school__name", "school__code", "error"]
    date_hierarchy = "started_at"
    actions = ["confirm_held"]  # the change permission stands for "may confirm"; every field stays read-only
    fields = [
        "school", "trigger", "triggered_by", "status", "started_at", "committed_at", "finished_at",
        "counts_table", "withheld", "purged", "hold_reason", "error", "allow_mass_deletion", "confirms",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="changes")
    def changes(self, run: PublicationRun) -> str:
        """``+created ~updated −deleted`` over all kinds, e.g. ``+12 ~3 −1``."""
        totals = {change: 0 for change in CHANGES}
        for kind, counts in (run.counts or {}).items():
            if isinstance(counts, dict):
                for change in CHANGES:
                    totals[change] += counts.get(change, 0)
        if run.status == RunStatus.HELD or not run.counts:
            return "—" if run.status != RunStatus.HELD else "held: nothing written"
        return f"+{totals['created']} ~{totals['updated']} −{totals['deleted']}"

    @admin.display(description="counts per kind")
    def counts_table(self, run: PublicationRun) -> str:
        rows = [(kind, *(run.counts[kind].get(c, 0) for c in CHANGES)) for kind in KIND_ORDER if kind in (run.counts or {})]
        if not rows:
            return "—"
        head = format_html("<tr><th>kind</th>{}</tr>", format_html_join("", "<th>{}</th>", ((c,) for c in CHANGES)))
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table>{}{}</table>", head, body)

    @admin.display(description="withheld users")
    def withheld(self, run: PublicationRun) -> str:
        """Users not published because of a blocking email problem, per reason (see lis.publication.collect)."""
        withheld = (run.counts or {}).get("withheld") or {}
        return ", ".join(f"{reason.replace('_', ' ')}: {n}" for reason, n in withheld.items()) or "—"

    @admin.display(description="tombstones purged")
    def purged(self, run: PublicationRun) -> int:
        return (run.counts or {}).get("purged", 0)

    @admin.action(description="Confirm the held run (let it tombstone beyond the guard)", permissions=["change"])
    def confirm_held(self, request, queryset):
        for run in queryset.select_related("school"):
            try:
                confirmation = confirm_held_run(run, user=request.user)
            except OperationRefused as exc:
                self.message_user(request, f"{run.school}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{run.school}: confirmed; the new run {confirmation.get_status_display().lower()}.")

    def get_urls(self):
        view = self.admin_site.admin_view(self.preview_view)
        return [path("preview/<int:school_id>/", view, name="lis_publicationrun_preview"), *super().get_urls()]

    def preview_view(self, request, school_id: int):
        """The preview of tonight: what a publication now would create, update and tombstone (a dry run)."""
        school = get_object_or_404(scope_to_user(School.objects.all(), request.user), pk=school_id)
        if not may_preview(request.user):
            raise PermissionDenied
        result = publish_school(school, dry_run=True)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of tonight's publication: {school.name}",
            "school": school,
            "result": result,
            "rows": [(kind, result.changes[kind]) for kind in KIND_ORDER],
            "last": last_publication([school.pk])[school.pk],
            "runs_url": reverse("admin:lis_publicationrun_changelist") + f"?school__id__exact={school.pk}",
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/lis/publication_preview.html", context)


def may_preview(user) -> bool:
    """Whoever may see runs or manage an LIS page may preview the school's next publication."""
    return any(
        user.has_perm(perm)
        for perm in ("lis.view_publicationrun", "lis.manage_lis_courses", "lis.manage_lis_classes")
    )
