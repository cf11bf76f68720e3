"""Celery tasks: thin wrappers around the publication and integration services (the beat schedule is in settings)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from lis.alerts import alert_support
from lis.integrations.handoff import handoffs_expire
from lis.integrations.health import integrations_alert_silent
from lis.models import PublicationRun, RunStatus, RunTrigger, SchoolChange
from lis.publication import PublicationInProgress, publish_school, tombstones_purge_expired
from lis.selection.services import selections_sync_all
from lis.selectors import schools_to_publish
from myschool.models import School

logger = logging.getLogger(__name__)

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
    off); a nightly run that fails for good or is held is emailed to support."""
    school = School.objects.get(pk=school_id)
    run = PublicationRun.objects.get(pk=run_id) if run_id else None
    try:
        result = publish_school(school, trigger=trigger, run=run)
    except PublicationInProgress:
        logger.info("Publication of %s skipped: another run is in progress", school)
        return RunStatus.FAILED
    except (OperationalError, InterfaceError):
        if self.request.retries >= self.max_retries and trigger == RunTrigger.NIGHTLY:
            _alert_failed(school)
        raise
    except (Exception, SoftTimeLimitExceeded):
        if trigger == RunTrigger.NIGHTLY:
            _alert_failed(school)
        raise
    if result.status == RunStatus.HELD and trigger == RunTrigger.NIGHTLY:
        alert_support(
            f"Nightly publication of {school} is held",
            f"The nightly publication of {school} was held and wrote nothing:\n\n{result.hold_reason}\n\n"
            "Confirm it in the admin (Administer › Advanced options › Publication runs) once the cause is understood.",
        )
    return result.status


def _alert_failed(school: School) -> None:
    run = PublicationRun.objects.filter(school=school).first()
    alert_support(
        f"Nightly publication of {school} failed",
        f"The nightly publication of {school} failed; the previous publication is still served.\n\n"
        f"Error: {run.error if run else 'unknown'}",
    )


@shared_task
def publish_nightly() -> int:
    """The 00:00 fan-out: one publish task per school that should sync or still has active
    published objects, after bringing every school's selection rows in step with its active
    year (groups created outside the import, the demo and the admin). Returns the number of
    tasks enqueued.

    Every other school's expired tombstones (a school with only tombstones left is not
    published) are purged here, as a run purges its own school's."""
    selections_sync_all()
    school_ids = list(schools_to_publish().values_list("pk", flat=True))
    purged = tombstones_purge_expired(except_school_ids=school_ids)
    if purged:
        logger.info("Nightly: purged %d expired tombstones of schools not published tonight", purged)
    # A school published by no run has nothing to catch up on: switching it on logs a full run.
    SchoolChange.objects.exclude(school_id__in=school_ids).delete()
    for school_id in school_ids:
        publish_school_task.delay(school_id, trigger=RunTrigger.NIGHTLY)
    return len(school_ids)


@shared_task
def publish_changed() -> int:
    """Periodic (``LIS["INCREMENTAL_EVERY_MINUTES"]``): an incremental run for every school to publish
    that has logged changes (:mod:`lis.publication.incremental`); returns the number of tasks enqueued."""
    changed = SchoolChange.objects.values("school_id")
    school_ids = list(schools_to_publish().filter(pk__in=changed).values_list("pk", flat=True))
    for school_id in school_ids:
        publish_school_task.delay(school_id, trigger=RunTrigger.PERIODIC)
    return len(school_ids)


@shared_task
def expire_handoffs() -> int:
    """Hourly: erase the secrets of credential handoffs whose time is up; returns how many."""
    return handoffs_expire()


@shared_task
def alert_silent_integrations() -> int:
    """Daily: email support about active integrations that stopped calling the API; returns how many."""
    return integrations_alert_silent()
