"""A collection's count and page boundaries, kept per store version, so a page costs what reading it costs.

Without them every page of a pull counts the whole collection (``X-Total-Count``) and walks
``OFFSET`` entries of the page-key index: a full SDS pull of 466,625 enrollments counted 94 ×
466,625 entries and walked ~11 million (README, *What a page costs*). Here one query per
collection and store version — :func:`bounds_read` — numbers the collection's rows in sourcedId
order and returns the total with the sourcedId of every :data:`STRIDE`-th row. A page at
``offset`` then starts after the boundary below it (``sourced_id > boundary``, an index seek) and
skips fewer than :data:`STRIDE` rows.

**Never stale.** The store's version (:class:`lis.models.PublishedStoreVersion`) is set by
database triggers in every transaction that writes the store, and a value is never reused, so
``(version, the collection's SQL)`` names one set of rows:

- the request reads the version in its tenant lookup (:func:`oneroster_api.tenancy.tenant_of_application`);
  bounds are looked up under it in Django's cache;
- :func:`bounds_read` reads the version *in the same statement* as the count and boundaries, and
  the bounds are stored under that version — so a publication committing between the two
  statements cannot file old figures under a new version, or new under old;
- the page query reads the version again in its own statement (:func:`page_rows`): when it is
  not the bounds' version (a publication committed between the lookup and the page), the view
  answers from a fresh count and OFFSET instead (:meth:`Pager.recount`), as it did before.

The cache key also holds the SQL of the collection (tenant scope with its school ids, kind,
subtype, filter, parent) and the direction, so any difference in what the rows are gives another
key. Only collections whose SQL reads nothing but the store are kept (:data:`STORE_ONLY`); a
``sort=`` other than ``sourcedId`` is paged the old way. Kept in Django's cache (Redis in
production, shared by every web process; per process otherwise): it is derived data with a
natural expiry, a lost entry costs one query, and a table would add a write to every first read
of a version on a read path that otherwise only reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, F, QuerySet
from django.db.models.expressions import OrderBy, RawSQL

from lis.models import PublishedObject, PublishedStoreVersion

STRIDE = 1000  # a boundary every STRIDE rows: at most STRIDE - 1 rows skipped by OFFSET per page
CACHE_SECONDS = 24 * 3600  # a version lives until the next publication: a day at most, usually
CACHE_PREFIX = "oneroster:bounds:"


def store_version() -> RawSQL:
    """The store's current version as an expression (``NULL`` when it has no row); an InitPlan on PostgreSQL."""
    table = connection.ops.quote_name(PublishedStoreVersion._meta.db_table)
    return RawSQL(f"SELECT version FROM {table} WHERE id = 1", (), output_field=BigIntegerField())


@dataclass(frozen=True)
class Bounds:
    """A collection's ``total`` and ``keys[i]`` = the sourcedId of its row ``(i + 1) × stride`` (1-based), at ``version``."""

    version: int | None
    total: int
    keys: tuple[str, ...]
    stride: int


def keyset_direction(ordering: tuple[OrderBy, ...]) -> str | None:
    """``"asc"``/``"desc"`` when ``ordering`` is sourcedId alone (the default, or ``sort=sourcedId``), else ``None``."""
    if len(ordering) != 1:
        return None
    (order,) = ordering
    if not isinstance(order.expression, F) or order.expression.name != "sourced_id":
        return None
    return "desc" if order.descending else "asc"


def bounds_read(queryset: QuerySet, direction: str) -> Bounds:
    """One query: the store version, the count of ``queryset`` and its sourcedId at every STRIDE-th row.

    ``direction`` is the order (``"asc"``/``"desc"``) the rows are numbered in. The sentinel row
    ``(version, 0, NULL)`` carries the version when the collection is empty; the collection's last
    row carries the total (its number).
    """
    inner, params = queryset.order_by().values("sourced_id").query.sql_with_params()
    version_sql, stride = store_version().sql, STRIDE
    order = "DESC" if direction == "desc" else "ASC"
    sql = (
        f"SELECT ({version_sql}), 0, NULL UNION ALL "
        f"SELECT ({version_sql}), n, sourced_id FROM ("
        f"SELECT sourced_id, row_number() OVER (ORDER BY sourced_id {order}) AS n, "
        f"lead(1) OVER (ORDER BY sourced_id {order}) IS NULL AS last FROM ({inner}) AS collection"
        f") AS numbered WHERE n %% {stride} = 0 OR last"  # %% : the driver's placeholder syntax
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    version = rows[0][0]
    numbered = sorted((n, sid) for _version, n, sid in rows if n)
    total = numbered[-1][0] if numbered else 0
    return Bounds(version, total, tuple(sid for n, sid in numbered if n % stride == 0), stride)


def cache_key(queryset: QuerySet, direction: str, version: int) -> str:
    """The cache key of ``queryset``'s bounds in ``direction`` at store ``version``."""
    sql, params = queryset.order_by().values("sourced_id").query.sql_with_params()
    digest = hashlib.sha256(f"{connection.vendor}\x00{direction}\x00{STRIDE}\x00{sql}\x00{params!r}".encode()).hexdigest()
    return f"{CACHE_PREFIX}{version}:{digest}"


class Pager:
    """The rows of one collection page and its total, from kept bounds where possible (see the module docstring).

    ``queryset`` is the collection (scope, kind, filter, parent), ``ordering`` the request's,
    ``version`` the store version the request's tenant lookup read (``None``: unknown), and
    ``keyed`` whether the collection's SQL reads only the store (:data:`STORE_ONLY`).
    """

    def __init__(self, queryset: QuerySet, ordering: tuple[OrderBy, ...], *, version: int | None, keyed: bool) -> None:
        self.queryset = queryset
        self.ordering = ordering
        self.direction = keyset_direction(ordering) if keyed else None
        self.version = version
        self.bounds: Bounds | None = None

    def page(self, *, offset: int, limit: int) -> tuple[int, QuerySet]:
        """``(total, page)``: the count and the ordered queryset of rows ``[offset, offset + limit)``.

        With kept bounds (the cache, else one :func:`bounds_read`), ``page`` starts after the
        boundary below ``offset``; otherwise it is the count and the OFFSET path (:meth:`recount`).
        """
        if self.direction is None:
            return self.recount(offset=offset, limit=limit)
        try:
            return self._keyed(offset=offset, limit=limit)
        except EmptyResultSet:  # a collection that is empty by construction (no schools, a NUL in an id)
            return self.recount(offset=offset, limit=limit)

    def _keyed(self, *, offset: int, limit: int) -> tuple[int, QuerySet]:
        key = cache_key(self.queryset, self.direction, self.version) if self.version is not None else None
        bounds = cache.get(key) if key else None
        if bounds is None:
            bounds = bounds_read(self.queryset, self.direction)
            if bounds.version is not None:
                cache.set(cache_key(self.queryset, self.direction, bounds.version), bounds, CACHE_SECONDS)
        self.bounds = bounds
        block = min(offset // bounds.stride, len(bounds.keys))
        rows = self.queryset
        if block:
            boundary = bounds.keys[block - 1]
            after = "sourced_id__lt" if self.direction == "desc" else "sourced_id__gt"
            rows = rows.filter(**{after: boundary})
        skip = offset - block * bounds.stride
        return bounds.total, rows.order_by(*self.ordering)[skip : skip + limit]

    def stale(self, versions: set, *, offset: int) -> bool:
        """Whether a page read with ``versions`` (the store versions its rows saw) disagrees with the bounds used.

        An empty page proves nothing about its version: it is stale when the bounds promised rows there.
        """
        if self.bounds is None:
            return False
        if not versions:
            return offset < self.bounds.total
        return versions != {self.bounds.version}

    def recount(self, *, offset: int, limit: int) -> tuple[int, QuerySet]:
        """The count, then the page by OFFSET (keyed from the nearer end): the path without kept bounds."""
        from .selectors import page_keys

        self.bounds = None
        total = self.queryset.count()
        keys = page_keys(self.queryset, self.ordering, offset=offset, limit=limit, total=total)
        return total, PublishedObject.objects.filter(pk__in=keys).order_by(*self.ordering)
