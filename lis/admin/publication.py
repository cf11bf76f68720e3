"""Publication runs in the admin: support sees and confirms every run, a school its own, read-only.

Also the *preview of tonight* page (a dry run, with "last published at … (N classes, M users)":
:func:`lis.publication.selectors.last_publication`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from myschool.admin import SCHOOL_FILTER, SchoolScopedAdmin, sync_time_field
from myschool.models import School
from myschool.scoping import scope_to_user
from myschool.synctime import sync_time

from ..models import PublicationRun, RunStatus
from ..publication import publish_school
from ..publication.collect import KIND_ORDER
from ..publication.runs import OperationRefused, confirm_held_run
from ..publication.selectors import last_publication
from .confirm import confirmation_page, confirmed
from .wording import CHANGE_WORDS, KIND_WORDS, changes_in_words

CHANGES = ("created", "updated", "deleted", "unchanged")


@admin.register(PublicationRun)
class PublicationRunAdmin(SchoolScopedAdmin):
    """Every publication run: when, why, by whom, what it changed, how it ended. Nothing is editable
    (the page is "View publication run"); support confirms a held run with the *confirm* action,
    after a confirmation page."""

    # Trigger and who started it share a column, so every column fits beside the sidebar at 1024 px.
    list_display = ["started", "school", "started_by", "status", "changes", "finished"]
    list_filter = [SCHOOL_FILTER, "status", "trigger"]
    list_select_related = ["school", "triggered_by", "confirms"]
    search_fields = ["school__name", "school__code", "error"]
    date_hierarchy = "started_at"
    actions = ["confirm_held"]  # the change permission stands for "may confirm"; every field stays read-only
    fields = [
        "school", "trigger", "triggered_by", "status", "notes", "started_at", "committed_at", "finished_at",
        "counts_table", "withheld", "purged", "hold_reason", "error", "mass_deletion", "confirms",
    ]
    readonly_fields = fields
    started = sync_time_field("started_at", "started at")
    finished = sync_time_field("finished_at", "finished at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="started by", ordering="trigger")
    def started_by(self, run: PublicationRun) -> str:
        """``Support (publish now): anna`` — the trigger, and the person when one started it."""
        trigger = run.get_trigger_display()
        return f"{trigger}: {run.triggered_by}" if run.triggered_by_id else trigger

    def changelist_view(self, request, extra_context=None):
        # Runs are read-only for everyone; support's change permission only lets it confirm a held run.
        return super().changelist_view(request, {"title": "Publication runs", **(extra_context or {})})

    @admin.display(description="changes")
    def changes(self, run: PublicationRun) -> str:
        """``12,870 added · 3 changed · 1 removed`` over all kinds; a held run wrote nothing."""
        if run.status in (RunStatus.HELD, RunStatus.CONFIRMED):
            return "held: nothing written"
        if not run.counts:
            return "—"
        totals = {change: 0 for change in CHANGES}
        for counts in run.counts.values():
            if isinstance(counts, dict):
                for change in CHANGES:
                    totals[change] += counts.get(change, 0)
        return f"{totals['created']:,} added · {totals['updated']:,} changed · {totals['deleted']:,} removed"

    @admin.display(description="mass deletion allowed")
    def mass_deletion(self, run: PublicationRun) -> str:
        """Only a run confirmed by support after a held run may tombstone beyond the guard."""
        if run.allow_mass_deletion and run.confirms_id:
            return f"Yes: confirmed by support after the held run of {sync_time(run.confirms.started_at)}"
        return "No"

    @admin.display(description="counts per kind")
    def counts_table(self, run: PublicationRun) -> str:
        rows = [
            (KIND_WORDS[kind][1], *(f"{run.counts[kind].get(c, 0):,}" for c in CHANGES))
            for kind in KIND_ORDER
            if isinstance((run.counts or {}).get(kind), dict)
        ]
        if not rows:
            return "—"
        words = [CHANGE_WORDS.get(c, c) for c in CHANGES]
        head = format_html("<tr><th>in Microsoft</th>{}</tr>", format_html_join("", "<th>{}</th>", ((c,) for c in words)))
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table>{}{}</table>", head, body)

    @admin.display(description="people withheld")
    def withheld(self, run: PublicationRun) -> str:
        """Users not published because of a blocking email problem, per reason (see lis.publication.collect)."""
        withheld = (run.counts or {}).get("withheld") or {}
        return ", ".join(f"{reason.replace('_', ' ')}: {n}" for reason, n in withheld.items()) or "—"

    @admin.display(description="deletions forgotten (past the retention period)")
    def purged(self, run: PublicationRun) -> int:
        return (run.counts or {}).get("purged", 0)

    @admin.action(description="Confirm the held run (let it remove beyond the guard)", permissions=["change"])
    def confirm_held(self, request, queryset):
        return confirm_held_runs(self, request, list(queryset.select_related("school")), action="confirm_held")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Nothing on a run is editable: the page is "View publication run", without save buttons.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        run = self.get_object(request, object_id)
        if run is not None:
            extra_context["title"] = f"View publication run: {run.school}, {sync_time(run.started_at)}"
        return super().change_view(request, object_id, form_url, extra_context)

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
            "rows": changes_in_words(result.changes),
            "last": last_publication([school.pk])[school.pk],
            "runs_url": reverse("admin:lis_publicationrun_changelist") + f"?school__id__exact={school.pk}",
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/lis/publication_preview.html", context)


def confirm_held_runs(model_admin, request, runs: list[PublicationRun], *, action: str):
    """The *confirm the held run* action of the run list and of School sync settings: a confirmation
    page with what each held run would remove (in MySchool words), then :func:`confirm_held_run`."""
    if not confirmed(request):
        held = [run for run in runs if run.status == RunStatus.HELD]
        if held:
            consequences = []
            for run in held:
                deleted = {kind: counts.get("deleted", 0) for kind, counts in (run.counts or {}).items() if isinstance(counts, dict)}
                removed = ", ".join(f"{n:,} {KIND_WORDS.get(kind, (kind, kind))[1]}" for kind, n in deleted.items() if n)
                consequences.append(
                    f"{run.school}: the run of {sync_time(run.started_at)} was held ({run.hold_reason}). "
                    f"Confirming publishes again and removes from Microsoft: {removed or 'nothing'}."
                )
            consequences.append("Removed students and teachers lose their Teams classes. This cannot be undone from MySchool.")
            return confirmation_page(
                request,
                model_admin,
                title="Confirm the held run?",
                consequences=consequences,
                action=action,
                selected=request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                button="Yes, publish and remove them",
            )
    for run in runs:
        try:
            confirmation = confirm_held_run(run, user=request.user)
        except OperationRefused as exc:
            model_admin.message_user(request, f"{run.school}: {exc}", messages.ERROR)
        else:
            model_admin.message_user(
                request, f"{run.school}: confirmed; the new run {confirmation.get_status_display().lower()}."
            )
    return None


def may_preview(user) -> bool:
    """Whoever may see runs or manage an LIS page may preview the school's next publication."""
    return any(
        user.has_perm(perm)
        for perm in ("lis.view_publicationrun", "lis.manage_lis_courses", "lis.manage_lis_classes")
    )
