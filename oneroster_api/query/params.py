"""The collection query parameters as one value: filter, sort/orderBy, fields, limit/offset (oneroster-1.1.md §4).

:func:`parse_query` is the entry point the HTTP layer calls with the request's query parameters
(any mapping of names to strings; unknown names are ignored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.expressions import OrderBy

from .compiler import compile_filter, compile_ordering
from .errors import INVALID_BLANK_SELECTION_FIELD, INVALID_DATA, INVALID_SELECTION_FIELD, QueryError, QueryWarning
from .fields import SELECTABLE
from .grammar import parse_filter

MAX_OFFSET = 10**15  # beyond any collection; keeps OFFSET inside a 64-bit integer
_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")


@dataclass(frozen=True)
class CollectionQuery:
    """What a collection request asks for.

    ``where`` is the client's filter (to be AND-ed inside the tenant scope, never around it);
    ``ordering`` goes to ``order_by``; ``fields`` is the selection in output order, or ``None``
    for every field; ``limit`` is already clamped to the maximum; ``warnings`` go into the
    200 body's ``statusInfoSet``.
    """

    where: Q
    ordering: tuple[OrderBy, ...]
    fields: tuple[str, ...] | None
    limit: int
    offset: int
    warnings: tuple[QueryWarning, ...] = field(default=())


def parse_query(kind: str, params: Mapping[str, str], *, default_limit: int, max_limit: int) -> CollectionQuery:
    """Parse ``filter``, ``sort``, ``orderBy``, ``fields``, ``limit`` and ``offset`` for ``kind``.

    Raises :class:`QueryError`: ``invalid_filter_field`` (malformed filter, unknown filter field),
    ``invalid_blank_selection_field`` (``fields=`` naming nothing), ``invaliddata`` (``limit``
    or ``offset`` not a non-negative whole number, ``limit=0``).
    """
    where = compile_filter(kind, parse_filter(params.get("filter")))
    ordering, warnings = compile_ordering(kind, params.get("sort"), params.get("orderBy"))
    fields, field_warnings = parse_fields(kind, params.get("fields"))
    limit, offset = parse_paging(
        params.get("limit"), params.get("offset"), default_limit=default_limit, max_limit=max_limit
    )
    return CollectionQuery(where, ordering, fields, limit, offset, tuple(warnings + field_warnings))


def parse_fields(kind: str, raw: str | None) -> tuple[tuple[str, ...] | None, list[QueryWarning]]:
    """The ``fields=a,b`` selection in the object's own key order, or ``None`` for all fields.

    Blank entries are skipped; if nothing is left → :class:`QueryError`
    ``invalid_blank_selection_field``. Any unknown name → every field and an
    ``invalid_selection_field`` warning naming the unknown ones (§4).
    """
    if raw is None:
        return None, []
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise QueryError(
            "fields= names no field; name at least one, e.g. fields=sourcedId.", INVALID_BLANK_SELECTION_FIELD
        )
    known = SELECTABLE[kind]
    unknown = [name for name in names if name not in known]
    if unknown:
        description = f"Not fields of {kind}: {', '.join(unknown)}; returned all fields."
        return None, [QueryWarning(INVALID_SELECTION_FIELD, description)]
    return tuple(name for name in known if name in names), []


def parse_paging(limit: str | None, offset: str | None, *, default_limit: int, max_limit: int) -> tuple[int, int]:
    """``(limit, offset)``: limit defaults to ``default_limit`` and is clamped to ``max_limit``.

    Raises :class:`QueryError` ``invaliddata`` unless each is absent or a whole number, with
    limit ≥ 1 and offset ≥ 0; the message says which bound was missed.
    """
    parsed_limit = default_limit if limit in (None, "") else _whole_number("limit", limit)
    if parsed_limit < 1:
        raise QueryError("limit must be at least 1.", INVALID_DATA)
    parsed_offset = 0 if offset in (None, "") else _whole_number("offset", offset)
    if parsed_offset < 0:
        raise QueryError("offset must be at least 0.", INVALID_DATA)
    return min(parsed_limit, max_limit), min(parsed_offset, MAX_OFFSET)


def _whole_number(name: str, raw: str) -> int:
    if not _NUMBER.fullmatch(raw.strip()):
        raise QueryError(f"{name} must be a whole number, not {raw[:40]!r}.", INVALID_DATA)
    return int(raw.strip())
