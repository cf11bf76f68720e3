"""Microsoft tenants connected to MySchool, the OAuth clients SDS uses for them, the credential
handoffs that deliver those clients' secrets, and the audit log of it all (design.md, *Credential handoff*)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from lis.oneroster import ALL_SCOPES
from myschool.models import School
from myschool.synctime import sync_time


def validate_tenant_id(value: str) -> None:
    """A Microsoft tenant id is a GUID such as ``72f988bf-86f1-41af-91ab-2d7cd011db47``."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValidationError("A Microsoft tenant id is a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47.") from None
    if len(value) != 36:
        raise ValidationError("Write the tenant id as 36 characters with hyphens.")


def default_scopes() -> list[str]:
    """Every OneRoster scope; demographics still need the school's *share demographics* switch."""
    return list(ALL_SCOPES)


class IntegrationStatus(models.TextChoices):
    """The onboarding steps schools are told about, in order; *suspended* can follow any of them."""

    REQUESTED = "requested", "Requested"
    FEATURES_MAPPED = "features_mapped", "Features mapped"
    ACCEPTED = "accepted", "Accepted by Microsoft"
    CREDENTIALS_ISSUED = "credentials_issued", "Credentials issued"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Integration(models.Model):
    """One Microsoft tenant syncing one or more schools. Its OAuth clients see only these schools.

    ``status`` changes only through :mod:`lis.integrations.services`, which logs every change
    as an :class:`IntegrationEvent`. ``suspended_from`` remembers the status a suspension
    interrupted (resuming returns to it); ``active_since`` is when it last became active
    (confirmation or resumption); ``silence_alerted_at`` is when support was last told that it
    stopped calling the API (one email per silence).
    """

    name = models.CharField(max_length=200)
    tenant_id = models.CharField("Microsoft tenant id", max_length=36, unique=True, validators=[validate_tenant_id])
    schools = models.ManyToManyField(School, related_name="integrations")
    key_contact_name = models.CharField(max_length=200)
    key_contact_email = models.EmailField(help_text="Receives the credential handoff link.")
    status = models.CharField(max_length=20, choices=IntegrationStatus.choices, default=IntegrationStatus.REQUESTED)
    scopes = models.JSONField(default=default_scopes, help_text="The OAuth scopes its SDS clients may be granted.")
    created_at = models.DateTimeField(auto_now_add=True)
    suspended_from = models.CharField(max_length=20, choices=IntegrationStatus.choices, blank=True, editable=False)
    active_since = models.DateTimeField(null=True, blank=True, editable=False)
    silence_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    tenant_tombstones_until = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Until when tombstone copies for this tenant alone may exist (lis.publication.tenants).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "Microsoft integration"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.tenant_id = (self.tenant_id or "").strip().lower()


class ClientState(models.TextChoices):
    """Where an SDS client is in its life: handed over, confirmed in SDS, or revoked."""

    PENDING = "pending", "Pending confirmation"
    CURRENT = "current", "Current"
    RETIRED = "retired", "Retired"


class IntegrationClient(models.Model):
    """Ties a django-oauth-toolkit application (an SDS client) to the integration it reads for.

    A new client is *pending* until the key contact confirms its handoff; it then becomes
    *current* and every other client of the integration is *retired*. Retiring deletes the
    application (and with it every access token), so a retired client gets 401 everywhere;
    this row stays for the health page and the audit log, ``client_id`` keeping its id.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="clients")
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="integration_client",
    )
    client_id = models.CharField(
        max_length=100, blank=True, help_text="The application's client id, kept after retirement."
    )
    state = models.CharField(max_length=10, choices=ClientState.choices, default=ClientState.CURRENT)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    last_token_at = models.DateTimeField(null=True, blank=True, help_text="When this client last got an access token.")
    last_request_at = models.DateTimeField(null=True, blank=True, help_text="When this client last called the API.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.client_id or self.application_id} for {self.integration_id} ({self.state})"

    def save(self, *args, **kwargs):
        if not self.client_id and self.application_id:
            self.client_id = self.application.client_id
        super().save(*args, **kwargs)


class HandoffOutcome(models.TextChoices):
    """How a credential handoff ended; only an *open* one can be revealed."""

    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Confirmed in SDS"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Replaced by a newer link"
    REVOKED = "revoked", "Revoked"


class CredentialHandoff(models.Model):
    """One emailed link that reveals one client's secret to the integration's key contact.

    The plain secret is never stored: ``ciphertext`` is AES-GCM (nonce ‖ ciphertext) under a key
    derived from the link's token (:mod:`lis.integrations.handoff`), and ``token_sha256`` (hex) finds
    the row from the token. Closing the handoff (confirmed, expired, superseded, revoked) erases
    the ciphertext, after which nobody can recover the secret.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="handoffs")
    client = models.ForeignKey(IntegrationClient, on_delete=models.CASCADE, related_name="handoffs")
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    ciphertext = models.BinaryField(blank=True, default=b"", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why support overrode the cool-down or readiness, if it did.")
    expires_at = models.DateTimeField()
    revealed_at = models.DateTimeField(null=True, blank=True, help_text="The first reveal.")
    revealed_ip = models.GenericIPAddressField(null=True, blank=True, help_text="Where the latest reveal came from.")
    reveal_count = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=HandoffOutcome.choices, default=HandoffOutcome.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "expires_at"], name="handoff_outcome_expires")]

    def __str__(self) -> str:
        return f"Handoff of {self.client.client_id if self.client_id else '?'} ({self.get_outcome_display()})"


class EventKind(models.TextChoices):
    """What an :class:`IntegrationEvent` records."""

    REQUESTED = "requested", "Requested"
    FEATURES_MAPPED = "features_mapped", "Features mapped"
    ACCEPTED = "accepted", "Accepted by Microsoft"
    ISSUED = "issued", "Credentials issued"
    ROTATED = "rotated", "Credentials rotated"
    REVEALED = "revealed", "Credentials revealed"
    CONFIRMED = "confirmed", "Credentials confirmed in SDS"
    EXPIRED = "expired", "Handoff expired"
    RETIRED = "retired", "Client retired"
    SUSPENDED = "suspended", "Suspended"
    RESUMED = "resumed", "Resumed"
    SILENCE_ALERTED = "silence_alerted", "Support alerted: no API requests"


class IntegrationEvent(models.Model):
    """The audit log of an integration: who (``actor``; empty for the key contact or the system)
    did what, when, from where (``ip``, for reveals and confirmations) and why (``reason``)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    handoff = models.ForeignKey(
        CredentialHandoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    reason = models.TextField(blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["integration", "-at"], name="integrationevent_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {sync_time(self.at)}"


class MicrosoftDomain(models.Model):
    """An email domain verified in the integration's Microsoft tenant (e.g. ``contoso.example``)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "domain"], name="microsoftdomain_once")]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
