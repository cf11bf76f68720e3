"""``field__any_of=[…]``: ``IN`` for a long list of strings, as one array parameter on PostgreSQL.

A run compares thousands of sourcedIds at a time (a batch of the diff, an incremental run's affected
objects). As ``IN (%s, %s, …)`` each value is a placeholder: psycopg parses the query text for every
execution (it caches only short queries), PostgreSQL parses and plans a list of thousands of
constants, and PostgreSQL's 65,535-parameter limit forces the lists into chunks, each chunk one more
query (an incremental publication's enrollments, read once per chunk of 2,000, re-read the school's
people each time). ``= ANY(%s)`` with the list as one
``text[]`` parameter has none of these costs and uses the same index. Other databases get Django's
``IN`` (so callers keep lists within SQLite's parameter limit: :func:`in_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import CharField
from django.db.models.lookups import In

IN_CHUNK = 2000  # values per IN (...) list where there is no array parameter: far below SQLite's 32,766


@CharField.register_lookup
class AnyOf(In):
    """``field__any_of=values`` (strings): ``field = ANY(%s)`` on PostgreSQL, ``field IN (…)`` elsewhere."""

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if self.rhs_is_direct_value():
            lhs, lhs_params = self.process_lhs(compiler, connection)
            values = [value for value in self.rhs if value is not None]
            return f"{lhs} = ANY(%s::text[])", (*lhs_params, values)
        return super().as_sql(compiler, connection)


def in_chunks(values: Iterable[str]) -> list[list[str]]:
    """``values`` sorted, as the lists to pass to ``any_of`` one query each: all of them at once on
    PostgreSQL, :data:`IN_CHUNK` at a time elsewhere (in order, so rows read in sourcedId order stay
    in order across the lists); no list when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return []
    size = len(ordered) if connection.vendor == "postgresql" else IN_CHUNK
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
