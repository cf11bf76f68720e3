"""The OneRoster publication: mapping MySchool data, diffing it with the store, writing runs."""

from .mapping import PublishedRecord, homeroom_course_id
from .service import (
    KindChanges,
    MassDeletionHeld,
    PublicationError,
    PublicationInProgress,
    PublicationResult,
    publish_school,
    published_objects_delete,
    tombstones_purge_expired,
)

__all__ = [
    "KindChanges",
    "MassDeletionHeld",
    "PublicationError",
    "PublicationInProgress",
    "PublicationResult",
    "PublishedRecord",
    "homeroom_course_id",
    "publish_school",
    "published_objects_delete",
    "tombstones_purge_expired",
]
