"""The OneRoster publication: mapping MySchool data, diffing it with the store, writing runs.

The whole publication lives in this package; the Celery tasks (``lis.tasks``), the
``publish_roster`` command and the admin's actions and pages are one-line callers of it.

- :mod:`.service` — the run itself (:func:`publish_school`: diff, stage, apply, hold, log) and
  the purge of expired tombstones;
- :mod:`.runs` — services that start runs: a school's run as the task runs it (alerts on a
  failed or held nightly run), the nightly fan-out, support's *publish now* and *confirm the
  held run*, the command's inline run;
- :mod:`.selectors` — read paths: which schools and people a run publishes, the last
  publication of schools, a school's latest run, support's daily allowance;
- :mod:`.collect` (what a school publishes), :mod:`.mapping` (MySchool rows → OneRoster
  records), :mod:`.people` (one person at several schools), :mod:`.stage` (the run's planned
  writes), :mod:`.lock` (run and commit-order locks), :mod:`.tenants` (tenant tombstones).
"""

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
