"""Celery tasks: one-line callers of the publication and integration services (the beat schedule is in settings)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from lis.integrations.handoff import handoffs_expire
from lis.integrations.health import integrations_alert_silent
from lis.models import RunTrigger
from lis.publication.runs import school_publish, schools_publish_changed, schools_publish_nightly

SOFT_TIME_LIMIT = 2 * 3600
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 300


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=3,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
    acks_late=True,
)
def publish_school_task(self, school_id: int, *, trigger: str = RunTrigger.NIGHTLY, run_id: int | None = None) -> str:
    """Publish one school; returns the run's status. Database errors are retried (3 times, backing
    off); a nightly run that fails for good or is held is emailed to support (:func:`school_publish`)."""
    last_attempt = self.request.retries >= self.max_retries
    return school_publish(school_id, trigger=trigger, run_id=run_id, last_attempt=last_attempt)


@shared_task
def publish_nightly() -> int:
    """The 00:00 fan-out (:func:`~lis.publication.runs.schools_publish_nightly`); returns how many tasks it enqueued."""
    return schools_publish_nightly()


@shared_task
def publish_changed() -> int:
    """Periodic: incremental runs of the schools with logged changes (:func:`schools_publish_changed`)."""
    return schools_publish_changed()


@shared_task
def expire_handoffs() -> int:
    """Hourly: erase the secrets of credential handoffs whose time is up; returns how many."""
    return handoffs_expire()


@shared_task
def alert_silent_integrations() -> int:
    """Daily: email support about active integrations that stopped calling the API; returns how many."""
    return integrations_alert_silent()
