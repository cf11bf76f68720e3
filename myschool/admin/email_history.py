"""The history of primary emails: batches (with a *revert* action) and single changes, read-only.

Nobody edits or deletes history. Reverting a batch needs ``myschool.change_primaryemail`` (the
right to change emails at all) and goes through :func:`myschool.emails.email_batch_revert`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .. import emails
from ..models import EmailChange, EmailChangeBatch
from ..scoping import sees_all_schools
from .base import SCHOOL_FILTER, SchoolScopedAdmin, SchoolScopedMixin, sync_time_field


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EmailChangeInline(ReadOnlyMixin, SchoolScopedMixin, admin.TabularInline):
    model = EmailChange
    fields = ["person", "old_email", "new_email"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "teacher")

    @admin.display(description="person")
    def person(self, obj) -> str:
        person = obj.person
        number = person.student_number if obj.student_id else person.staff_number
        return f"{person} ({'student' if obj.student_id else 'teacher'} {number})"


@admin.register(EmailChangeBatch)
class EmailChangeBatchAdmin(ReadOnlyMixin, SchoolScopedAdmin):
    """One row per mass-edit save, CSV file, pattern run or revert; its changes are listed inside."""

    list_display = ["__str__", "created", "kind", "created_by", "change_count", "note", "reverted_by"]
    list_filter = [SCHOOL_FILTER, "kind"]
    list_select_related = ["school", "created_by"]
    search_fields = ["note", "created_by__username", "changes__old_email", "changes__new_email"]
    fields = ["school", "kind", "note", "created_by", "created", "reverted_by"]
    readonly_fields = fields
    inlines = [EmailChangeInline]
    actions = ["revert"]
    created = sync_time_field("created_at", "created at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(change_count=Count("changes"))

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset, True  # searching changes joins one row per change

    @admin.display(description="changes", ordering="change_count")
    def change_count(self, obj) -> int:
        return obj.change_count

    def has_revert_permission(self, request) -> bool:
        return request.user.has_perm("myschool.change_primaryemail")

    @admin.action(description="Revert the selected batches", permissions=["revert"])
    def revert(self, request, queryset):
        for batch in queryset.order_by("-created_at", "-pk"):
            try:
                revert = emails.email_batch_revert(batch=batch, user=request.user)
            except emails.EmailChangeRefused as exc:
                details = "; ".join(exc.errors.values())
                self.message_user(request, f"{exc}{' ' + details if details else ''}", messages.ERROR)
            else:
                self.message_user(request, f"Batch #{batch.pk} reverted by batch #{revert.pk}.", messages.SUCCESS)


@admin.register(EmailChange)
class EmailChangeAdmin(ReadOnlyMixin, SchoolScopedAdmin):
    """Every single email change: whose, old → new, who and when (the batch's)."""

    list_display = ["changed_at", "person", "old_email", "new_email", "kind", "changed_by", "batch_link"]
    list_filter = [("batch__school", admin.RelatedOnlyFieldListFilter), "batch__kind"]
    list_select_related = ["batch", "batch__created_by", "batch__school", "student", "teacher"]
    search_fields = [
        "old_email",
        "new_email",
        "student__given_name",
        "student__family_name",
        "student__student_number",
        "teacher__given_name",
        "teacher__family_name",
        "teacher__staff_number",
    ]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "school"] if sees_all_schools(request.user) else columns

    changed_at = sync_time_field("batch__created_at", "changed at")

    @admin.display(description="person")
    def person(self, obj) -> str:
        return str(obj.person)

    @admin.display(description="how", ordering="batch__kind")
    def kind(self, obj) -> str:
        return obj.batch.get_kind_display()

    @admin.display(description="by")
    def changed_by(self, obj):
        return obj.batch.created_by

    @admin.display(description="batch")
    def batch_link(self, obj) -> str:
        url = reverse("admin:myschool_emailchangebatch_change", args=[obj.batch_id])
        return format_html('<a href="{}">#{}</a>', url, obj.batch_id)

    @admin.display(description="school")
    def school(self, obj) -> str:
        return obj.batch.school.name
