"""Signals the school domain sends so that apps built on it (the LIS) can follow its changes.

The school domain knows nothing of the apps that depend on it; they connect receivers here.
"""

from __future__ import annotations

from collections.abc import Iterable

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
