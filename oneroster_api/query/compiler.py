"""Turn parsed filters and sort requests into Django ``Q`` objects and orderings (oneroster-1.1.md §4).

Everything here works on :class:`lis.models.PublishedObject` querysets and gives the same rows in
the same order on PostgreSQL and SQLite: payload fields are read with key transforms (``KT``),
never JSON containment; text compares by code point; ``~`` is a case-insensitive contains that
folds non-ASCII letters on both databases; ``=`` and ``!=`` on a user's ``email`` and ``username``
ignore case the same way (Microsoft treats ``OKlein@…`` and ``oklein@…`` as one account); booleans compare as JSON booleans; ``dateLastModified``
compares as a time. Ties in any ordering are broken by ``sourced_id`` so paging is stable.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.fields.json import KT
from django.db.models.lookups import Contains, Exact, GreaterThan, GreaterThanOrEqual, IsNull, LessThan, LessThanOrEqual

from lis.models import PublishedReference

from .errors import INVALID_SORT_FIELD, QueryError, QueryWarning
from .expressions import CodePointText, Lowered
from .fields import FIELDS, Field, FieldType, field_for
from .grammar import Clause, Filter

_ORDER_LOOKUPS = {">": GreaterThan, ">=": GreaterThanOrEqual, "<": LessThan, "<=": LessThanOrEqual}
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?")
_BOOLEANS = {"true": True, "false": False}
DEFAULT_ORDERING = (F("sourced_id").asc(),)


def compile_filter(kind: str, parsed: Filter | None) -> Q:
    """The ``Q`` selecting the ``PublishedObject`` rows of ``kind`` that match ``parsed``.

    An absent filter gives an empty ``Q()`` (everything). Raises :class:`QueryError`
    (``invalid_filter_field``) for a field ``kind`` does not have, a predicate the field's type
    does not support, or a value of the wrong form (booleans ``'true'``/``'false'``; times
    ``YYYY-MM-DDTHH:MM:SS.sssZ`` or another ISO 8601 form).
    """
    if parsed is None:
        return Q()
    left, *right = (clause_q(kind, clause) for clause in parsed.clauses)
    if not right:
        return left
    return left & right[0] if parsed.operator == "AND" else left | right[0]


def clause_q(kind: str, clause: Clause) -> Q:
    """The ``Q`` of one ``field predicate 'value'`` clause (see :func:`compile_filter`)."""
    field = field_for(kind, clause.field)
    if field is None:
        known = ", ".join(sorted(FIELDS[kind]))
        raise QueryError(f"{clause.field!r} is not a filterable field of {kind}; use one of: {known}.")
    if field.type is FieldType.DATETIME:
        return _datetime_q(field, clause)
    if field.type is FieldType.BOOL:
        return _bool_q(field, clause)
    if field.type is FieldType.REFS:
        return _refs_q(field, clause)
    if field.column:
        return _text_q(F(field.column), clause, column=field.column)
    return _text_q(KT(f"payload__{field.name}"), clause, case_insensitive=field.case_insensitive)


def _text_q(expression, clause: Clause, column: str | None = None, case_insensitive: bool = False) -> Q:
    predicate, value = clause.predicate, clause.value
    if predicate == "~":
        return Q(Contains(Lowered(expression), value.lower()))
    if case_insensitive and predicate in ("=", "!="):
        equal = Q(Exact(Lowered(expression), value.lower()))
        return equal if predicate == "=" else ~equal | Q(IsNull(expression, True))
    if predicate in _ORDER_LOOKUPS:
        return Q(_ORDER_LOOKUPS[predicate](CodePointText(expression), value))
    if column:  # a plain column lookup keeps its index; Django's negation counts NULL as "not equal"
        equal = Q(**{column: value})
        return equal if predicate == "=" else ~equal
    equal = Q(Exact(CodePointText(expression), value))
    return equal if predicate == "=" else ~equal | Q(IsNull(expression, True))


def _bool_q(field: Field, clause: Clause) -> Q:
    if clause.predicate not in ("=", "!="):
        raise QueryError(f"{field.name} is a boolean: filter it with = or != only.")
    if clause.value not in _BOOLEANS:
        raise QueryError(f"{field.name} is a boolean: the value must be 'true' or 'false', not {clause.value!r}.")
    if clause.predicate == "=":
        return Q(**{f"payload__{field.name}": _BOOLEANS[clause.value]})
    return Q(Exact(_bool_is(field.name, _BOOLEANS[clause.value]), False))


def _bool_is(name: str, value: bool) -> Case:
    """True where payload ``name`` is the JSON boolean ``value``; False otherwise, missing and null included."""
    return Case(
        When(Q(**{f"payload__{name}": value}), then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def _datetime_q(field: Field, clause: Clause) -> Q:
    if clause.predicate == "~":
        raise QueryError(f"{field.name} is a time: compare it with = != > >= < <=, not ~.")
    moment = parse_datetime_value(clause.value)
    lookup = {"=": "exact", "!=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[clause.predicate]
    q = Q(**{f"{field.column}__{lookup}": moment})
    return ~q if clause.predicate == "!=" else q


def parse_datetime_value(value: str) -> dt.datetime:
    """An aware datetime from ``2026-01-01T00:00:00.000Z`` and other ISO 8601 forms; no zone means UTC.

    A date alone means its midnight UTC. The result is in UTC, so it is a time both databases can
    hold; a value whose UTC time falls outside years 1–9999 (``9999-12-31T23:59:59-14:00``) is
    refused like any other malformed time. Raises :class:`QueryError` for anything else.
    """
    if not _DATETIME.fullmatch(value):
        raise QueryError(f"{value!r} is not a time; write it like 2026-01-01T00:00:00.000Z.")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{value!r} is not a valid time.") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise QueryError(
            f"{value!r} is outside the times that can be compared (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)."
        ) from None


def _refs_q(field: Field, clause: Clause) -> Q:
    references = PublishedReference.objects.filter(obj=OuterRef("pk"), name=field.reference_name)
    if clause.predicate == "!=":  # "none of the references is this id"
        return ~Q(Exists(references.filter(sourced_id=clause.value)))
    return Q(Exists(references.filter(_text_q(F("sourced_id"), clause, column="sourced_id"))))


def compile_ordering(
    kind: str, sort: str | None, order_by: str | None
) -> tuple[tuple[OrderBy, ...], list[QueryWarning]]:
    """The ``order_by`` arguments for ``sort`` / ``orderBy``, and any warnings.

    Any filterable field except lists of references may be sorted on; ties are broken by
    ``sourced_id`` (ascending). Missing values sort first ascending and last descending, on both
    databases. An unknown ``sort`` field gives the default order (``sourcedId`` ascending) and an
    ``invalid_sort_field`` warning; an ``orderBy`` other than ``asc``/``desc`` means ``asc``, with
    the same warning.
    """
    warnings: list[QueryWarning] = []
    descending = False
    if order_by not in (None, ""):
        if order_by.lower() not in ("asc", "desc"):
            warnings.append(
                QueryWarning(INVALID_SORT_FIELD, f"orderBy must be asc or desc, not {order_by!r}; used asc.")
            )
        descending = order_by.lower() == "desc"
    if sort in (None, ""):
        return DEFAULT_ORDERING, warnings
    field = field_for(kind, sort)
    if field is None or not field.sortable:
        warnings.append(
            QueryWarning(INVALID_SORT_FIELD, f"{sort!r} is not a sortable field of {kind}; sorted by sourcedId.")
        )
        return DEFAULT_ORDERING, warnings
    if field.column == "sourced_id":
        return ((F("sourced_id").desc() if descending else F("sourced_id").asc()),), warnings
    if field.type is FieldType.DATETIME:
        expression = F(field.column)
    elif field.type is FieldType.BOOL:
        expression = Case(
            When(Q(**{f"payload__{field.name}": False}), then=Value(0)),
            When(Q(**{f"payload__{field.name}": True}), then=Value(1)),
            default=None,
        )
    else:
        expression = CodePointText(F(field.column) if field.column else KT(f"payload__{field.name}"))
    primary = expression.desc(nulls_last=True) if descending else expression.asc(nulls_first=True)
    return (primary, F("sourced_id").asc()), warnings
