"""The integration workflow: every write that moves an integration along, each a guarded,
atomic, logged transition (design.md, *Tenancy and roles* and *Credential handoff*).

    requested → features mapped → accepted by Microsoft → credentials issued → active
    (suspended from any of them; resuming returns to where it was)

Rules the guards enforce:

- no credentials before *accepted by Microsoft*, nor while the schools' readiness reports
  blocking problems (:func:`lis.readiness.readiness_blocking_problems`) unless support gives a reason;
- issuing or resending credentials makes a **new** OAuth client (*pending*) and emails the key
  contact a 24-hour link; the old client keeps working until the new one is confirmed, then it
  is retired (its application deleted, so its secret and tokens die: 401);
- a resend within the cool-down (``LIS["HANDOFF_COOLDOWN_HOURS"]``) needs a reason;
- a *compromise* rotation revokes every existing client and its tokens at once (reason required);
- suspension revokes every access token at once and closes open links; the token endpoint
  refuses the integration's clients until it is resumed.

A link is *single-use* in the sense that matters: it can be revealed again (each reveal is
logged with its IP) until the contact confirms or 24 hours pass; then it is dead for good and
its ciphertext erased. A never-revealed link that dies takes its client with it (nobody can
know that secret).

Every function is keyword-only and atomic, raises :class:`TransitionRefused` (or its
:class:`ReasonRequired`) when a guard says no, and records :class:`~lis.models.IntegrationEvent` rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from lis.conf import lis_setting
from lis.models import (
    ClientState,
    CredentialHandoff,
    EventKind,
    Feature,
    FeatureGrant,
    HandoffOutcome,
    Integration,
    IntegrationClient,
    IntegrationEvent,
    IntegrationStatus,
)
from lis.readiness import readiness_blocking_problems
from myschool.models import School
from myschool.synctime import sync_time

from . import crypto
from .emails import handoff_email_send

logger = logging.getLogger(__name__)
S = IntegrationStatus


class TransitionRefused(Exception):
    """A workflow step is not allowed now; ``str(exc)`` says why, in words support can act on."""


class ReasonRequired(TransitionRefused):
    """The step is allowed only with support's reason; ``problems`` lists what the reason overrides."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("A reason is required: " + " ".join(self.problems))


@dataclass(frozen=True)
class IssuedCredentials:
    """What issuing returns to its caller, in memory only: the plain secret and link are never stored or logged."""

    handoff: CredentialHandoff
    client_id: str
    link: str = field(repr=False)
    client_secret: str = field(repr=False)


def event_record(integration: Integration, kind: str, *, actor=None, at=None, **fields) -> IntegrationEvent:
    """Append one audit-log row (``fields``: ip, handoff, reason, detail); ``at`` defaults to now."""
    return IntegrationEvent.objects.create(
        integration=integration, kind=kind, actor=actor, at=at or timezone.now(), **fields
    )


def integration_locked(integration: Integration) -> Integration:
    """The integration's row, locked until the transaction ends (serializes transitions on PostgreSQL)."""
    return Integration.objects.select_for_update().get(pk=integration.pk)


def _require_status(integration: Integration, allowed: Iterable[str], doing: str) -> None:
    allowed = list(allowed)
    if integration.status not in allowed:
        wanted = " or ".join(str(S(status).label).lower() for status in allowed)
        raise TransitionRefused(
            f"{integration} is {integration.get_status_display().lower()}; {doing} needs it to be {wanted}."
        )


def integration_status_set(integration: Integration, status: str, **fields) -> None:
    """Save ``status`` and the other ``fields`` (name → value) on ``integration``; callers log the event."""
    integration.status = status
    for name, value in fields.items():
        setattr(integration, name, value)
    integration.save(update_fields=["status", *fields])


# --- onboarding ---------------------------------------------------------------------------------


@transaction.atomic
def integration_request(
    *,
    name: str,
    tenant_id: str,
    schools: Iterable[School],
    key_contact_name: str,
    key_contact_email: str,
    actor,
    scopes: list[str] | None = None,
) -> Integration:
    """Register a Microsoft tenant for ``schools`` (status *requested*).

    Raises ``ValidationError`` for a tenant id that is not a GUID or already registered, a bad
    email, or no school.
    """
    schools = list(schools)
    if not schools:
        raise ValidationError({"schools": "Choose at least one school."})
    integration = Integration(
        name=name, tenant_id=tenant_id, key_contact_name=key_contact_name, key_contact_email=key_contact_email
    )
    if scopes is not None:
        integration.scopes = list(scopes)
    integration.full_clean()
    integration.save()
    integration.schools.set(schools)
    event_record(integration, EventKind.REQUESTED, actor=actor, detail=", ".join(str(school) for school in schools))
    return integration


def features_missing(integration: Integration) -> list[str]:
    """One sentence per school of ``integration`` lacking a grant of an LIS feature to some group (two queries)."""
    schools = list(integration.schools.order_by("name"))
    if not schools:
        return ["The integration has no school."]
    granted = set(FeatureGrant.objects.filter(school__in=schools).values_list("school_id", "feature"))
    return [
        f"{school}: {feature.label} is not granted to any group."
        for school in schools
        for feature in Feature
        if (school.pk, feature.value) not in granted
    ]


@transaction.atomic
def integration_map_features(*, integration: Integration, actor) -> Integration:
    """*requested* → *features mapped*, once every school has both LIS features granted to a group."""
    integration = integration_locked(integration)
    _require_status(integration, [S.REQUESTED], "mapping features")
    missing = features_missing(integration)
    if missing:
        raise TransitionRefused(f"{integration}: grant the LIS features first. " + " ".join(missing))
    integration_status_set(integration, S.FEATURES_MAPPED)
    event_record(integration, EventKind.FEATURES_MAPPED, actor=actor)
    return integration


@transaction.atomic
def integration_accept(*, integration: Integration, actor) -> Integration:
    """*features mapped* → *accepted by Microsoft* (support records Microsoft's acceptance)."""
    integration = integration_locked(integration)
    _require_status(integration, [S.FEATURES_MAPPED], "recording Microsoft's acceptance")
    integration_status_set(integration, S.ACCEPTED)
    event_record(integration, EventKind.ACCEPTED, actor=actor)
    return integration


# --- credentials ----------------------------------------------------------------------------------


@transaction.atomic
def credentials_issue(
    *, integration: Integration, actor, reason: str = "", now: dt.datetime | None = None
) -> IssuedCredentials:
    """*accepted by Microsoft* → *credentials issued*: a new SDS client, and its handoff link emailed
    to the key contact. Returns :class:`IssuedCredentials` (the plain secret, for the local demo only).

    Raises :class:`TransitionRefused` before acceptance, and :class:`ReasonRequired` when readiness
    reports blocking problems and ``reason`` is empty.
    """
    integration = integration_locked(integration)
    _require_status(integration, [S.ACCEPTED], "issuing credentials")
    problems = readiness_blocking_problems(integration)
    if problems and not reason.strip():
        raise ReasonRequired(["The schools are not ready:", *problems])
    issued = _hand_over(
        integration, actor=actor, reason=reason, now=now or timezone.now(), kind=EventKind.ISSUED, detail=""
    )
    integration_status_set(integration, S.CREDENTIALS_ISSUED)
    return issued


@transaction.atomic
def credentials_rotate(
    *, integration: Integration, actor, reason: str = "", compromised: bool = False, now: dt.datetime | None = None
) -> IssuedCredentials:
    """Resend = rotate: a new client and link for an integration whose credentials were issued or are active.

    Ordinarily the old clients keep working until the new one is confirmed. With ``compromised``
    every existing client is retired at once (secrets and access tokens dead: 401) and the
    integration waits in *credentials issued* for the confirmation.

    Raises :class:`TransitionRefused` in other states, and :class:`ReasonRequired` when ``reason``
    is empty and: this is a compromise; or the last link was sent within the cool-down; or the
    integration is not yet active and readiness reports blocking problems.
    """
    now = now or timezone.now()
    integration = integration_locked(integration)
    _require_status(integration, [S.CREDENTIALS_ISSUED, S.ACTIVE], "resending credentials")
    problems: list[str] = []
    if compromised:
        problems.append("Say what was compromised: the current credentials stop working at once.")
    else:
        last = integration.handoffs.order_by("-created_at").values_list("created_at", flat=True).first()
        cooldown = dt.timedelta(hours=lis_setting("HANDOFF_COOLDOWN_HOURS"))
        if last is not None and now - last < cooldown:
            problems.append(
                f"Credentials were last sent at {sync_time(last)}; "
                f"the cool-down runs until {sync_time(last + cooldown)}."
            )
        if integration.status != S.ACTIVE:
            problems += readiness_blocking_problems(integration)
    if problems and not reason.strip():
        raise ReasonRequired(problems)
    if compromised:
        for handoff in integration.handoffs.filter(outcome=HandoffOutcome.OPEN).select_related("client__integration"):
            handoff_close(handoff, HandoffOutcome.REVOKED, now=now)
        clients_retire(
            integration.clients.exclude(state=ClientState.RETIRED).select_related("integration"),
            now=now,
            actor=actor,
            reason=reason,
            detail="Revoked at once: credentials compromised.",
        )
        integration_status_set(integration, S.CREDENTIALS_ISSUED, silence_alerted_at=None)
        detail = "Compromise: every earlier client was revoked at once."
    else:
        detail = "The earlier clients keep working until this one is confirmed."
    return _hand_over(integration, actor=actor, reason=reason, now=now, kind=EventKind.ROTATED, detail=detail)


def _hand_over(
    integration: Integration, *, actor, reason: str, now: dt.datetime, kind: str, detail: str
) -> IssuedCredentials:
    """Create the pending client and its handoff, close older open links; email the contact when
    the caller's transaction commits (``transaction.on_commit``)."""
    for older in integration.handoffs.filter(outcome=HandoffOutcome.OPEN).select_related("client"):
        handoff_close(older, HandoffOutcome.SUPERSEDED, now=now)
    secret = generate_client_secret()
    token = crypto.new_token()
    application = Application(
        name=f"SDS: {integration.name}"[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    # Sealed before the first save: saving replaces client_secret by its one-way hash.
    sealed = crypto.seal(secret, token=token, client_id=application.client_id)
    application.client_secret = secret
    application.save()
    client = IntegrationClient.objects.create(
        integration=integration, application=application, client_id=application.client_id, state=ClientState.PENDING
    )
    handoff = CredentialHandoff.objects.create(
        integration=integration,
        client=client,
        token_sha256=crypto.token_digest(token),
        ciphertext=sealed,
        created_at=now,
        created_by=actor,
        reason=reason,
        expires_at=now + dt.timedelta(hours=lis_setting("HANDOFF_VALID_HOURS")),
    )
    link = crypto.handoff_link(token)
    event_record(
        integration,
        kind,
        actor=actor,
        at=now,
        handoff=handoff,
        reason=reason,
        detail=f"Client {client.client_id}. {detail}",
    )
    # Emailed once everything is committed: a rolled-back issue must never leave a link in an inbox.
    transaction.on_commit(lambda: handoff_email_send(integration=integration, handoff=handoff, link=link))
    return IssuedCredentials(handoff=handoff, client_id=client.client_id, link=link, client_secret=secret)


def handoff_close(handoff: CredentialHandoff, outcome: str, *, now: dt.datetime) -> None:
    """End ``handoff`` with ``outcome`` and erase its ciphertext. A never-revealed handoff that did
    not end in confirmation retires its client (nobody can know that secret) unless the client is
    working (it has taken a token): an unconfirmed new client never cuts off a working one; only
    a compromise rotation (:func:`credentials_rotate`) or a suspension does."""
    handoff.outcome = outcome
    handoff.closed_at = now
    handoff.ciphertext = b""
    handoff.save(update_fields=["outcome", "closed_at", "ciphertext"])
    if outcome != HandoffOutcome.CONFIRMED and handoff.revealed_at is None and handoff.client.last_token_at is None:
        clients_retire([handoff.client], now=now, actor=None, reason="", detail="Its link was never opened.")


def clients_retire(clients: Iterable[IntegrationClient], *, now: dt.datetime, actor, reason: str, detail: str) -> int:
    """Retire ``clients``: delete their applications (and so every access token) and log it."""
    count = 0
    for client in list(clients):
        if client.state == ClientState.RETIRED:
            continue
        application_id = client.application_id
        client.application = None
        client.state = ClientState.RETIRED
        client.retired_at = now
        client.save(update_fields=["application", "state", "retired_at"])
        if application_id is not None:
            Application.objects.filter(pk=application_id).delete()
        event_record(
            client.integration,
            EventKind.RETIRED,
            actor=actor,
            at=now,
            reason=reason,
            detail=f"Client {client.client_id}. {detail}",
        )
        count += 1
    return count


# --- suspension -----------------------------------------------------------------------------------


@transaction.atomic
def integration_suspend(
    *, integration: Integration, actor, reason: str = "", now: dt.datetime | None = None
) -> Integration:
    """Any status → *suspended*: every access token of its clients is revoked at once (the API then
    answers 401), the token endpoint refuses its clients, open links die. Raises
    :class:`TransitionRefused` when already suspended."""
    now = now or timezone.now()
    integration = integration_locked(integration)
    if integration.status == S.SUSPENDED:
        raise TransitionRefused(f"{integration} is already suspended.")
    applications = Application.objects.filter(integration_client__integration=integration)
    revoked = AccessToken.objects.filter(application__in=applications).delete()[1].get(AccessToken._meta.label, 0)
    RefreshToken.objects.filter(application__in=applications).delete()
    for handoff in integration.handoffs.filter(outcome=HandoffOutcome.OPEN).select_related("client__integration"):
        handoff_close(handoff, HandoffOutcome.REVOKED, now=now)
    integration_status_set(integration, S.SUSPENDED, suspended_from=integration.status)
    event_record(
        integration, EventKind.SUSPENDED, actor=actor, at=now, reason=reason, detail=f"Access tokens revoked: {revoked}."
    )
    return integration


@transaction.atomic
def integration_resume(*, integration: Integration, actor, now: dt.datetime | None = None) -> Integration:
    """*suspended* → the status it was suspended from (*accepted by Microsoft* when that needed
    credentials it no longer has). Raises :class:`TransitionRefused` unless suspended."""
    now = now or timezone.now()
    integration = integration_locked(integration)
    _require_status(integration, [S.SUSPENDED], "resuming")
    target = integration.suspended_from or S.REQUESTED
    live = integration.clients.filter(application__isnull=False)
    if target in (S.CREDENTIALS_ISSUED, S.ACTIVE) and not live.exists():
        target = S.ACCEPTED
    fields = {"suspended_from": ""}
    if target == S.ACTIVE:
        fields.update(active_since=now, silence_alerted_at=None)
    integration_status_set(integration, target, **fields)
    event_record(
        integration, EventKind.RESUMED, actor=actor, at=now, detail=f"Back to {integration.get_status_display()}."
    )
    return integration
