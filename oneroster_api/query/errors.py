"""The errors and warnings the query language reports (oneroster-1.1.md §4–§5).

Both carry a OneRoster ``codeMinor``; the HTTP layer turns a :class:`QueryError` into a 400 error
envelope and :class:`QueryWarning` objects into the ``statusInfoSet`` of a 200 body.
"""

from __future__ import annotations

from dataclasses import dataclass

INVALID_FILTER_FIELD = "invalid_filter_field"
INVALID_SORT_FIELD = "invalid_sort_field"
INVALID_SELECTION_FIELD = "invalid_selection_field"
INVALID_BLANK_SELECTION_FIELD = "invalid_blank_selection_field"
INVALID_DATA = "invaliddata"


class QueryError(Exception):
    """A request the API refuses with HTTP 400: ``code_minor`` plus a human ``description``."""

    def __init__(self, description: str, code_minor: str = INVALID_FILTER_FIELD) -> None:
        super().__init__(description)
        self.description = description
        self.code_minor = code_minor


@dataclass(frozen=True)
class QueryWarning:
    """Something ignored while answering 200 (an unknown sort or selection field)."""

    code_minor: str
    description: str
