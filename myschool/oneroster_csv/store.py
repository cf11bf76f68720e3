"""Where an import keeps what grows with the bundle: a private temporary SQLite database.

A 50 MB ``users.csv`` holds a quarter of a million rows; kept as Python objects (a row, the
planned values of its Student, the model instance written) they cost over half a gigabyte. So
the importer keeps per-row data in a :class:`Workspace` — the standard library's ``sqlite3``
on a private temporary file that SQLite deletes when the connection closes (``connect("")``),
with a small page cache — and Python holds only one batch at a time:

- :class:`RowStore`: the rows of one CSV file, in file order, each its line and its typed
  values (pickled); looked up by sourcedId through :class:`RowIndex`;
- :class:`RecordStore`: the planned records of one model (sourcedId → field values), in the
  order they were planned, read back in batches by the writer;
- :class:`KeyLines`: the line a key (a sourcedId, a school's student number, a class and user
  pair) was seen on, for the duplicate checks.

This is scratch space for one import, never the school's data: the import itself still writes
the Django database in one transaction.
"""

from __future__ import annotations

import itertools
import pickle
import sqlite3
from collections.abc import Iterable, Iterator

CACHE_KB = 8 * 1024  # SQLite's page cache for the workspace; the rest stays in its temporary file
FLUSH_EVERY = 1000  # rows appended before they are written (appends are read only after reading)
_tables = itertools.count(1)


class Workspace:
    """A private temporary SQLite database for one import (deleted when closed or garbage-collected)."""

    def __init__(self) -> None:
        # "" = a private temporary on-disk database; isolation_level=None and one BEGIN: one
        # transaction that is never committed, so nothing is ever synced to disk.
        self.db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("BEGIN")

    def table(self, prefix: str, columns: str) -> str:
        """Create a new table ``<prefix>_<n>`` with ``columns`` (SQL) and return its name."""
        name = f"{prefix}_{next(_tables)}"
        self.db.execute(f"CREATE TABLE {name} ({columns})")
        return name

    def close(self) -> None:
        """Drop the temporary database (also done when the workspace is garbage-collected)."""
        self.db.close()


def _dump(value) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class RowStore:
    """The rows of one CSV file (:class:`~myschool.oneroster_csv.bundle.Row`), in file order.

    Iterable (streams from the workspace) and sized, like the list it replaces; ``append`` takes
    a row's line and typed values (a tuple in ``index`` order). Lookups by sourcedId go
    through :meth:`index`.
    """

    def __init__(self, workspace: Workspace, index: dict[str, int]):
        self.workspace = workspace
        self._index = index
        self._sourced_id_at = index["sourcedId"]
        self.table = workspace.table("rows", "position INTEGER PRIMARY KEY, sourced_id TEXT, line INTEGER, data BLOB")
        self._pending: list[tuple] = []
        self._indexed = False

    def append(self, line: int, values: tuple) -> None:
        """Add the row on ``line`` with ``values`` (the file's columns, then the blanks of absent ones)."""
        self._pending.append((values[self._sourced_id_at], line, _dump(values)))
        if len(self._pending) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            insert = f"INSERT INTO {self.table} (sourced_id, line, data) VALUES (?, ?, ?)"
            self.workspace.db.executemany(insert, self._pending)
            self._pending = []

    def _row(self, line: int, data: bytes):
        from .bundle import Row

        return Row(line, self._index, pickle.loads(data))

    def __iter__(self) -> Iterator:
        self._flush()
        for line, data in self.workspace.db.execute(f"SELECT line, data FROM {self.table} ORDER BY position"):
            yield self._row(line, data)

    def __len__(self) -> int:
        self._flush()
        return self.workspace.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def __bool__(self) -> bool:
        return len(self) > 0

    def index(self) -> RowIndex:
        """The rows by sourcedId (each file's sourcedIds are unique: the reader refuses repeats)."""
        self._flush()
        if not self._indexed:
            self.workspace.db.execute(f"CREATE INDEX {self.table}_sid ON {self.table} (sourced_id)")
            self._indexed = True
        return RowIndex(self)

    def __repr__(self) -> str:
        return f"RowStore({len(self)} rows)"


class RowIndex:
    """Read-only mapping sourcedId → Row over a :class:`RowStore` (``get``, ``in``, ``[]``, ``items``)."""

    def __init__(self, store: RowStore):
        self.store = store
        self._select = f"SELECT line, data FROM {store.table} WHERE sourced_id = ?"

    def get(self, sourced_id, default=None):
        found = self.store.workspace.db.execute(self._select, (sourced_id,)).fetchone()
        return default if found is None else self.store._row(*found)

    def __getitem__(self, sourced_id):
        row = self.get(sourced_id)
        if row is None:
            raise KeyError(sourced_id)
        return row

    def __contains__(self, sourced_id) -> bool:
        return self.get(sourced_id) is not None

    def __len__(self) -> int:
        return len(self.store)

    def items(self) -> Iterator[tuple[str, object]]:
        for row in self.store:
            yield row["sourcedId"], row

    def values(self) -> Iterator:
        return iter(self.store)


class RecordStore:
    """The planned records of one model: a mapping sourcedId → field values (a dict), kept in the
    order first planned (setting a sourcedId again replaces its values in place). Values read
    back are copies: change one by setting it again. :meth:`batches` streams them for the writer.
    """

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.table = workspace.table("records", "position INTEGER PRIMARY KEY, sourced_id TEXT UNIQUE, data BLOB")
        self._pending: list[tuple[str, bytes]] = []  # written before anything is read

    def __setitem__(self, sourced_id: str, values: dict) -> None:
        self._pending.append((sourced_id, _dump(values)))
        if len(self._pending) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.workspace.db.executemany(
                f"INSERT INTO {self.table} (sourced_id, data) VALUES (?, ?) "
                "ON CONFLICT (sourced_id) DO UPDATE SET data = excluded.data",
                self._pending,
            )
            self._pending = []

    def get(self, sourced_id: str, default=None):
        self._flush()
        query = f"SELECT data FROM {self.table} WHERE sourced_id = ?"
        found = self.workspace.db.execute(query, (sourced_id,)).fetchone()
        return default if found is None else pickle.loads(found[0])

    def __getitem__(self, sourced_id: str) -> dict:
        values = self.get(sourced_id)
        if values is None:
            raise KeyError(sourced_id)
        return values

    def __contains__(self, sourced_id) -> bool:
        self._flush()
        query = f"SELECT 1 FROM {self.table} WHERE sourced_id = ?"
        return self.workspace.db.execute(query, (sourced_id,)).fetchone() is not None

    def __len__(self) -> int:
        self._flush()
        return self.workspace.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[str]:
        self._flush()
        for (sourced_id,) in self.workspace.db.execute(f"SELECT sourced_id FROM {self.table} ORDER BY position"):
            yield sourced_id

    def items(self) -> Iterator[tuple[str, dict]]:
        self._flush()
        query = f"SELECT sourced_id, data FROM {self.table} ORDER BY position"
        for sourced_id, data in self.workspace.db.execute(query):
            yield sourced_id, pickle.loads(data)

    def batches(self, size: int) -> Iterator[dict[str, dict]]:
        """The records, in planned order, as dicts of at most ``size`` sourcedIds."""
        yield from record_batches(self.items(), size)

    def __repr__(self) -> str:
        return f"RecordStore({len(self)} records)"


def record_batches(items: Iterable[tuple[str, dict]], size: int) -> Iterator[dict[str, dict]]:
    """Group ``(sourcedId, values)`` pairs into dicts of at most ``size``, keeping their order."""
    batch: dict[str, dict] = {}
    for sourced_id, values in items:
        batch[sourced_id] = values
        if len(batch) >= size:
            yield batch
            batch = {}
    if batch:
        yield batch


class KeyLines:
    """The line each key was seen on, for duplicate checks over a whole file (keys are tuples of text).

    :meth:`first` keeps the first line a key was seen on; :meth:`latest` the last.
    """

    def __init__(self, workspace: Workspace):
        self.db = workspace.db
        self.table = workspace.table("keys", "key TEXT PRIMARY KEY, line INTEGER")

    @staticmethod
    def _key(key: tuple) -> str:
        return "\x1f".join("" if part is None else str(part) for part in key)  # control characters never reach here

    def first(self, key: tuple, line: int) -> int | None:
        """Record ``key`` on ``line`` unless it was seen before; return the earlier line or ``None``."""
        text = self._key(key)
        if self.db.execute(f"INSERT OR IGNORE INTO {self.table} VALUES (?, ?)", (text, line)).rowcount:
            return None
        return self.db.execute(f"SELECT line FROM {self.table} WHERE key = ?", (text,)).fetchone()[0]

    def latest(self, key: tuple, line: int) -> int | None:
        """Record ``key`` on ``line``; return the line it was last seen on before, or ``None``."""
        text = self._key(key)
        found = self.db.execute(f"SELECT line FROM {self.table} WHERE key = ?", (text,)).fetchone()
        self.db.execute(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", (text, line))
        return None if found is None else found[0]
