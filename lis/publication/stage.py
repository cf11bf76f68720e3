"""The stage: a run's planned writes, recorded without a long write lock and applied in one short transaction.

A publication has two phases (:mod:`lis.publication.service`):

1. **Diff** (no long write lock): the run reads MySchool and the store, maps and hashes every
   object and records what it would write — creates, updates, tombstones, with their store
   columns and reference lists — as :class:`~lis.models.PublicationStage` and
   :class:`~lis.models.PublicationStageReference` rows, written by :class:`StageWriter` in
   batches of at most :data:`~lis.publication.service.BATCH` objects, each its own short
   transaction, so token requests, the admin and other runs write in between (on SQLite too).
2. **Apply** (:func:`stage_apply`, inside the run's final transaction, holding the commit-order
   lock): set-based SQL writes each row once, with the commit time as ``dateLastModified`` —
   ``UPDATE … FROM`` the stage (PostgreSQL; SQLite ≥ 3.33) and ``INSERT … SELECT`` — then the
   reference rows. Nothing is stamped twice.

The store may change between the phases (another school's run moves a user or updates the
shared district org; a purge removes a tombstone). So an update or tombstone writes its row only
if the row's ``date_last_modified`` is still the one the diff read (``seen_modified``), and a
create fails on the store's unique constraint if another run created the object meanwhile; in
either case :class:`StoreChanged` rolls the apply back and the run diffs again.

What the stage costs is kept small for a first publication (issue 19): on PostgreSQL its tables
are ``UNLOGGED`` (migration ``0009``: worthless after a crash, which ends the run anyway) and the
writer's commits do not wait for the disk; its ``run`` keys carry no database constraint; the
apply reads the creates in id order from the ``(run, operation, id)`` index; and a run alone in
the stage empties it with ``TRUNCATE`` (:func:`stage_clear`).

On SQLite a connection that has a read statement in progress (the diff streams MySchool rows)
cannot start a write transaction once another connection has committed after that read began
(``SQLITE_BUSY_SNAPSHOT``). So when the run is not inside a caller's transaction, the stage is
written on a connection of its own; inside one (tests), on the run's connection, in savepoints.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import IntegrityError, OperationalError, connection, transaction

from lis.models import (
    Kind, PublicationRun, PublicationStage, PublicationStageReference, PublishedObject, PublishedReference,
    PublishedStatus, RunStatus, StageOperation,
)
from lis.models.publication import REF_COLUMNS

from .mapping import PublishedRecord

STAGE_COLUMNS = (
    "run_id", "operation", "kind", "sourced_id", "target", "seen_modified", "school_pk", "subtype", "payload",
    "content_hash", *REF_COLUMNS,
)
STAGE_REFERENCE_COLUMNS = ("run_id", "kind", "obj_sourced_id", "name", "sourced_id")
CLEAR_BATCH = 10000
ANALYZE_AFTER_CREATES = 10000  # PostgreSQL: the apply analyzes the store after creating this many objects
LOCK_MARGIN_MS = 1000  # how long TRUNCATE waits for the stage's lock beyond deadlock_timeout (_truncate_if_alone)
SQLITE_UPDATE_FROM = (3, 33, 0)


class StoreChanged(Exception):
    """The store changed under the run's stage between its diff and its apply; the run diffs again."""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


class StageWriter:
    """Records one run's planned writes in the stage, a batch per short transaction (see the module docstring).

    ``counts`` maps operation → how many objects were staged (the apply checks them).
    Call :meth:`close` when done (it closes the writer's own connection, if any).
    """

    def __init__(self, run: PublicationRun):
        self.run = run
        self.counts: Counter[str] = Counter()
        self._own = None if connection.in_atomic_block else connection.copy()

    @property
    def db(self):
        return self._own if self._own is not None else connection

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None

    @contextmanager
    def _transaction(self):
        """A short write transaction on the writer's connection (a savepoint inside a caller's transaction)."""
        if self._own is None:
            with transaction.atomic():
                yield
            return
        with self.db.cursor() as cursor:
            # PostgreSQL: the stage's commits need not wait for the disk. If the server stops, the run
            # stops with it, and the apply's (synchronous) commit writes every earlier commit first.
            cursor.execute("BEGIN IMMEDIATE" if self.db.vendor == "sqlite" else "BEGIN; SET LOCAL synchronous_commit TO OFF")
            try:
                yield
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def add(self, operation: str, rows: list[tuple], references: list[tuple]) -> None:
        """Stage ``rows`` (tuples in :data:`STAGE_COLUMNS` order after ``run_id``) and ``references``
        (tuples in :data:`STAGE_REFERENCE_COLUMNS` order after ``run_id``) in one transaction."""
        if not rows and not references:
            return
        run_id = self.run.pk
        with self._transaction():
            self._insert(PublicationStage, STAGE_COLUMNS, [(run_id, *row) for row in rows])
            self._insert(PublicationStageReference, STAGE_REFERENCE_COLUMNS, [(run_id, *ref) for ref in references])
        self.counts[operation] += len(rows)

    def _insert(self, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        db = self.db
        table = db.ops.quote_name(model._meta.db_table)
        names = ", ".join(db.ops.quote_name(c) for c in columns)
        if db.vendor == "postgresql":  # COPY: several times faster than INSERT for a first publication
            with db.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = db.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
        with db.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)

    # rows -------------------------------------------------------------------------------------
    def _payload_text(self):
        """How a record's payload becomes the stage's JSON text.

        PostgreSQL keeps ``jsonb``, which does not depend on the text (key order, spaces,
        escapes), so the record's canonical JSON — already made for its hash — is sent as it
        is. SQLite keeps the text as given and the API serves it, so there it is the text
        Django writes for a JSONField (``json.dumps`` with its defaults), as before.
        """
        if self.db.vendor == "postgresql":
            return lambda record: record.canonical.decode()
        return lambda record: json.dumps(record.payload)

    def creates(self, records: list[PublishedRecord], owner) -> None:
        """Stage the creation of ``records``; ``owner(record)`` is the owning school's pk."""
        text = self._payload_text()
        self.add(StageOperation.CREATE, [_row(StageOperation.CREATE, r, owner(r), text) for r in records], _references(records))

    def updates(self, updates: list[tuple[int, PublishedRecord, dt.datetime]], owner) -> None:
        """Stage updates: ``(store pk, record, the row's date_last_modified as read)``."""
        text = self._payload_text()
        rows = [_row(StageOperation.UPDATE, r, owner(r), text, target=pk, seen=seen) for pk, r, seen in updates]
        self.add(StageOperation.UPDATE, rows, _references(r for _, r, _ in updates))

    def tombstones(self, kind: str, rows: list[tuple[int, str, dt.datetime]]) -> None:
        """Stage tombstones of store rows ``(pk, sourced_id, date_last_modified as read)``."""
        staged = [
            (StageOperation.TOMBSTONE, kind, sid, pk, seen, None, "", None, "", *([None] * len(REF_COLUMNS)))
            for pk, sid, seen in rows
        ]
        self.add(StageOperation.TOMBSTONE, staged, [])


def _row(operation: str, record: PublishedRecord, owner: int | None, text, *, target=None, seen=None) -> tuple:
    """One stage row (:data:`STAGE_COLUMNS` after ``run_id``); ``text(record)`` is the payload's JSON text."""
    refs = record.refs
    return (
        operation, record.kind, record.sourced_id, target, seen, owner, record.subtype, text(record), record.content_hash,
        *([refs.get(column) for column in REF_COLUMNS] if refs else _NO_REFS),
    )


_NO_REFS = (None,) * len(REF_COLUMNS)


def _references(records: Iterable[PublishedRecord]) -> list[tuple]:
    return [
        (record.kind, record.sourced_id, name, sid)
        for record in records
        for name, ids in record.lists.items()
        for sid in dict.fromkeys(ids)
    ]


def stage_apply(run: PublicationRun, stamp: dt.datetime, counts: Counter) -> bool:
    """Write ``run``'s stage to the store, every row once with ``stamp`` as its ``date_last_modified``.

    Call it inside the run's final transaction, holding the commit-order lock. ``counts`` is the
    :attr:`StageWriter.counts` of the stage. Raises :class:`StoreChanged` (roll back and diff again)
    when a staged row changed in the store since the diff read it, or an object to create exists.
    On PostgreSQL, after creating :data:`ANALYZE_AFTER_CREATES` objects or more, it analyzes the store
    before joining the references to it; returns whether it did (the run's own ``ANALYZE`` after the
    commit then skips the store's objects).
    """
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < SQLITE_UPDATE_FROM:
        raise RuntimeError(f"The publication needs SQLite 3.33 or later (UPDATE … FROM); this is {sqlite3.sqlite_version}.")
    store, ref = _quote(PublishedObject._meta.db_table), _quote(PublishedReference._meta.db_table)
    stage, stage_ref = _quote(PublicationStage._meta.db_table), _quote(PublicationStageReference._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(stamp)
    active, gone = PublishedStatus.ACTIVE.value, PublishedStatus.TOBEDELETED.value
    refs_set = ", ".join(f"{c} = s.{c}" for c in REF_COLUMNS)
    refs = ", ".join(REF_COLUMNS)
    same = f"s.run_id = %s AND s.operation = %s AND {store}.id = s.target AND {store}.date_last_modified = s.seen_modified"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {store} SET school_id = s.school_pk, status = %s, date_last_modified = %s, subtype = s.subtype, "
            f"payload = s.payload, content_hash = s.content_hash, {refs_set}, last_run_id = %s FROM {stage} AS s WHERE {same}",
            [active, when, run.pk, run.pk, StageOperation.UPDATE.value],
        )
        _expect(cursor.rowcount, counts[StageOperation.UPDATE], "updated")
        # A demographics tombstone says only that the record is gone: no birth date, no sex.
        cursor.execute(
            f"UPDATE {store} SET status = %s, date_last_modified = %s, last_run_id = %s, "
            f"payload = CASE WHEN s.kind = %s THEN '{{}}' ELSE {store}.payload END, "
            f"content_hash = CASE WHEN s.kind = %s THEN '' ELSE {store}.content_hash END "
            f"FROM {stage} AS s WHERE {same}",
            [gone, when, run.pk, Kind.DEMOGRAPHICS.value, Kind.DEMOGRAPHICS.value, run.pk, StageOperation.TOMBSTONE.value],
        )
        _expect(cursor.rowcount, counts[StageOperation.TOMBSTONE], "tombstoned")
        try:
            with transaction.atomic():
                cursor.execute(
                    f"INSERT INTO {store} (kind, sourced_id, school_id, status, date_last_modified, subtype, payload, "
                    f"content_hash, {refs}, last_run_id, tenant) "
                    f"SELECT kind, sourced_id, school_pk, %s, %s, subtype, payload, content_hash, {refs}, run_id, 0 "
                    f"FROM {stage} WHERE run_id = %s AND operation = %s ORDER BY id",
                    [active, when, run.pk, StageOperation.CREATE.value],
                )
        except IntegrityError as exc:
            raise StoreChanged(f"an object to create was published meanwhile ({exc})") from exc
        analyzed = connection.vendor == "postgresql" and cursor.rowcount >= ANALYZE_AFTER_CREATES
        if analyzed:
            # The statistics may say the store is (nearly) empty — a first publication; worse, a store
            # emptied by DELETEs and analyzed since: 0 rows on 213,517 pages. The references' join
            # below was then planned as a nested loop scanning every object of a kind per reference
            # (issue 19: cancelled after 9 min 40 s at 50,000 students). ANALYZE counts this
            # transaction's own new rows.
            cursor.execute(f"ANALYZE {store}")
        cursor.execute(
            f"DELETE FROM {ref} WHERE obj_id IN (SELECT target FROM {stage} WHERE run_id = %s AND operation = %s)",
            [run.pk, StageOperation.UPDATE.value],
        )
        cursor.execute(
            f"INSERT INTO {ref} (obj_id, name, sourced_id) SELECT o.id, r.name, r.sourced_id FROM {stage_ref} AS r "
            f"JOIN {store} AS o ON o.kind = r.kind AND o.sourced_id = r.obj_sourced_id AND o.tenant = 0 WHERE r.run_id = %s",
            [run.pk],
        )
    return analyzed


def _expect(written: int, staged: int, what: str) -> None:
    if written != staged:
        raise StoreChanged(f"{staged - written} of {staged} objects to be {what} changed in the store since the diff")


def stage_clear(run_ids: Iterable[int]) -> None:
    """Delete the stage rows of ``run_ids``, in batches (each its own short statement outside a transaction).

    On PostgreSQL, when the stage holds no other run's rows and no one else is using it, it is
    emptied with ``TRUNCATE`` instead (:func:`_truncate_if_alone`).
    """
    run_ids = list(run_ids)
    if _truncate_if_alone(run_ids):
        return
    for run_id in run_ids:
        for model in (PublicationStageReference, PublicationStage):
            table = _quote(model._meta.db_table)
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE run_id = %s LIMIT {CLEAR_BATCH})",
                        [run_id],
                    )
                    if cursor.rowcount < CLEAR_BATCH:
                        break


def _truncate_if_alone(run_ids: list[int]) -> bool:
    """PostgreSQL: ``TRUNCATE`` the stage if it holds only the rows of ``run_ids``; True when it did.

    Deleting a first publication's 500,000 stage rows costs seconds and leaves as many dead rows
    for VACUUM; ``TRUNCATE`` costs milliseconds. It needs the tables to itself for that moment:
    the lock is waited for at most ``deadlock_timeout`` + :data:`LOCK_MARGIN_MS` (2 s with the
    defaults), then the rows are deleted in batches as before. Long enough for PostgreSQL to
    cancel an autovacuum of the stage: after a first publication's 500,000 staged rows one often
    holds a lock TRUNCATE conflicts with, and PostgreSQL cancels it only once a lock request has
    waited ``deadlock_timeout`` for it; with ``LOCK … NOWAIT`` the first publication of a freshly
    loaded 50,000-student school deleted its stage rows instead (5.4 s, issue 19). Another run
    writing its stage makes it wait for that batch's transaction, one applying its stage for the
    whole timeout; stage writes that start meanwhile wait behind it as long. Other runs' rows (of
    another school, alive) are never touched. Not inside a caller's transaction, which would keep
    the tables locked until it ends.
    """
    if connection.vendor != "postgresql" or not run_ids or connection.in_atomic_block:
        return False
    stage, stage_ref = _quote(PublicationStage._meta.db_table), _quote(PublicationStageReference._meta.db_table)
    low, high = min(run_ids), max(run_ids)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Wait a little past deadlock_timeout, not at all (NOWAIT): see the docstring.
            cursor.execute(
                "SELECT set_config('lock_timeout', "
                "(extract(epoch FROM current_setting('deadlock_timeout')::interval) * 1000 + %s)::int::text, true)",
                [LOCK_MARGIN_MS],
            )
            cursor.execute(f"LOCK TABLE {stage}, {stage_ref} IN ACCESS EXCLUSIVE MODE")
            # Each arm an index range scan (run_id leads an index of both tables) that stops at its first row.
            others = " UNION ALL ".join(
                f"(SELECT 1 FROM {table} WHERE {where} LIMIT 1)"
                for table in (stage, stage_ref)
                for where in ("run_id < %s", "run_id > %s", "run_id > %s AND run_id < %s AND run_id <> ALL(%s)")
            )
            cursor.execute(others, [low, high, low, high, run_ids] * 2)
            if cursor.fetchone() is not None:
                return False
            cursor.execute(f"TRUNCATE {stage}, {stage_ref}")
            return True
    except OperationalError:  # the lock is not free: another run uses the stage now
        return False


def stage_clear_dead(running: PublicationRun) -> None:
    """Delete the stage rows left by runs that ended or died.

    ``running`` holds its school's lock, so no other run of its school is alive; runs of other
    schools that are still *running* keep theirs.
    """
    alive = PublicationRun.objects.filter(status=RunStatus.RUNNING).exclude(school_id=running.school_id)
    dead: set[int] = set()
    for model in (PublicationStage, PublicationStageReference):
        dead.update(model.objects.exclude(run__in=alive).order_by().values_list("run_id", flat=True).distinct())
    stage_clear(sorted(dead))
