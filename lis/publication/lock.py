"""One publication per school at a time, on PostgreSQL and SQLite alike.

The lock is a row per school taken by a conditional UPDATE (``… WHERE holder = '' OR
expires_at < now``): the database serialises the UPDATE, exactly one caller sees one row
changed. ``select_for_update`` would do nothing on SQLite. Call these outside the run's
transaction so other processes see the lock at once.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import PublicationLock, PublicationRun, RunStatus


def lock_acquire(*, school_id: int, holder: str) -> bool:
    """Take the publication lock of school ``school_id`` for ``holder`` (a run id); False if held.

    A lock older than ``LIS["LOCK_TIMEOUT_SECONDS"]`` is taken over (its worker died), and the
    run that held it is marked failed.
    """
    try:
        with transaction.atomic():
            PublicationLock.objects.get_or_create(school_id=school_id)
    except IntegrityError:  # created concurrently by another caller: fine, it exists now
        pass
    now = timezone.now()
    stale = PublicationLock.objects.filter(school_id=school_id, expires_at__lt=now).exclude(holder="")
    abandoned = list(stale.values_list("holder", flat=True))
    taken = (
        PublicationLock.objects.filter(school_id=school_id)
        .filter(Q(holder="") | Q(expires_at__lt=now))
        .update(holder=holder, expires_at=now + dt.timedelta(seconds=lis_setting("LOCK_TIMEOUT_SECONDS")))
    )
    if taken and abandoned:
        PublicationRun.objects.filter(pk__in=[h for h in abandoned if h.isdigit()], status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, finished_at=now, error="Abandoned: the worker stopped before finishing."
        )
    return taken == 1


def lock_release(*, school_id: int, holder: str) -> None:
    """Give the lock back, if ``holder`` still has it."""
    PublicationLock.objects.filter(school_id=school_id, holder=holder).update(holder="", expires_at=None)
