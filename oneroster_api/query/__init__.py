"""The OneRoster 1.1 query language: ``filter``, ``sort``/``orderBy``, ``fields``, ``limit``/``offset``.

Pure: strings in, Django query objects out, no HTTP (oneroster-1.1.md §4–§5). Layers:
:mod:`.grammar` (text → syntax tree), :mod:`.fields` (what each kind offers),
:mod:`.compiler` (syntax tree → ``Q`` / ordering), :mod:`.params` (all parameters at once).
"""

from .compiler import compile_filter, compile_ordering, parse_datetime_value
from .errors import QueryError, QueryWarning
from .grammar import Clause, Filter, parse_filter
from .params import CollectionQuery, parse_fields, parse_paging, parse_query

__all__ = [
    "Clause",
    "CollectionQuery",
    "Filter",
    "QueryError",
    "QueryWarning",
    "compile_filter",
    "compile_ordering",
    "parse_datetime_value",
    "parse_fields",
    "parse_filter",
    "parse_paging",
    "parse_query",
]
