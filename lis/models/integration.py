"""Microsoft tenants connected to MySchool, and the OAuth clients SDS uses for them."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.settings import oauth2_settings

from lis.oneroster import ALL_SCOPES
from myschool.models import School


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
    REQUESTED = "requested", "Requested"
    FEATURES_MAPPED = "features_mapped", "Features mapped"
    ACCEPTED = "accepted", "Accepted by Microsoft"
    CREDENTIALS_ISSUED = "credentials_issued", "Credentials issued"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Integration(models.Model):
    """One Microsoft tenant syncing one or more schools. Its OAuth clients see only these schools."""

    name = models.CharField(max_length=200)
    tenant_id = models.CharField("Microsoft tenant id", max_length=36, unique=True, validators=[validate_tenant_id])
    schools = models.ManyToManyField(School, related_name="integrations")
    key_contact_name = models.CharField(max_length=200)
    key_contact_email = models.EmailField()
    status = models.CharField(max_length=20, choices=IntegrationStatus.choices, default=IntegrationStatus.REQUESTED)
    scopes = models.JSONField(default=default_scopes, help_text="The OAuth scopes its SDS clients may be granted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IntegrationClient(models.Model):
    """Ties a django-oauth-toolkit application (an SDS client) to the integration it reads for."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="clients")
    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="integration_client")
    created_at = models.DateTimeField(auto_now_add=True)
    last_token_at = models.DateTimeField(null=True, blank=True, help_text="When this client last got an access token.")
    last_request_at = models.DateTimeField(null=True, blank=True, help_text="When this client last called the API.")

    def __str__(self) -> str:
        return f"{self.application.client_id} for {self.integration}"


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
