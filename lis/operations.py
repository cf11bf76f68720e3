"""Support's operations on publications: "publish now" (limited per day) and confirming held runs.

A request is logged at once as a *queued* run, then handed to Celery (``publish_school_task``),
which runs it on a worker when a broker is configured and inline otherwise
(``CELERY_TASK_ALWAYS_EAGER``). Logging first makes the daily limit hold even when two clicks
arrive before a worker starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import PublicationRun, RunStatus, RunTrigger
from myschool.models import School
from myschool.synctime import sync_time, sync_zone


class OperationRefused(Exception):
    """The operation is not allowed now; the message says why and when it will be."""


@dataclass(frozen=True)
class Allowance:
    """Whether support may publish a school now; if not, ``next_allowed_at`` (aware, sync zone)."""

    allowed: bool
    used: int
    limit: int
    next_allowed_at: dt.datetime | None




def local_day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The start of ``now``'s calendar day in the sync zone and the start of the next one (aware)."""
    local = now.astimezone(sync_zone())
    start = dt.datetime.combine(local.date(), dt.time(0), tzinfo=sync_zone())
    end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=sync_zone())
    return start, end


def support_run_allowance(school: School, *, now: dt.datetime | None = None) -> Allowance:
    """How many extra runs support has started for ``school`` on ``now``'s day in the sync zone,
    against ``LIS["SUPPORT_RUNS_PER_DAY"]``. Confirmations of held runs do not count."""
    now = now or timezone.now()
    start, end = local_day_bounds(now)
    used = (
        PublicationRun.objects.filter(school=school, trigger=RunTrigger.SUPPORT, confirms__isnull=True)
        .filter(started_at__gte=start, started_at__lt=end)
        .count()
    )
    limit = lis_setting("SUPPORT_RUNS_PER_DAY")
    allowed = used < limit
    return Allowance(allowed, used, limit, None if allowed else end)


@transaction.atomic
def _queue(school: School, *, user, allow_mass_deletion: bool = False, confirms: PublicationRun | None = None) -> PublicationRun:
    return PublicationRun.objects.create(
        school=school,
        trigger=RunTrigger.SUPPORT,
        triggered_by=user,
        status=RunStatus.QUEUED,
        allow_mass_deletion=allow_mass_deletion,
        confirms=confirms,
    )


def _dispatch(run: PublicationRun) -> PublicationRun:
    from lis.tasks import publish_school_task

    publish_school_task.delay(run.school_id, run_id=run.pk)
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
    latest = PublicationRun.objects.started().filter(school=run.school_id).first()
    if run.status != RunStatus.HELD or latest is None or latest.pk != run.pk:
        raise OperationRefused("Only the latest run of a school, when it is held, can be confirmed.")
    with transaction.atomic():
        # Marked at once, so the held run no longer reads "Held for confirmation" and cannot be confirmed twice.
        if not PublicationRun.objects.filter(pk=run.pk, status=RunStatus.HELD).update(status=RunStatus.CONFIRMED):
            raise OperationRefused("Only the latest run of a school, when it is held, can be confirmed.")
        run.status = RunStatus.CONFIRMED
        queued = _queue(run.school, user=user, allow_mass_deletion=True, confirms=run)
    return _dispatch(queued)
