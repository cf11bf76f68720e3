"""SQL expressions that make text comparisons behave the same on PostgreSQL and SQLite.

- :class:`CodePointText`: the text of an expression, compared and sorted by code point
  (PostgreSQL ``COLLATE "C"``; SQLite's default ``BINARY`` collation). ``CAST`` makes JSON
  numbers text on SQLite too.
- :class:`Lowered`: the lower-cased text of an expression for ``~`` (case-insensitive contains).
  SQLite's own ``LOWER`` and ``LIKE`` fold only ASCII, so on SQLite it calls
  ``oneroster_lower``, Python's ``str.lower`` registered on every new connection
  (:func:`register_sqlite_functions`); PostgreSQL's ``LOWER`` folds Unicode under the
  database's ``LC_CTYPE`` (a UTF-8 locale such as ``C.UTF-8``).
"""

from __future__ import annotations

from django.db.models import Func, TextField

SQLITE_LOWER = "oneroster_lower"


class CodePointText(Func):
    """``expression`` as text with code-point (binary) collation on every database."""

    arity = 1
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS TEXT)", params

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f'(CAST({sql} AS TEXT) COLLATE "C")', params


class Lowered(Func):
    """``expression`` as lower-cased text, folding non-ASCII letters on SQLite as well."""

    arity = 1
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"LOWER(CAST({sql} AS TEXT))", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{SQLITE_LOWER}(CAST({sql} AS TEXT))", params


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: give SQLite connections ``oneroster_lower``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
