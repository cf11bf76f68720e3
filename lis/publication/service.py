"""``publish_school``: turn one school's MySchool data into the OneRoster records SDS reads.

The run compares what the school publishes now (:mod:`lis.publication.collect`) with the
store by content hash, kind by kind:

- new objects are created, objects whose payload changed (or that come back from
  ``tobedeleted``) are updated, unchanged objects are not touched;
- objects no longer produced become ``tobedeleted`` tombstones, keeping their last payload;
- every object the run creates or changes gets the same ``dateLastModified``: the time of
  the run's commit, so a delta pull made while the run was in progress cannot miss anything
  (oneroster-1.1.md §6);
- tombstones older than ``LIS["TOMBSTONE_RETENTION_DAYS"]`` are purged (the nightly task purges
  those of schools it does not publish: :func:`tombstones_purge_expired`).

A run has two phases, so its write transaction is short on both databases
(:mod:`lis.publication.stage`):

1. **Diff** — no long write lock: read MySchool and the store, map and hash every object, and
   record the planned creates, updates and tombstones (store columns, reference lists) in the
   stage, batch by batch, each batch its own short transaction. Token requests, the admin and
   other schools' runs write in between, even on SQLite (one writer at a time). Memory stays
   bounded as before: a batch of records and the sourcedIds of one kind.
2. **Apply** — one short transaction: take the commit-order lock (:mod:`lis.publication.lock`),
   take the stamp, write the stage to the store with set-based SQL (each row written once, with
   the stamp as ``dateLastModified``), tombstone orphaned district orgs and reconcile the
   tenants' district tombstones, purge, log the run, COMMIT. Then the run's stage rows are
   deleted (a dead run's by the school's next run). If the store changed under the stage in
   between (another run moved a user or updated the shared district org, a purge removed a
   tombstone), the apply rolls back and the run diffs again (at most ``ATTEMPTS`` times).

Year rollover (design choice): a Subject is published as **one course whose ``schoolYear``
follows the active year**, not one course per year. Its sourcedId is the Subject's and never
changes, so last year's classes — tombstoned at rollover — keep referencing a course SDS is still
served: active with the new ``schoolYear`` when the Subject is offered again, otherwise a
``tobedeleted`` course kept for the same retention as the classes. (Homeroom courses are
per school and year already: ``homeroom_course_id``.) A year-scoped course sourcedId would have
made SDS delete and recreate every course, and its Teams, at each rollover.

Nothing reaches the store before the apply commits: an error (or a hold) leaves the previous
publication served and the run recorded as failed (or held); a dry run computes the same diff
and writes nothing, not even stage rows. A school's runs never overlap, and a run whose process died is
noticed by the next one, which marks it abandoned (:mod:`lis.publication.lock`).
A run that would tombstone an unusual share of users or classes is *held* (nothing written)
until support confirms it with ``allow_mass_deletion=True`` — switching the school off included.
Records that leave a tenant's scope while staying in the store reach that tenant as tenant
tombstones (:mod:`lis.publication.tenants`); demographics tombstones carry no personal fields.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import Kind, PublicationRun, PublishedObject, PublishedReference, PublishedStatus, RunStatus, RunTrigger
from myschool.models import School

from .collect import KIND_ORDER, SchoolData
from .lock import CommitOrderLock, SchoolRunLock
from .mapping import PublishedRecord, describe
from .selectors import school_to_publish
from .stage import StageWriter, StoreChanged, stage_apply, stage_clear, stage_clear_dead
from .tenants import districts_visible, tenant_tombstones_copy, tenant_tombstones_drop

logger = logging.getLogger(__name__)

BATCH = 2000
EXAMPLES = 5
ATTEMPTS = 3  # diffs a run makes when the store keeps changing under its stage (lis.publication.stage)
GUARDED_KINDS = {Kind.CLASS: "classes", Kind.USER: "users"}  # kind → plural for messages
ACTIVE, TOBEDELETED = PublishedStatus.ACTIVE, PublishedStatus.TOBEDELETED


class PublicationError(Exception):
    """A publication could not be made; the previous one is still served."""


class PublicationInProgress(PublicationError):
    """Another run of the same school holds its lock."""


class MassDeletionHeld(PublicationError):
    """The run would tombstone too large a share of users or classes; support must confirm."""


@dataclass
class KindChanges:
    """What a run does to one kind: counts and the first few examples of each change."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: {"created": [], "updated": [], "deleted": []})

    def note(self, change: str, count: int, labels: Iterable[str]) -> None:
        setattr(self, change, getattr(self, change) + count)
        room = EXAMPLES - len(self.examples[change])
        if room > 0:
            self.examples[change].extend(itertools.islice(labels, room))

    def as_counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged}


@dataclass
class PublicationResult:
    """The outcome of :func:`publish_school`.

    ``status`` is a :class:`~lis.models.RunStatus` value, or ``"dry_run"``; ``changes`` maps
    every kind to its :class:`KindChanges`; ``run`` is the logged run (None for a dry run);
    ``hold_reason`` explains a held (or, in a dry run, would-be-held) run.
    """

    status: str
    changes: dict[str, KindChanges]
    run: PublicationRun | None = None
    hold_reason: str = ""
    error: str = ""
    purged: int = 0

    def counts(self) -> dict[str, dict[str, int]]:
        """kind → {"created", "updated", "deleted", "unchanged"}."""
        return _counts(self.changes)


def _counts(changes: dict[str, KindChanges]) -> dict[str, dict[str, int]]:
    return {kind: kind_changes.as_counts() for kind, kind_changes in changes.items()}


def _batched(records: Iterable[PublishedRecord], size: int = BATCH) -> Iterator[list[PublishedRecord]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _now_ms() -> dt.datetime:
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class _Publisher:
    """One run's diff (phase 1, staged) and apply (phase 2); :class:`_DryRun` computes the same diff and writes nothing."""

    analyze_after = True  # refresh the store's statistics after the run (not after a small incremental one)
    store_analyzed = False  # the apply analyzed the store's objects already (stage_apply, after many creates)

    def __init__(self, school: School, *, run: PublicationRun | None, allow_mass_deletion: bool, progress: Callable | None):
        self.school = school
        self.run = run
        self.allow_mass_deletion = allow_mass_deletion
        self.progress = progress or (lambda kind, count: None)
        self.changes = {kind: KindChanges() for kind in KIND_ORDER}
        self.hold_reason = ""
        self.data: SchoolData | None = None  # read by publish()
        self.districts_named: set[str] = set()  # the district orgs this run's school org names as parent
        self.stage = self.new_stage()

    def new_stage(self) -> StageWriter:
        return StageWriter(self.run)

    def held(self) -> None:
        """A guarded kind would lose too many objects (``hold_reason``): the run stops, writing nothing."""
        raise MassDeletionHeld(self.hold_reason)

    # phase 1: diff ------------------------------------------------------------------------
    def publish(self) -> None:
        """Compute the diff, kind by kind, and stage its writes (nothing in the store changes)."""
        self.data = SchoolData(self.school)
        for kind, records in self.data.records():
            if kind == Kind.ORG:
                records = list(records)  # the school org and its district org at most
                self.districts_named = {r.refs["parent_ref"] for r in records if r.refs.get("parent_ref")}
            active_before = PublishedObject.objects.filter(school=self.school, kind=kind, status=ACTIVE).count()
            produced = self.diff_kind(kind, records)
            deleted = self.tombstone_missing(kind, produced)
            # Switching the school off is guarded too: it tombstones everything at once.
            if kind in GUARDED_KINDS and not self.allow_mass_deletion:
                self.guard(kind, deleted, active_before)

    # phase 2: apply -----------------------------------------------------------------------
    def stamp(self) -> dt.datetime:
        """Take the commit time and write the stage with it, then the district orgs' follow-ups.

        Call it in the run's final transaction, holding the commit-order lock; returns the stamp.
        Raises :class:`~lis.publication.stage.StoreChanged` when the store changed under the stage.
        """
        integration_ids = list(self.school.integrations.values_list("pk", flat=True))
        districts_before = districts_visible(integration_ids)
        stamp = _now_ms()
        self.store_analyzed = stage_apply(self.run, stamp, self.stage.counts)
        self.tombstone_orphan_districts(stamp)
        self.reconcile_districts(districts_before, stamp)
        return stamp

    def reconcile_districts(self, before: dict[int, set[str]], stamp: dt.datetime) -> None:
        """District orgs a tenant of this school stops (or starts again) seeing get a tenant tombstone
        (or lose it and are restamped): see :mod:`lis.publication.tenants`."""
        after = districts_visible(before)
        districts = PublishedObject.objects.filter(kind=Kind.ORG, school=None, tenant=0)
        for integration_id, seen in before.items():
            gone, back = seen - after[integration_id], after[integration_id] - seen
            if gone:
                tenant_tombstones_copy(integration_id, districts.filter(sourced_id__in=gone), stamp=stamp, run=self.run)
            if back and tenant_tombstones_drop(integration_id, districts.filter(sourced_id__in=back)):
                districts.filter(sourced_id__in=back).update(last_run=self.run, date_last_modified=stamp)

    def diff_kind(self, kind: str, records: Iterable[PublishedRecord]) -> set[str]:
        produced: set[str] = set()
        changes = self.changes[kind]
        # A store without any object of the kind (a first publication) needs no lookup per batch. If
        # another run creates some meanwhile, the apply hits the unique constraint and this run diffs again.
        stored = PublishedObject.objects.filter(kind=kind, tenant=0).exists()
        for batch in _batched(records):
            ids = [r.sourced_id for r in batch]
            existing = {
                row.sourced_id: row
                for row in PublishedObject.objects.filter(kind=kind, sourced_id__any_of=ids, tenant=0).values_list(
                    "pk", "sourced_id", "content_hash", "status", "school_id", "subtype", "date_last_modified", named=True
                )
            } if stored else {}
            creates, updates = [], []
            for record in batch:
                if record.sourced_id in produced:
                    raise PublicationError(f"{kind} {record.sourced_id!r} is produced twice; sourcedIds must be unique per kind")
                produced.add(record.sourced_id)
                row = existing.get(record.sourced_id)
                if row is None:
                    creates.append(record)
                    continue
                pk, _, content_hash, status, owner, subtype, seen = row
                if owner != self._owner(record):
                    # A person's user moves between schools rather than being tombstoned and recreated
                    # (lis.publication.people). A user's sourcedId is a Student's or Teacher's, unique in
                    # its table, so another school's stored user of the same role is this person's own
                    # (published there while linked) and may be taken over.
                    movable = owner in record.movable_from or (
                        kind in (Kind.USER, Kind.DEMOGRAPHICS) and subtype == record.subtype and owner is not None
                    )
                    if not movable:
                        raise PublicationError(
                            f"{kind} {record.sourced_id!r} is already published by another school; sourcedIds must be unique"
                        )
                    updates.append((pk, record, seen))
                elif content_hash != record.content_hash or status != ACTIVE:
                    updates.append((pk, record, seen))
                else:
                    changes.unchanged += 1
            changes.note("created", len(creates), (r.label for r in creates))
            changes.note("updated", len(updates), (r.label for _, r, _ in updates))
            self.create(kind, creates)
            self.update(kind, updates)
            self.progress(kind, len(batch))
        return produced

    def tombstone_missing(self, kind: str, produced: set[str]) -> int:
        """Stage tombstones of the school's active objects of ``kind`` not ``produced``, a batch at a time; returns how many."""
        active = PublishedObject.objects.filter(school=self.school, kind=kind, status=ACTIVE).order_by()
        rows = active.values_list("pk", "sourced_id", "date_last_modified", named=True).iterator(BATCH)
        gone, first, batch = 0, [], []
        for row in rows:
            if row.sourced_id in produced:
                continue
            gone += 1
            if len(first) < EXAMPLES:
                first.append(row.pk)
            batch.append(row)
            if len(batch) == BATCH:
                self.tombstone(batch, kind)
                batch = []
        if batch:
            self.tombstone(batch, kind)
        examples = PublishedObject.objects.filter(pk__in=first).values_list("sourced_id", "payload")
        self.changes[kind].note("deleted", gone, [describe(kind, sid, payload) for sid, payload in examples])
        return gone

    def tombstone_orphan_districts(self, stamp: dt.datetime) -> None:
        """Tombstone the district orgs this run orphans (phase 2, with the stamp)."""
        orphan_ids = self.orphan_districts()
        PublishedObject.objects.filter(pk__in=orphan_ids).update(status=TOBEDELETED, date_last_modified=stamp, last_run=self.run)

    def orphan_districts(self) -> list[int]:
        """Count (as deleted orgs) and return the pks of the active district orgs no active school org would name
        as parent once this run is applied: a district org stays active while one does. Other schools' orgs are
        read from the store, this school's as the run produces it, so a dry run counts what the apply tombstones."""
        parents = PublishedObject.objects.filter(
            kind=Kind.ORG, subtype="school", status=ACTIVE, parent_ref=OuterRef("sourced_id")
        ).exclude(school=self.school)
        orphans = PublishedObject.objects.filter(kind=Kind.ORG, school__isnull=True, tenant=0, status=ACTIVE).exclude(
            sourced_id__in=Subquery(parents.values("parent_ref"))
        )
        orphan_ids = list(orphans.exclude(sourced_id__in=self.districts_named).values_list("pk", flat=True))
        self.changes[Kind.ORG].note("deleted", len(orphan_ids), [])
        return orphan_ids

    def guard(self, kind: str, deleted: int, active_before: int) -> None:
        percent, minimum = lis_setting("MASS_DELETION_PERCENT"), lis_setting("MASS_DELETION_MIN_OBJECTS")
        if deleted > minimum and deleted * 100 > percent * active_before:
            reason = (
                f"{deleted} of {active_before} published {GUARDED_KINDS[kind]} ({deleted * 100 // active_before}%) would become "
                f"tobedeleted; the limit is {percent}%. Check the active year, the last import, the ticks and the \"should sync school\" switch, "
                f"then confirm the run."
            )
            self.hold_reason = "\n".join(filter(None, [self.hold_reason, reason]))
            self.held()

    def notes(self) -> dict:
        """Fields of the run's log besides the counts (the incremental run: ``notes``, which kind of run it was)."""
        return {}

    def _owner(self, record: PublishedRecord) -> int | None:
        """The pk of the school that owns ``record`` in the store (None for a shared district org)."""
        if record.owner_id is not None:
            return record.owner_id
        return None if record.shared else self.school.pk

    # staging (phase 1) --------------------------------------------------------------------
    def create(self, kind: str, records: list[PublishedRecord]) -> None:
        """Stage the creation of ``records`` (all of ``kind``)."""
        if records:
            self.stage.creates(records, self._owner)

    def update(self, kind: str, updates: list[tuple[int, PublishedRecord, dt.datetime]]) -> None:
        """Stage updates ``(store pk, record, date_last_modified as read)`` of ``kind``."""
        if updates:
            self.stage.updates(updates, self._owner)

    def tombstone(self, rows: list[tuple[int, str, dt.datetime]], kind: str) -> None:
        """Stage tombstones of the store rows ``(pk, sourced_id, date_last_modified as read)``, in batches."""
        for start in range(0, len(rows), BATCH):
            self.stage.tombstones(kind, rows[start : start + BATCH])

    def purge(self) -> int:
        """Delete tombstones older than the retention; returns how many."""
        cutoff = timezone.now() - dt.timedelta(days=lis_setting("TOMBSTONE_RETENTION_DAYS"))
        # The school's expired tombstones, and those without a school: shared district orgs no
        # school names any more, and tenant tombstones (lis.publication.tenants).
        expired = PublishedObject.objects.filter(status=TOBEDELETED, date_last_modified__lt=cutoff).exclude(last_run=self.run)
        return published_objects_delete(expired.filter(Q(school=self.school) | Q(school__isnull=True)))


class _DryRun(_Publisher):
    """A dry run (the admin's preview, ``publish_roster --dry-run``): the same diff, nothing staged, no lock, no
    run logged. A hold does not stop it, so every kind is counted; the district orgs the apply would tombstone
    are counted too."""

    def new_stage(self) -> _NoStage:
        return _NoStage()

    def held(self) -> None:
        """Reported in ``hold_reason``; the dry run goes on."""

    def publish(self) -> None:
        super().publish()
        self.orphan_districts()


class _NoStage:
    """A dry run's stage: :class:`~lis.publication.stage.StageWriter`'s interface, recording nothing."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def creates(self, records: list[PublishedRecord], owner) -> None:
        pass

    def updates(self, updates: list[tuple[int, PublishedRecord, dt.datetime]], owner) -> None:
        pass

    def tombstones(self, kind: str, rows: list[tuple[int, str, dt.datetime]]) -> None:
        pass

    def close(self) -> None:
        pass


def publish_school(
    school: School,
    *,
    trigger: str = RunTrigger.COMMAND,
    triggered_by=None,
    dry_run: bool = False,
    allow_mass_deletion: bool = False,
    confirms: PublicationRun | None = None,
    run: PublicationRun | None = None,
    progress: Callable[[str, int], None] | None = None,
    incremental: bool | None = None,
) -> PublicationResult:
    """Publish ``school`` (see the module docstring) and log the run.

    ``trigger`` is a :class:`~lis.models.RunTrigger`; ``triggered_by`` the user who asked, if
    any; ``progress(kind, n)`` is called after each batch of ``n`` records. ``dry_run`` computes
    the same changes and writes nothing (no lock, no run logged). ``allow_mass_deletion``
    (support's confirmation of the held run ``confirms``) lifts the mass-deletion guard.
    ``run`` is a run logged earlier as queued (by :func:`lis.publication.runs.publish_now`); its own
    trigger, user and flags then apply. ``incremental`` diffs only what changed since the school's
    last run (:mod:`lis.publication.incremental`); None decides by the trigger
    (:func:`~lis.publication.incremental.run_is_incremental`). Either way the run consumes the
    school's change log when it commits.

    Returns a :class:`PublicationResult` whose status is succeeded, failed, held or dry_run.
    Raises :class:`PublicationInProgress` when another run of the school holds the lock.
    """
    # Always from the database: a caller's instance may hold stale settings or an old active year.
    school = school_to_publish(pk=school.pk)
    if dry_run:
        publisher = _DryRun(school, run=None, allow_mass_deletion=allow_mass_deletion, progress=progress)
        publisher.publish()
        return PublicationResult("dry_run", publisher.changes, hold_reason=publisher.hold_reason)

    lock = SchoolRunLock(school.pk)
    if not lock.acquire():  # before any write: on SQLite the live run may hold the write lock
        _refuse(school, run, trigger=trigger, triggered_by=triggered_by, allow_mass_deletion=allow_mass_deletion, confirms=confirms)
        raise PublicationInProgress(f"Another publication of {school} is running.")
    try:
        if run is None:
            run = PublicationRun.objects.create(
                school=school, trigger=trigger, triggered_by=triggered_by, allow_mass_deletion=allow_mass_deletion, confirms=confirms
            )
        else:
            run.status = RunStatus.RUNNING
            run.save(update_fields=["status"])
        _abandon_dead_runs(school, run)
        stage_clear_dead(run)
        from .incremental import run_is_incremental

        if incremental is None:
            incremental = run_is_incremental(school, run.trigger)
        return _run(school, run, progress, incremental=incremental)
    finally:
        lock.release()


def _run(school: School, run: PublicationRun, progress: Callable | None, *, incremental: bool = False) -> PublicationResult:
    """Phase 1 (diff and stage), then phase 2 (apply in one short transaction); again if the store changed meanwhile."""
    from .incremental import ChangeTrackingPublisher, IncrementalPublisher

    publisher_class = IncrementalPublisher if incremental else ChangeTrackingPublisher
    for attempt in range(1, ATTEMPTS + 1):
        publisher = publisher_class(school, run=run, allow_mass_deletion=run.allow_mass_deletion, progress=progress)
        try:
            try:
                with _cyclic_gc_paused():
                    publisher.publish()
                # "withheld": users not published because of their email, per reason (SchoolData.withheld).
                purged = _apply(publisher, run, withheld=publisher.data.withheld())
            finally:
                publisher.stage.close()
                _stage_clear_quietly(run)
        except StoreChanged as changed:
            if attempt < ATTEMPTS:
                logger.info("Publication of %s diffs again: %s", school, changed)
                continue
            _finish(run, RunStatus.FAILED, error=f"PublicationError: the store kept changing during the run ({changed})")
            raise PublicationError(f"The store kept changing during the run of {school}; run it again.") from changed
        except MassDeletionHeld as held:
            _finish(run, RunStatus.HELD, hold_reason=str(held), counts=_counts(publisher.changes))
            return PublicationResult(RunStatus.HELD, publisher.changes, run=run, hold_reason=str(held))
        except Exception as exc:  # noqa: BLE001 — any failure must be logged on the run, then re-raised
            _finish(run, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}", committed_at=None)
            raise
        if publisher.analyze_after:
            _analyze(objects=not publisher.store_analyzed)
        return PublicationResult(RunStatus.SUCCEEDED, publisher.changes, run=run, purged=purged)
    raise AssertionError("unreachable")


@contextmanager
def _cyclic_gc_paused():
    """Python's cyclic garbage collector off for the diff, then on again (as it was) and run once.

    The diff makes several small objects per record (500,000 records at 50,000 students), all freed
    by reference counting: records hold no cycles. The collector still ran every ~700 allocations and
    scanned the young objects and, now and then, every object of the process: without it the
    first publication of a 50,000-student school takes 7.9–8.2 s of CPU in the run's process instead
    of 12.8–13.1 s (issue 19, README *What a first publication costs*). The few cycles the diff
    leaves (Django's querysets, exceptions) wait until the end of the diff. The switch is the
    process's: other threads of a process running a publication (a worker's) go without the
    collector for as long; if it was off already, it stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()


def _apply(publisher: _Publisher, run: PublicationRun, *, withheld: dict[str, int]) -> int:
    """Phase 2: the run's one write transaction. Returns how many expired tombstones were purged."""
    order = CommitOrderLock()
    try:
        with transaction.atomic():
            # From the stamp to the commit, API requests wait (lis.publication.lock): a pull that
            # starts after the stamp reads the committed run, so no delta can miss it.
            order.acquire()
            stamp = publisher.stamp()
            purged = publisher.purge()
            counts = {**_counts(publisher.changes), "purged": purged, "withheld": withheld}
            _finish(run, RunStatus.SUCCEEDED, counts=counts, committed_at=stamp, **publisher.notes())
    finally:
        order.release()
    return purged


def _stage_clear_quietly(run: PublicationRun) -> None:
    """Delete ``run``'s stage rows; if the database cannot now, the next run of the school will."""
    try:
        stage_clear([run.pk])
    except DatabaseError:
        logger.warning("Could not delete the stage of run %s now; the next run of its school will", run.pk, exc_info=True)


REFUSED = "Another publication of this school is running."


def _refuse(school: School, run: PublicationRun | None, **fields) -> None:
    """Log a run refused because another holds the school lock (best effort on a busy SQLite file)."""
    try:
        if run is None:
            run = PublicationRun(school=school, **fields)
        _finish(run, RunStatus.FAILED, error=REFUSED)
    except OperationalError:  # SQLite's write lock held past the busy timeout: the refusal still stands
        logger.warning("Could not log the refused publication of %s: the database is busy", school)


def _abandon_dead_runs(school: School, run: PublicationRun) -> None:
    """Mark abandoned every other "running" run of ``school``: we hold its lock, so their process is gone."""
    PublicationRun.objects.filter(school=school, status=RunStatus.RUNNING).exclude(pk=run.pk).update(
        status=RunStatus.ABANDONED,
        finished_at=timezone.now(),
        error="Abandoned: its process stopped before finishing (the next run found its lock free).",
    )


def tombstones_purge_expired(*, except_school_ids: Iterable[int] = ()) -> int:
    """Delete every tombstone older than ``LIS["TOMBSTONE_RETENTION_DAYS"]``; returns how many objects.

    Those of every school but ``except_school_ids`` (schools whose run tonight purges its own),
    and those without a school (district orgs, tenant tombstones). The nightly task calls it so a
    school whose publication no longer runs (switched off, only tombstones left) still loses its
    tombstones when their time is up. Deleting an expired tombstone is no change a delta reports,
    so it needs neither the school's run lock nor the commit-order lock; a run whose stage meant
    to revive one of them notices and diffs again (:mod:`lis.publication.stage`).
    """
    cutoff = timezone.now() - dt.timedelta(days=lis_setting("TOMBSTONE_RETENTION_DAYS"))
    expired = PublishedObject.objects.filter(status=TOBEDELETED, date_last_modified__lt=cutoff)
    return published_objects_delete(expired.exclude(school_id__in=list(except_school_ids)))


def published_objects_delete(queryset) -> int:
    """Delete the published objects of ``queryset`` and their references; return how many objects.

    In batches by primary key, so memory stays bounded: a plain ``QuerySet.delete()`` would load
    every object (hundreds of thousands for a school switched off long ago) to cascade by hand.
    """
    deleted = 0
    while pks := list(queryset.order_by().values_list("pk", flat=True)[:BATCH]):
        PublishedReference.objects.filter(obj_id__in=pks).delete()
        deleted += PublishedObject.objects.filter(pk__in=pks).delete()[1].get(PublishedObject._meta.label, 0)
    return deleted


def _finish(run: PublicationRun, status: str, **fields) -> None:
    run.status = status
    run.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    run.save()


def _analyze(*, objects: bool = True) -> None:
    """Refresh PostgreSQL's statistics of the store so the API's plans follow its new size (the objects'
    table only when ``objects``: the apply may have analyzed it in the run's transaction already)."""
    if connection.vendor == "postgresql":
        tables = [PublishedObject, PublishedReference] if objects else [PublishedReference]
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(model._meta.db_table for model in tables)}")
