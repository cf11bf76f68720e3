"""The integration's lifecycle buttons on its own change page (support).

Each step — map features, accepted by Microsoft, issue credentials, resend, rotate after a
compromise, suspend, resume — is an object-tool on the integration's page, shown only when it
applies to the current status. The button opens a confirmation page (:mod:`lis.admin.confirm`)
saying what will happen; only its *Confirm* POST calls the one service in
:mod:`lis.integrations.services`. A step that needs a reason asks for it on that page. A step
that does not apply (a bookmarked URL, a list action on the wrong integration) is refused in
plain words ("Credentials are already issued; use Resend or Rotate") rather than the
workflow's internal status names.

The changelist's actions (:func:`lifecycle_action`) run the very same steps through
:func:`step_run` and ask for a reason on the same confirmation page, for several integrations at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse

from myschool.synctime import sync_time

from ..integrations.services import (
    ReasonRequired,
    TransitionRefused,
    credentials_issue,
    credentials_rotate,
    integration_accept,
    integration_map_features,
    integration_resume,
    integration_suspend,
)
from ..models import Integration, IntegrationStatus
from .confirm import confirmation_page, confirmed

S = IntegrationStatus
ISSUED = (S.CREDENTIALS_ISSUED, S.ACTIVE)


@dataclass(frozen=True)
class LifecycleStep:
    """One button: ``perform(integration, actor, reason)`` calls the service and returns what happened.

    ``applies``: the statuses in which the step is offered. ``consequences``: the confirmation
    page's lines. ``reason_always``: the page always asks for a reason (otherwise only when the
    service says one is needed).
    """

    name: str
    label: str
    applies: tuple[str, ...]
    consequences: tuple[str, ...]
    perform: Callable[[Integration, object, str], str]
    reason_always: bool = False
    danger: bool = False


def _issued_text(issued) -> str:
    integration = issued.handoff.integration
    return (
        f"new client {issued.client_id}; {integration.key_contact_email} was emailed a link "
        f"valid until {sync_time(issued.handoff.expires_at)}."
    )


def _map(integration, actor, reason):
    integration_map_features(integration=integration, actor=actor)
    return "features mapped."


def _accept(integration, actor, reason):
    integration_accept(integration=integration, actor=actor)
    return "accepted by Microsoft."


def _issue(integration, actor, reason):
    return _issued_text(credentials_issue(integration=integration, actor=actor, reason=reason))


def _resend(integration, actor, reason):
    return _issued_text(credentials_rotate(integration=integration, actor=actor, reason=reason))


def _rotate(integration, actor, reason):
    issued = credentials_rotate(integration=integration, actor=actor, reason=reason, compromised=True)
    return "old credentials and their tokens revoked; " + _issued_text(issued)


def _suspend(integration, actor, reason):
    integration_suspend(integration=integration, actor=actor, reason=reason)
    return "suspended; its access tokens are revoked."


def _resume(integration, actor, reason):
    resumed = integration_resume(integration=integration, actor=actor)
    return f"resumed, {resumed.get_status_display().lower()}."


STEPS: dict[str, LifecycleStep] = {
    step.name: step
    for step in (
        LifecycleStep(
            "map_features",
            "Map features",
            (S.REQUESTED,),
            ("Records that each school granted the LIS Courses and LIS Classes features to a group of its own.",),
            _map,
        ),
        LifecycleStep(
            "accept",
            "Accepted by Microsoft",
            (S.FEATURES_MAPPED,),
            ("Records that Microsoft accepted this tenant's School Data Sync request.",),
            _accept,
        ),
        LifecycleStep(
            "issue_credentials",
            "Issue credentials",
            (S.ACCEPTED,),
            (
                "Creates a client id and secret for this tenant's School Data Sync and emails the key contact "
                "a link to collect them. The secret is never shown here.",
            ),
            _issue,
        ),
        LifecycleStep(
            "resend_credentials",
            "Resend credentials",
            ISSUED,
            (
                "Creates a new client id and secret and emails the key contact a new link.",
                "The earlier credentials keep working until the key contact confirms the new ones.",
            ),
            _resend,
        ),
        LifecycleStep(
            "rotate_compromised",
            "Rotate after a compromise",
            ISSUED,
            (
                "Every current secret and access token of this integration stops working now: School Data Sync "
                "fails until the key contact enters the new credentials.",
                "A new client id and secret are emailed to the key contact as a link.",
            ),
            _rotate,
            reason_always=True,
            danger=True,
        ),
        LifecycleStep(
            "suspend",
            "Suspend",
            (S.REQUESTED, S.FEATURES_MAPPED, S.ACCEPTED, *ISSUED),
            (
                "The API refuses this integration's clients (401) and its access tokens are revoked now, until it "
                "is resumed. Open credential links stop working.",
            ),
            _suspend,
            reason_always=True,
            danger=True,
        ),
        LifecycleStep(
            "resume",
            "Resume",
            (S.SUSPENDED,),
            ("Returns the integration to the step it was suspended from.",),
            _resume,
        ),
    )
}

_NOT_NOW = {
    ("map_features", S.SUSPENDED): "It is suspended; resume it first.",
    ("accept", S.REQUESTED): "Map the features first: Microsoft is asked only after that.",
    ("accept", S.SUSPENDED): "It is suspended; resume it first.",
    ("issue_credentials", S.REQUESTED): "Microsoft has not accepted it yet: map the features, then mark it accepted.",
    ("issue_credentials", S.FEATURES_MAPPED): "Microsoft has not accepted it yet: mark it accepted by Microsoft first.",
    ("issue_credentials", S.CREDENTIALS_ISSUED): "Credentials are already issued; use Resend or Rotate.",
    ("issue_credentials", S.ACTIVE): "Credentials are already issued; use Resend or Rotate.",
    ("issue_credentials", S.SUSPENDED): "It is suspended; resume it first.",
    ("suspend", S.SUSPENDED): "It is already suspended.",
}


def step_refusal(integration: Integration, step: LifecycleStep) -> str:
    """Why ``step`` does not apply to ``integration`` now, in plain words; "" when it does."""
    status = integration.status
    if status in step.applies:
        return ""
    if text := _NOT_NOW.get((step.name, status)):
        return f"{integration}: {text}"
    if step.name in ("map_features", "accept"):
        return f"{integration}: this step is already done (it is {integration.get_status_display().lower()})."
    if step.name in ("resend_credentials", "rotate_compromised"):
        if status == S.SUSPENDED:
            return f"{integration}: it is suspended; resume it first."
        return f"{integration}: no credentials were issued yet, so there is nothing to resend or rotate."
    if step.name == "resume":
        return f"{integration}: it is not suspended."
    return f"{integration}: {step.label} does not apply now."


# Shown when PUBLIC_BASE_URL cannot make a safe link (crypto.public_url): a deployment problem, not support's.
NO_SAFE_LINK = (
    "{integration}: nothing was sent. This server's public address (PUBLIC_BASE_URL) is not an https:// "
    "address, so the emailed link would not be safe. Ask whoever runs MySchool's servers to set it, then try again."
)
REASON_NEEDED = "Give a reason. It is kept in the audit log."


@dataclass(frozen=True)
class StepOutcome:
    """What :func:`step_run` did: a message (``level``, ``text``) or, when ``problems`` is not empty,
    nothing yet because the service wants a reason for them (``level`` is then None)."""

    level: int | None
    text: str
    problems: list[str] = field(default_factory=list)


def step_run(integration: Integration, step: LifecycleStep, actor, reason: str = "") -> StepOutcome:
    """Perform ``step`` on ``integration`` unless it does not apply; never raises for a refusal.

    A refusal of the workflow (:class:`TransitionRefused`) or a server that cannot build a safe
    link (``ImproperlyConfigured`` from ``PUBLIC_BASE_URL``) is an error message; the service's
    transaction has then written nothing.
    """
    if refusal := step_refusal(integration, step):
        return StepOutcome(messages.ERROR, refusal)
    try:
        done = step.perform(integration, actor, reason)
    except ReasonRequired as exc:
        return StepOutcome(None, str(exc), list(exc.problems))
    except TransitionRefused as exc:
        return StepOutcome(messages.ERROR, str(exc))
    except ImproperlyConfigured:
        return StepOutcome(messages.ERROR, NO_SAFE_LINK.format(integration=integration))
    return StepOutcome(messages.SUCCESS, f"{integration}: {done}")


def steps_for(integration: Integration) -> list[LifecycleStep]:
    """The steps that apply to ``integration``'s current status, in workflow order."""
    return [step for step in STEPS.values() if integration.status in step.applies]


class LifecycleToolsMixin:
    """``ModelAdmin`` mixin for :class:`Integration`: the lifecycle object-tools and their confirmation pages.

    URL ``<pk>/lifecycle/<step>/``: GET shows the confirmation page, a POST with ``confirm=yes``
    (and ``reason`` when asked) performs the step and returns to the change page with a message.
    """

    def get_urls(self):
        view = self.admin_site.admin_view(self.lifecycle_view)
        return [
            path("<path:object_id>/lifecycle/<str:step>/", view, name="lis_integration_lifecycle"),
            *super().get_urls(),
        ]

    def lifecycle_tools(self, request, obj) -> list[dict]:
        """The object-tools of ``obj``'s change page: ``[{"label", "url", "danger"}]``, only the steps that apply."""
        if obj is None or not self.has_change_permission(request, obj):
            return []
        return [
            {
                "label": step.label,
                "url": reverse("admin:lis_integration_lifecycle", args=[obj.pk, step.name]),
                "danger": step.danger,
                "name": step.name,
            }
            for step in steps_for(obj)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        extra_context = {**(extra_context or {}), "lis_lifecycle_tools": self.lifecycle_tools(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def lifecycle_view(self, request, object_id: str, step: str):
        integration = self.get_object(request, unquote(object_id))
        if integration is None or step not in STEPS:
            raise Http404("No such integration or step.")
        if not self.has_change_permission(request, integration):
            raise PermissionDenied
        chosen = STEPS[step]
        back = reverse("admin:lis_integration_change", args=[integration.pk])
        if refusal := step_refusal(integration, chosen):
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(back)
        reason = request.POST.get("reason", "").strip()
        error, problems = "", []
        if confirmed(request):
            if chosen.reason_always and not reason:
                error = REASON_NEEDED
            else:
                outcome = step_run(integration, chosen, request.user, reason)
                if not outcome.problems:
                    self.message_user(request, outcome.text, outcome.level)
                    return HttpResponseRedirect(back)
                problems, error = outcome.problems, "Give a reason to go ahead: it is kept in the audit log."
        return confirmation_page(
            request,
            self,
            title=f"{chosen.label}: {integration}?",
            consequences=list(chosen.consequences),
            items=problems,
            button=f"Yes, {chosen.label[0].lower()}{chosen.label[1:]}",
            back_url=back,
            danger=chosen.danger,
            reason_field=chosen.reason_always or bool(problems),
            reason=reason,
            error=error,
        )

    def lifecycle_action(self, request, queryset, step: str):
        """A changelist action: ``step`` for each selected integration, with one confirmation page
        (posting back ``apply`` and the reason) when a reason is needed first or the services ask for one."""
        chosen = STEPS[step]
        applying = "apply" in request.POST
        reason = request.POST.get("reason", "").strip() if applying else ""
        integrations = list(queryset)
        if chosen.reason_always and not reason:
            return self._reason_page(request, chosen, integrations, [], REASON_NEEDED if applying else "")
        needing = []
        for integration in integrations:
            outcome = step_run(integration, chosen, request.user, reason)
            if outcome.problems:
                needing.append((integration, outcome.problems))
            else:
                self.message_user(request, outcome.text, outcome.level)
        if needing:
            items = [f"{integration}: {problem}" for integration, problems in needing for problem in problems]
            error = REASON_NEEDED if applying else ""
            return self._reason_page(request, chosen, [integration for integration, _ in needing], items, error)
        return None

    def _reason_page(self, request, step: LifecycleStep, integrations: list, items: list[str], error: str):
        names = ", ".join(str(integration) for integration in integrations)
        return confirmation_page(
            request,
            self,
            title=f"{step.label}: {names}?",
            consequences=list(step.consequences),
            items=items,
            action=step.name,
            selected=[integration.pk for integration in integrations],
            hidden={"apply": "1"},
            button=f"Yes, {step.label[0].lower()}{step.label[1:]}",
            back_url=reverse("admin:lis_integration_changelist"),
            danger=step.danger,
            reason_field=True,
            reason=request.POST.get("reason", "").strip(),
            error=error,
        )


def lifecycle_admin_action(step: str, description: str):
    """The changelist action ``step`` (``ModelAdmin.actions`` lists it by name) for :class:`LifecycleToolsMixin`."""

    @admin.action(description=description, permissions=["change"])
    def action(model_admin, request, queryset):
        return model_admin.lifecycle_action(request, queryset, step)

    action.__name__ = step
    return action
