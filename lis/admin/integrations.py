"""Microsoft integrations in the admin: support runs the onboarding workflow, a school sees its own.

Support (``lis.change_integration``) registers a tenant and moves it along with the lifecycle
steps of :mod:`lis.admin.lifecycle` — buttons on its page, and the same steps as list actions;
a step that needs a reason (a resend within the cool-down, credentials despite readiness
problems, a compromise, a suspension) asks for it on the confirmation page (:mod:`lis.admin.confirm`).
The change page shows sync health, the OAuth clients, the handoffs (never a secret) and the audit log. A school administrator granted an LIS feature sees their
school's integration — status and sync health — read-only (:mod:`lis.permissions`).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from myschool.admin import ReadOnlyAdminMixin, SchoolScopedAdmin, sync_time_field
from myschool.synctime import sync_time_html

from ..integrations.scope import integration_schools_removal, integration_schools_set
from ..integrations.selectors import integration_schools_with_last_publication, integrations_with_health
from ..integrations.services import integration_request
from ..models import CredentialHandoff, Integration, IntegrationClient, IntegrationEvent, MicrosoftDomain
from ..oneroster import SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE
from .lifecycle import LifecycleToolsMixin, lifecycle_admin_action


def _when(value) -> str:
    return sync_time_html(value)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MicrosoftDomainInline(admin.TabularInline):
    model = MicrosoftDomain
    extra = 0
    fields = ["domain"]


class IntegrationClientInline(ReadOnlyInline):
    model = IntegrationClient
    verbose_name = "OAuth client"
    verbose_name_plural = "OAuth clients (SDS)"
    fields = ["client_id", "state", "created", "last_token", "last_request", "retired"]
    readonly_fields = fields
    created = sync_time_field("created_at", "created at")
    last_token = sync_time_field("last_token_at", "last token at")
    last_request = sync_time_field("last_request_at", "last request at")
    retired = sync_time_field("retired_at", "retired at")


class CredentialHandoffInline(ReadOnlyInline):
    model = CredentialHandoff
    verbose_name = "credential handoff"
    verbose_name_plural = "Credential handoffs (links emailed to the key contact)"
    fields = ["created", "created_by", "client_id", "expires", "outcome_text", "revealed", "reason"]
    readonly_fields = fields
    created = sync_time_field("created_at", "created at")
    expires = sync_time_field("expires_at", "expires at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client", "created_by")

    @admin.display(description="client id")
    def client_id(self, handoff: CredentialHandoff) -> str:
        return handoff.client.client_id

    @admin.display(description="outcome")
    def outcome_text(self, handoff: CredentialHandoff) -> str:
        """``Open``, or the outcome and when: ``Confirmed in SDS at 2026-12-01 09:30 CET``."""
        outcome = handoff.get_outcome_display()
        return format_html("{} at {}", outcome, sync_time_html(handoff.closed_at)) if handoff.closed_at else outcome

    @admin.display(description="revealed")
    def revealed(self, handoff: CredentialHandoff) -> str:
        """``2026-12-01 09:30 CET, 2 times, from 203.0.113.7``; "not yet" before the key contact opened it."""
        if not handoff.revealed_at:
            return "not yet"
        times = "once" if handoff.reveal_count == 1 else f"{handoff.reveal_count} times"
        where = f", from {handoff.revealed_ip}" if handoff.revealed_ip else ""
        return format_html("{}, {}{}", sync_time_html(handoff.revealed_at), times, where)


class IntegrationEventInline(ReadOnlyInline):
    model = IntegrationEvent
    verbose_name = "event"
    verbose_name_plural = "Audit log"
    fields = ["when", "kind", "actor", "ip", "reason", "detail"]
    readonly_fields = fields
    when = sync_time_field("at", "when")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


SCOPE_CHOICES = [
    (SCOPE_ROSTER_CORE, "roster-core.readonly: schools, sessions, courses, classes, enrollments and people"),
    (SCOPE_ROSTER, "roster.readonly: the same roster data (includes roster-core)"),
    (SCOPE_DEMOGRAPHICS, "roster-demographics.readonly: demographics (also needs the school's share switch)"),
]


class IntegrationForm(forms.ModelForm):
    """The integration form; removing a school shows what SDS will delete and needs a tick to save.

    The OneRoster 1.1 scopes (§1) its SDS clients may be granted are checkboxes; the tenant id
    box fits a GUID (36 characters).
    """

    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="The OAuth scopes this tenant's SDS clients may be granted.",
        error_messages={"required": "Tick at least one scope: without one, SDS can read nothing."},
    )

    confirm_removal = forms.BooleanField(
        required=False,
        label="Confirm the removal",
        help_text=(
            "Removing a school makes this tenant's SDS delete the school's users, classes and enrollments: "
            "they are sent as tobedeleted for the retention period. Saving shows the counts first."
        ),
    )

    class Meta:
        model = Integration
        fields = "__all__"
        widgets = {
            "tenant_id": forms.TextInput(
                attrs={"size": 38, "maxlength": 36, "spellcheck": "false", "autocomplete": "off",
                       "placeholder": "72f988bf-86f1-41af-91ab-2d7cd011db47"}
            )
        }

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and "schools" in cleaned:
            removal = integration_schools_removal(self.instance, cleaned["schools"])
            if removal.counts and not cleaned.get("confirm_removal"):
                self.add_error("confirm_removal", f"{removal.message()} Tick “Confirm the removal” to save.")
        return cleaned


@admin.register(Integration)
class IntegrationAdmin(LifecycleToolsMixin, SchoolScopedAdmin):
    """Support's onboarding workflow and sync health; a school's read-only view of its integration."""

    # The key contact is on the integration's page: without it every column fits beside the sidebar at 1024 px.
    list_display = ["name", "status", "tenant_id", "school_names", "last_issued", "last_token", "last_request"]
    list_filter = ["status"]
    search_fields = ["name", "tenant_id", "key_contact_name", "key_contact_email", "schools__name", "schools__code"]
    filter_horizontal = ["schools"]
    fieldsets = [
        (
            None,
            {"fields": ["name", "tenant_id", "status", "schools", "key_contact_name", "key_contact_email", "scopes"]},
        ),
        ("Sync health", {"fields": ["sync_health"]}),
    ]
    readonly_fields = ["status", "sync_health", "scope_names"]
    form = IntegrationForm
    change_form_template = "admin/lis/integration/change_form.html"
    inlines = [MicrosoftDomainInline, IntegrationClientInline, CredentialHandoffInline, IntegrationEventInline]
    actions = [
        "map_features", "accept", "issue_credentials", "resend_credentials", "rotate_compromised", "suspend", "resume"
    ]

    def changelist_view(self, request, extra_context=None):
        # The section's pages are titled by what they list ("Publication runs", "LIS Courses").
        return super().changelist_view(request, {"title": "Microsoft integrations", **(extra_context or {})})

    def get_queryset(self, request):
        return integrations_with_health(super().get_queryset(request)).prefetch_related("schools")

    def get_inlines(self, request, obj):
        # A new integration has no clients, handoffs or events yet: only its domains are entered.
        return self.inlines if obj is not None else [MicrosoftDomainInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        (name, options), *rest = fieldsets
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only view (a school) reads the scopes in words, not as the stored JSON list.
            fields = ["scope_names" if field == "scopes" else field for field in options["fields"]]
            return [(name, {**options, "fields": fields}), *rest]
        if obj is None:
            return fieldsets
        return [(name, {**options, "fields": [*options["fields"], "confirm_removal"]}), *rest]

    @admin.display(description="scopes")
    def scope_names(self, obj: Integration) -> str:
        """The granted OneRoster scopes, one per line, as the checkboxes name them."""
        words = dict(SCOPE_CHOICES)
        return format_html_join("", "<div>{}</div>", ((words.get(scope, scope),) for scope in obj.scopes or ()))

    def save_related(self, request, form, formsets, change):
        if change and "schools" in form.cleaned_data:
            integration_schools_set(
                integration=form.instance,
                schools=form.cleaned_data.pop("schools"),
                confirm_removal=form.cleaned_data.get("confirm_removal", False),
            )
        super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None):
        return False  # suspend instead: the audit log and the clients' history stay

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = integration_request(
            name=obj.name,
            tenant_id=obj.tenant_id,
            schools=form.cleaned_data["schools"],
            key_contact_name=obj.key_contact_name,
            key_contact_email=obj.key_contact_email,
            scopes=obj.scopes,
            actor=request.user,
        )
        obj.pk, obj.status, obj.created_at = created.pk, created.status, created.created_at

    # --- columns and the health panel -------------------------------------------------------------

    @admin.display(description="schools")
    def school_names(self, obj: Integration) -> str:
        return ", ".join(school.name for school in obj.schools.all())

    @admin.display(description="credentials issued", ordering="last_issued_at")
    def last_issued(self, obj: Integration) -> str:
        return _when(obj.last_issued_at)

    @admin.display(description="last token", ordering="last_token_at")
    def last_token(self, obj: Integration) -> str:
        return _when(obj.last_token_at)

    @admin.display(description="last API request", ordering="last_request_at")
    def last_request(self, obj: Integration) -> str:
        return _when(obj.last_request_at)

    @admin.display(description="sync health")
    def sync_health(self, obj: Integration | None) -> str:
        """Status, credentials, token and API activity, and each school's last successful publication."""
        if obj is None or obj.pk is None:
            return "—"
        rows = [
            ("Status", obj.get_status_display()),
            ("Credentials last issued", _when(getattr(obj, "last_issued_at", None))),
            ("Last token request", _when(getattr(obj, "last_token_at", None))),
            ("Last API request", _when(getattr(obj, "last_request_at", None))),
        ]
        rows += [
            (f"Last publication of {school.name}", _when(school.last_published_at))
            for school in integration_schools_with_last_publication(obj)
        ]
        table = format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))
        readiness = reverse("admin:lis_readiness_integration", args=[obj.pk])
        return format_html('{}<p><a href="{}">Sync readiness report of these schools</a></p>', table, readiness)

    # --- actions: the lifecycle steps of lis.admin.lifecycle, for the selected integrations ----------

    map_features = lifecycle_admin_action("map_features", "Mark features mapped (LIS features granted)")
    accept = lifecycle_admin_action("accept", "Mark accepted by Microsoft")
    issue_credentials = lifecycle_admin_action("issue_credentials", "Issue credentials (email the key contact a link)")
    resend_credentials = lifecycle_admin_action(
        "resend_credentials", "Resend credentials (new secret; the old one works until confirmed)"
    )
    rotate_compromised = lifecycle_admin_action(
        "rotate_compromised", "Rotate after a compromise (revoke the old credentials now)"
    )
    suspend = lifecycle_admin_action("suspend", "Suspend (revoke access tokens now)")
    resume = lifecycle_admin_action("resume", "Resume")


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log of every integration, read-only (support)."""

    list_display = ["when", "integration", "kind", "actor", "ip", "reason", "detail"]
    list_filter = ["kind"]
    list_select_related = ["integration", "actor"]
    search_fields = ["integration__name", "integration__tenant_id", "reason", "detail"]
    date_hierarchy = "at"
    list_per_page = 100
    when = sync_time_field("at", "when")
