"""The LIS follows the school domain: selection rows appear when groups or the active year change.

Connected in :meth:`lis.apps.LisConfig.ready`. The senders (CSV import, demo generator, the
School/Course/Class admin pages) call :func:`myschool.signals.school_groups_changed_notify`; the
nightly task calls :func:`~lis.selection.services.selections_sync_all` for every school as well,
so a group created some other way is listed by the next morning at the latest. No page view writes.
"""

from __future__ import annotations

from django.dispatch import receiver

from myschool.signals import school_groups_changed

from .services import selections_sync_all


@receiver(school_groups_changed, dispatch_uid="lis.selection.receivers.selections_follow_groups")
def selections_follow_groups(sender, *, school_ids, **kwargs) -> dict[str, int]:
    """Create the missing selection rows (``sync`` off) of ``school_ids``' active-year groups."""
    return selections_sync_all(school_ids=school_ids)
