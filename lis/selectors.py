"""Read paths of the LIS app, shared by the admin, the commands, the tasks and the API."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from lis.models import PublishedObject, PublishedStatus
from myschool.models import School


def schools_to_publish() -> QuerySet[School]:
    """Schools a nightly run publishes: those that should sync, and those that still have
    active published objects (so switching a school off publishes its tombstones once)."""
    published = PublishedObject.objects.filter(school=OuterRef("pk"), status=PublishedStatus.ACTIVE)
    return (
        School.objects.filter(Q(sync_settings__should_sync=True) | Q(Exists(published)))
        .select_related("active_year", "group", "sync_settings")
        .order_by("code")
    )
