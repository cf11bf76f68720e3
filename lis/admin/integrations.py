"""Microsoft integrations in the admin: support runs the onboarding workflow, a school sees its own.

Support (``lis.change_integration``) registers a tenant and moves it along with actions, each a
call of one service in :mod:`lis.integrations.services`; actions that need a reason (a resend
within the cool-down, credentials despite readiness problems, a compromise, a suspension) ask for
it on an intermediate page. The change page shows sync health, the OAuth clients, the handoffs
(never a secret) and the audit log. A school administrator granted an LIS feature sees their
school's integration — status and sync health — read-only (:mod:`lis.permissions`).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from myschool.admin import ReadOnlyAdminMixin, SchoolScopedAdmin
from myschool.synctime import sync_time

from ..integrations.scope import integration_schools_removal, integration_schools_set
from ..integrations.selectors import integration_schools_with_last_publication, integrations_with_health
from ..integrations.services import (
    IssuedCredentials,
    ReasonRequired,
    TransitionRefused,
    credentials_issue,
    credentials_rotate,
    integration_accept,
    integration_map_features,
    integration_request,
    integration_resume,
    integration_suspend,
)
from ..models import CredentialHandoff, Integration, IntegrationClient, IntegrationEvent, MicrosoftDomain
from ..oneroster import SCOPE_DEMOGRAPHICS, SCOPE_ROSTER, SCOPE_ROSTER_CORE
from .lifecycle import STEPS, LifecycleToolsMixin, step_refusal

REASON_TEMPLATE = "admin/lis/integration/action_reason.html"


def _when(value) -> str:
    return sync_time(value)


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
    fields = ["client_id", "state", "created_at", "last_token_at", "last_request_at", "retired_at"]
    readonly_fields = fields


class CredentialHandoffInline(ReadOnlyInline):
    model = CredentialHandoff
    verbose_name = "credential handoff"
    verbose_name_plural = "Credential handoffs (links emailed to the key contact)"
    fields = [
        "created_at", "created_by", "client_id", "expires_at", "outcome", "closed_at", "revealed_at", "reveal_count",
        "revealed_ip", "reason",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client", "created_by")

    @admin.display(description="client id")
    def client_id(self, handoff: CredentialHandoff) -> str:
        return handoff.client.client_id


class IntegrationEventInline(ReadOnlyInline):
    model = IntegrationEvent
    verbose_name = "event"
    verbose_name_plural = "Audit log"
    fields = ["at", "kind", "actor", "ip", "reason", "detail"]
    readonly_fields = fields

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

    list_display = [
        "name", "status", "tenant_id", "school_names", "key_contact_name", "last_issued", "last_token", "last_request"
    ]
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
    readonly_fields = ["status", "sync_health"]
    form = IntegrationForm
    change_form_template = "admin/lis/integration/change_form.html"
    inlines = [MicrosoftDomainInline, IntegrationClientInline, CredentialHandoffInline, IntegrationEventInline]
    actions = [
        "map_features", "accept", "issue_credentials", "resend_credentials", "rotate_compromised", "suspend", "resume"
    ]

    def get_queryset(self, request):
        return integrations_with_health(super().get_queryset(request)).prefetch_related("schools")

    def get_inlines(self, request, obj):
        # A new integration has no clients, handoffs or events yet: only its domains are entered.
        return self.inlines if obj is not None else [MicrosoftDomainInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self.has_change_permission(request, obj):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], "confirm_removal"]}), *rest]

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

    @admin.display(description="last token request", ordering="last_token_at")
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

    # --- actions --------------------------------------------------------------------------------------

    def _reason_page(self, request, queryset, *, action: str, title: str, explanation: str, problems=(), error=""):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "action": action,
            "explanation": explanation,
            "problems": problems,
            "error": error,
            "integrations": list(queryset),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "reason": request.POST.get("reason", ""),
        }
        return TemplateResponse(request, REASON_TEMPLATE, context)

    def _run(
        self,
        request,
        queryset,
        perform: Callable[[Integration, str], str],
        *,
        action: str,
        title: str,
        explanation: str,
        reason_always: bool = False,
    ):
        """Call ``perform(integration, reason)`` (→ a success message) for each selected integration.

        A reason comes from the intermediate page. With ``reason_always`` that page is shown first;
        otherwise only for the integrations whose service raised :class:`ReasonRequired`.
        """
        reason = request.POST.get("reason", "").strip() if "apply" in request.POST else ""
        if reason_always and not reason:
            error = "Give a reason." if "apply" in request.POST else ""
            return self._reason_page(
                request, queryset, action=action, title=title, explanation=explanation, error=error
            )
        needing = []
        for integration in queryset:
            if refusal := step_refusal(integration, STEPS[action]):
                self.message_user(request, refusal, messages.ERROR)
                continue
            try:
                text = perform(integration, reason)
            except ReasonRequired as exc:
                needing.append((integration, exc.problems))
            except TransitionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{integration}: {text}", messages.SUCCESS)
        if needing:
            return self._reason_page(
                request,
                [integration for integration, _ in needing],
                action=action,
                title=title,
                explanation=explanation,
                problems=needing,
                error="Give a reason." if "apply" in request.POST else "",
            )
        return None

    @staticmethod
    def _issued(issued: IssuedCredentials) -> str:
        integration = issued.handoff.integration
        return (
            f"new client {issued.client_id}; {integration.key_contact_email} was emailed a link "
            f"valid until {_when(issued.handoff.expires_at)}."
        )

    def _transition(self, request, queryset, service, done: str, *, step: str) -> None:
        """Run the workflow ``service`` on each selected integration and report each outcome."""
        for integration in queryset:
            if refusal := step_refusal(integration, STEPS[step]):
                self.message_user(request, refusal, messages.ERROR)
                continue
            try:
                service(integration=integration, actor=request.user)
            except TransitionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{integration}: {done}.", messages.SUCCESS)

    @admin.action(description="Mark features mapped (LIS features granted)", permissions=["change"])
    def map_features(self, request, queryset):
        self._transition(request, queryset, integration_map_features, "features mapped", step="map_features")

    @admin.action(description="Mark accepted by Microsoft", permissions=["change"])
    def accept(self, request, queryset):
        self._transition(request, queryset, integration_accept, "accepted by Microsoft", step="accept")

    @admin.action(description="Issue credentials (email the key contact a link)", permissions=["change"])
    def issue_credentials(self, request, queryset):
        def issue(integration: Integration, reason: str) -> str:
            return self._issued(credentials_issue(integration=integration, actor=request.user, reason=reason))

        return self._run(
            request,
            queryset,
            issue,
            action="issue_credentials",
            title="Issue credentials despite readiness problems",
            explanation="The schools are not ready. Issue credentials anyway only with a reason; it is logged.",
        )

    @admin.action(
        description="Resend credentials (new secret; the old one works until confirmed)", permissions=["change"]
    )
    def resend_credentials(self, request, queryset):
        def resend(integration: Integration, reason: str) -> str:
            return self._issued(credentials_rotate(integration=integration, actor=request.user, reason=reason))

        return self._run(
            request,
            queryset,
            resend,
            action="resend_credentials",
            title="Resend credentials",
            explanation="A resend within the cool-down (or before the schools are ready) needs a reason; it is logged.",
        )

    @admin.action(description="Rotate after a compromise (revoke the old credentials now)", permissions=["change"])
    def rotate_compromised(self, request, queryset):
        def rotate(integration: Integration, reason: str) -> str:
            issued = credentials_rotate(integration=integration, actor=request.user, reason=reason, compromised=True)
            return "old credentials and their tokens revoked; " + self._issued(issued)

        return self._run(
            request,
            queryset,
            rotate,
            action="rotate_compromised",
            title="Rotate compromised credentials",
            explanation="Every current secret and access token of these integrations stops working at once, and "
            "SDS fails until the key contact enters the new credentials. Say what was compromised.",
            reason_always=True,
        )

    @admin.action(description="Suspend (revoke access tokens now)", permissions=["change"])
    def suspend(self, request, queryset):
        def suspend(integration: Integration, reason: str) -> str:
            integration_suspend(integration=integration, actor=request.user, reason=reason)
            return "suspended; its access tokens are revoked."

        return self._run(
            request,
            queryset,
            suspend,
            action="suspend",
            title="Suspend integrations",
            explanation="The API refuses these integrations' clients (401) until they are resumed. Say why.",
            reason_always=True,
        )

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request, queryset):
        for integration in queryset:
            if refusal := step_refusal(integration, STEPS["resume"]):
                self.message_user(request, refusal, messages.ERROR)
                continue
            try:
                resumed = integration_resume(integration=integration, actor=request.user)
            except TransitionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{integration}: resumed, {resumed.get_status_display().lower()}.")


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log of every integration, read-only (support)."""

    list_display = ["at", "integration", "kind", "actor", "ip", "reason", "detail"]
    list_filter = ["kind"]
    list_select_related = ["integration", "actor"]
    search_fields = ["integration__name", "integration__tenant_id", "reason", "detail"]
    date_hierarchy = "at"
    list_per_page = 100
