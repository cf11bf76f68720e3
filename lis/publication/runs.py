"""Starting publication runs: every way a run begins, as services its callers invoke in one line.

- :func:`school_publish` — one school's run as the Celery task runs it (``lis.tasks.publish_school_task``):
  a nightly run that fails for good or is held is emailed to support;
- :func:`schools_publish_nightly` — the 00:00 fan-out (``lis.tasks.publish_nightly``);
- :func:`publish_now` and :func:`confirm_held_run` — support's operations (the admin's actions);
- :func:`school_publish_inline` — the ``publish_roster`` command's run of one school.

Support's requests are logged at once as *queued* runs, then handed to Celery
(``publish_school_task``), which runs them on a worker when a broker is configured and inline
otherwise (``CELERY_TASK_ALWAYS_EAGER``). Logging first makes the daily limit hold even when two
clicks arrive before a worker starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, transaction

from lis.alerts import alert_support
from lis.models import PublicationRun, RunStatus, RunTrigger, SchoolChange
from lis.selection.services import selections_sync_all
from myschool.models import School
from myschool.synctime import sync_time

from .selectors import latest_run, schools_to_publish, support_run_allowance
from .service import PublicationInProgress, PublicationResult, publish_school, tombstones_purge_expired

logger = logging.getLogger(__name__)


class OperationRefused(Exception):
    """The operation is not allowed now; the message says why and when it will be."""


# the Celery tasks ---------------------------------------------------------------------------
def school_publish(
    school_id: int, *, trigger: str = RunTrigger.NIGHTLY, run_id: int | None = None, last_attempt: bool = True
) -> str:
    """Publish school ``school_id`` (as ``trigger``, or as the queued run ``run_id``); returns the run's status.

    A run refused because another holds the school's lock returns ``failed``. A nightly run that
    fails, or is held, is emailed to support; a database error (``OperationalError``,
    ``InterfaceError``) only on the ``last_attempt`` (the task retries the others). Errors are re-raised.
    """
    school = School.objects.get(pk=school_id)
    run = PublicationRun.objects.get(pk=run_id) if run_id else None
    nightly = trigger == RunTrigger.NIGHTLY
    try:
        result = publish_school(school, trigger=trigger, run=run)
    except PublicationInProgress:
        logger.info("Publication of %s skipped: another run is in progress", school)
        return RunStatus.FAILED
    except (OperationalError, InterfaceError):
        if last_attempt and nightly:
            _alert_failed(school)
        raise
    except (Exception, SoftTimeLimitExceeded):
        if nightly:
            _alert_failed(school)
        raise
    if result.status == RunStatus.HELD and nightly:
        alert_support(
            f"Nightly publication of {school} is held",
            f"The nightly publication of {school} was held and wrote nothing:\n\n{result.hold_reason}\n\n"
            "Confirm it in the admin (Administer › Advanced options › Publication runs) once the cause is understood.",
        )
    return result.status


def _alert_failed(school: School) -> None:
    run = latest_run(school)  # the run that failed: a request support queued meanwhile has no error yet
    alert_support(
        f"Nightly publication of {school} failed",
        f"The nightly publication of {school} failed; the previous publication is still served.\n\n"
        f"Error: {run.error if run else 'unknown'}",
    )


def schools_publish_nightly() -> int:
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
        _enqueue(school_id, trigger=RunTrigger.NIGHTLY)
    return len(school_ids)


def schools_publish_changed() -> int:
    """Periodic (``LIS["INCREMENTAL_EVERY_MINUTES"]``): an incremental run for every school to publish
    that has logged changes (:mod:`lis.publication.incremental`); returns the number of tasks enqueued."""
    changed = SchoolChange.objects.values("school_id")
    school_ids = list(schools_to_publish().filter(pk__in=changed).values_list("pk", flat=True))
    for school_id in school_ids:
        _enqueue(school_id, trigger=RunTrigger.PERIODIC)
    return len(school_ids)


def _enqueue(school_id: int, **options) -> None:
    from lis.tasks import publish_school_task  # the tasks call this module

    publish_school_task.delay(school_id, **options)


# support's operations -----------------------------------------------------------------------
@transaction.atomic
def _queue(
    school: School, *, user, allow_mass_deletion: bool = False, confirms: PublicationRun | None = None
) -> PublicationRun:
    return PublicationRun.objects.create(
        school=school,
        trigger=RunTrigger.SUPPORT,
        triggered_by=user,
        status=RunStatus.QUEUED,
        allow_mass_deletion=allow_mass_deletion,
        confirms=confirms,
    )


def _dispatch(run: PublicationRun) -> PublicationRun:
    _enqueue(run.school_id, run_id=run.pk)
    run.refresh_from_db()
    return run


def publish_now(school: School, *, user, now: dt.datetime | None = None) -> PublicationRun:
    """Queue an extra publication of ``school`` for support ``user`` and dispatch it.

    Raises :class:`OperationRefused` (saying when the next run is allowed, in the sync zone)
    once the day's allowance is used up. Returns the run (already finished when Celery runs
    tasks inline).
    """
    allowance = support_run_allowance(school, now=now)
    if not allowance.allowed:
        when = allowance.next_allowed_at
        raise OperationRefused(
            f"{school} was already published by support {allowance.used} time(s) today (limit {allowance.limit}). "
            f"The next extra run is allowed from {sync_time(when)}; the nightly run happens then too."
        )
    return _dispatch(_queue(school, user=user))


def confirm_held_run(run: PublicationRun, *, user) -> PublicationRun:
    """Support's confirmation of a held run: a new run that may tombstone beyond the guard.

    Raises :class:`OperationRefused` unless ``run`` is the school's latest run and is held.
    """
    latest = latest_run(run.school_id)
    if run.status != RunStatus.HELD or latest is None or latest.pk != run.pk:
        raise OperationRefused("Only the latest run of a school, when it is held, can be confirmed.")
    with transaction.atomic():
        # Marked at once, so the held run no longer reads "Held for confirmation" and cannot be confirmed twice.
        if not PublicationRun.objects.filter(pk=run.pk, status=RunStatus.HELD).update(status=RunStatus.CONFIRMED):
            raise OperationRefused("Only the latest run of a school, when it is held, can be confirmed.")
        run.status = RunStatus.CONFIRMED
        queued = _queue(run.school, user=user, allow_mass_deletion=True, confirms=run)
    return _dispatch(queued)


# the command ---------------------------------------------------------------------------------
@dataclass
class InlineRun:
    """One school's run by :func:`school_publish_inline`: its ``result``, or why it has none (``error``)."""

    result: PublicationResult | None
    error: str = ""

    @property
    def ok(self) -> bool:
        """Published, or (in a dry run) computed, even if it would be held; not failed or held."""
        return self.result is not None and (not self.result.hold_reason or self.result.status == "dry_run")


def school_publish_inline(
    school: School, *, dry_run: bool = False, incremental: bool = False, progress: Callable[[str, int], None] | None = None
) -> InlineRun:
    """Publish ``school`` in this process (the ``publish_roster`` command), or compute it with ``dry_run``.

    ``incremental`` diffs only what changed since the school's last run (:mod:`lis.publication.incremental`).
    ``progress(kind, n)`` is called after each batch (see :func:`publish_school`). A failure is
    logged on its run and reported in the result's ``error``, never raised, so the command goes
    on with the other schools.
    """
    try:
        result = publish_school(
            school, trigger=RunTrigger.COMMAND, dry_run=dry_run, incremental=incremental, progress=progress
        )
    except PublicationInProgress as exc:
        return InlineRun(None, str(exc))
    except Exception as exc:  # the run is logged as failed; say so and carry on with other schools
        return InlineRun(None, f"Failed: {type(exc).__name__}: {exc}")
    return InlineRun(result)
