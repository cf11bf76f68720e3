"""Signals the school domain sends so that apps built on it (the LIS) can follow its changes.

The school domain knows nothing of the apps that depend on it; they connect receivers here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import transaction
from django.dispatch import Signal

# Sent, after the change commits, with ``school_ids`` (a frozenset of School pks) when courses or
# homeroom classes of those schools were created or moved, or a school's active year changed.
# Senders: the CSV import, the demo generator, the School/Course/Class admin pages. The LIS
# creates its selection rows for the active year from it (lis.selection.receivers).
school_groups_changed = Signal()


def school_groups_changed_notify(*, sender: type, school_ids: Iterable[int | None]) -> None:
    """Send :data:`school_groups_changed` for ``school_ids`` once the current transaction commits.

    ``sender`` is the model class that changed (School, Course or SchoolClass); ``None`` ids are
    ignored, and nothing is sent for an empty set. Outside a transaction it is sent at once.
    """
    ids = frozenset(pk for pk in school_ids if pk is not None)
    if ids:
        transaction.on_commit(lambda: school_groups_changed.send(sender=sender, school_ids=ids))


# Sent synchronously, inside the writer's transaction, by writes that bypass the models' save()
# and delete() (bulk writes, QuerySet.update): ``school_ids`` (a frozenset of School pks),
# ``pks`` (the rows of ``sender`` the write touched, or None when it cannot say, e.g. an import)
# and ``old_values`` (pk → {field: value before the write}, e.g. a primary email). The LIS follows
# it to know what its next incremental publication must look at (lis.publication.changes).
school_data_changed = Signal()

_tracking = threading.local()


def school_data_changed_notify(
    *, sender: type, school_ids: Iterable[int | None], pks: Iterable[int] | None = None, old_values: dict | None = None
) -> None:
    """Send :data:`school_data_changed` now (call it inside the write's transaction, before rows it names are deleted)."""
    ids = frozenset(pk for pk in school_ids if pk is not None)
    if ids:
        school_data_changed.send(
            sender=sender, school_ids=ids, pks=None if pks is None else list(pks), old_values=old_values or {}
        )


@contextmanager
def rows_untracked():
    """Within this block per-row change tracking is off (bulk writers: the CSV import, the demo generator).

    The writer then reports what it touched with :func:`school_data_changed_notify` (``pks=None``:
    the LIS recomputes those schools in full).
    """
    _tracking.depth = getattr(_tracking, "depth", 0) + 1
    try:
        yield
    finally:
        _tracking.depth -= 1


def rows_tracked() -> bool:
    """False inside :func:`rows_untracked`."""
    return not getattr(_tracking, "depth", 0)
