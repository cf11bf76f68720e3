"""The LIS integration: sync selection, Microsoft tenants and the published OneRoster records."""

from .integration import Integration, IntegrationClient, IntegrationStatus, MicrosoftDomain, validate_tenant_id
from .publication import (
    Kind,
    PublicationLock,
    PublicationRun,
    PublishedObject,
    PublishedReference,
    PublishedStatus,
    RunStatus,
    RunTrigger,
)
from .selection import ClassSelection, CourseSelection, Feature, FeatureGrant, SchoolSyncSettings, SelectionChange, UsersToPublish

__all__ = [
    "ClassSelection",
    "CourseSelection",
    "Feature",
    "FeatureGrant",
    "Integration",
    "IntegrationClient",
    "IntegrationStatus",
    "Kind",
    "MicrosoftDomain",
    "PublicationLock",
    "PublicationRun",
    "PublishedObject",
    "PublishedReference",
    "PublishedStatus",
    "RunStatus",
    "RunTrigger",
    "SchoolSyncSettings",
    "SelectionChange",
    "UsersToPublish",
    "validate_tenant_id",
]
