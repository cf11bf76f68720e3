"""The LIS integration: sync selection, Microsoft tenants and the published OneRoster records."""

from .integration import (
    ClientState,
    CredentialHandoff,
    EventKind,
    HandoffOutcome,
    Integration,
    IntegrationClient,
    IntegrationEvent,
    IntegrationStatus,
    MicrosoftDomain,
    validate_tenant_id,
)
from .publication import (
    Kind,
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
    "ClientState",
    "CredentialHandoff",
    "EventKind",
    "CourseSelection",
    "Feature",
    "FeatureGrant",
    "HandoffOutcome",
    "Integration",
    "IntegrationClient",
    "IntegrationEvent",
    "IntegrationStatus",
    "Kind",
    "MicrosoftDomain",
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
