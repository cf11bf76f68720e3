"""The publication's two locks, tied to the process that holds them, on PostgreSQL and SQLite alike.

**The school lock** (:class:`SchoolRunLock`): at most one run per school at a time. It lives as
long as the process holding it and no longer, so a run whose worker died (``kill -9``, OOM, a
lost host) is noticed by the very next run, which proceeds and marks the dead run *abandoned*:

- PostgreSQL: a session-level advisory lock, ``pg_try_advisory_lock(LIS, school id)``, on the
  run's own connection. The server drops it when that session ends, however it ends.
- SQLite: ``flock`` on a file beside the database (``<database>-locks/school-<id>.lock``). The
  kernel drops it when the process's descriptor closes, however the process ends. Separate
  descriptors conflict even within one process, so two threads exclude each other too.

Neither needs a database write, so a refused run is refused at once, even on SQLite while the
holder has the database's write lock.

**The commit-order lock** (:class:`CommitOrderLock`, :func:`commit_order_wait`, :func:`commit_order_filter`): the
watermark that cannot be missed (oneroster-1.1.md §6). A run stamps what it changed with a
time ``s`` and commits a little later. A delta pull that started after ``s`` but read before
the commit would see neither the old nor the new rows as changed after its own start, so its
*next* pull (cutoff = this pull's start) would miss them for good. So the run holds the lock
exclusively from just before it takes ``s`` until its commit, and every API request takes it
shared (and lets go at once) before it reads the store:

- a request that got the shared lock before the run's exclusive one started before ``s``: its
  next pull's cutoff is earlier than ``s`` and returns the changes;
- a request that comes later waits for the commit, then reads the changes.

PostgreSQL: ``pg_advisory_xact_lock(key)`` inside the run's final transaction (released by COMMIT or
ROLLBACK); readers run ``pg_advisory_xact_lock_shared(key)`` as part of their first query
(autocommit, so it is released at once). SQLite: ``flock`` exclusive / shared on
``<database>-locks/commit-order.lock``. Readers only ever wait while a run is between its stamp
and its commit: the run's apply (:mod:`lis.publication.stage`: its staged rows written once, with
the stamp, by set-based SQL), the purge and the commit — never its diff.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

LIS_NAMESPACE = 0x4C4953  # "LIS": first key of the two-key (int4, int4) advisory lock space
COMMIT_ORDER_KEY = 0x4C49535F434F4D4D  # "LIS_COMM": the one-key (int8) space, which never overlaps it


def _lock_dir() -> Path:
    """``<sqlite file>-locks/`` (a temporary directory for an in-memory database)."""
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:") or name == ":memory:":
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        directory = Path(tempfile.gettempdir()) / f"myschool-{os.getpid()}-{digest}-locks"
    else:
        directory = Path(f"{name}-locks")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class _FileLock:
    """``flock`` on one file; each instance has its own descriptor."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, *, shared: bool = False, wait: bool = True) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class SchoolRunLock:
    """The lock one run of school ``school_id`` holds from before it starts until it ends.

    ``acquire()`` never waits: True when taken, False when another live run holds it.
    ``release()`` is idempotent. Use it on the connection that runs the publication, outside
    the run's transaction.
    """

    def __init__(self, school_id: int):
        self.school_id = school_id
        self._file: _FileLock | None = None
        self._held = False

    def acquire(self) -> bool:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LIS_NAMESPACE, self.school_id])
                self._held = bool(cursor.fetchone()[0])
        else:
            self._file = _FileLock(_lock_dir() / f"school-{self.school_id}.lock")
            self._held = self._file.acquire(wait=False)
        return self._held

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        if connection.vendor == "postgresql":
            if connection.connection is not None:  # a lost connection has dropped the lock already
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LIS_NAMESPACE, self.school_id])
        elif self._file is not None:
            self._file.release()


class CommitOrderLock:
    """The commit-order lock, held exclusively by one writer from just before its stamp to its commit.

    Use it so::

        order = CommitOrderLock()
        try:
            with transaction.atomic():
                order.acquire()     # waits for readers in flight (one statement each)
                stamp = now()       # then write what changed, with the stamp
        finally:
            order.release()         # after COMMIT (or ROLLBACK)

    PostgreSQL: a transaction-level advisory lock, so ``acquire`` must run inside the
    transaction and COMMIT releases it (``release`` does nothing). SQLite: an exclusive
    ``flock``, taken after the transaction already holds the database's write lock (so nobody
    holds it while waiting for the database) and released after the commit.
    """

    def __init__(self):
        self._file: _FileLock | None = None

    def acquire(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMMIT_ORDER_KEY])
            return
        self._file = _FileLock(_lock_dir() / "commit-order.lock")
        self._file.acquire()

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
            self._file = None


@contextmanager
def stamped_transaction():
    """``transaction.atomic()`` whose body runs under the commit-order lock: stamp inside it.

    For short writes outside a run (tenant tombstones made when an integration loses a school).
    """
    order = CommitOrderLock()
    try:
        with transaction.atomic():
            order.acquire()
            yield
    finally:
        order.release()


def commit_order_wait() -> None:
    """Wait until no run is between its stamp and its commit (SQLite; see :func:`commit_order_filter`)."""
    if connection.vendor == "postgresql":
        return
    lock = _FileLock(_lock_dir() / "commit-order.lock")
    lock.acquire(shared=True)
    lock.release()


def commit_order_filter():
    """A condition that is always true and, on PostgreSQL, first waits for the commit-order lock.

    AND it into the first query of a request (the tenant lookup) so waiting costs no extra
    round trip; ``None`` on SQLite, where :func:`commit_order_wait` waits instead.
    """
    if connection.vendor != "postgresql":
        return None
    return RawSQL(
        "(SELECT true FROM (SELECT pg_advisory_xact_lock_shared(%s)) AS commit_order)",
        (COMMIT_ORDER_KEY,),
        output_field=BooleanField(),
    )
