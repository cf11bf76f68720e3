"""Published rows → OneRoster JSON text, fast (oneroster-1.1.md §3).

A served object is the stored ``payload`` plus ``sourcedId``, ``status`` and ``dateLastModified``
from the columns, its GUIDRef hrefs made absolute. The payload is never parsed or re-encoded
on the way out:

* **the database assembles each object's text** (:class:`ObjectJSON`, the path of every request
  without ``fields=``): the payload read as JSON text with the three columns spliced in front,
  hrefs relative. On PostgreSQL that text is stored with each row by a row trigger
  (``lis_publishedobject.rendered``, lis migration 0010), so the query only reads it; a row
  without it is rendered in the query. Python joins the page's strings and makes every
  ``"href": "/ims/oneroster/v1p1/…`` absolute with one ``str.replace`` over the joined page
  (:func:`absolute_paths`: cheaper than a ``replace()`` per row in the database, which is the
  pull's sequential part). A key ``"href"`` can only appear unescaped as a real key, never inside
  a string value (there its quotes are ``\"``), so the textual rewrite touches GUIDRefs only;
* **the reference rendering** (:func:`rows` + :func:`object_text` + :func:`collection_body`) does
  the same in Python (one regular-expression pass over the finished text). It serves ``fields=``
  selections, which parse the payload to pick keys, and the tests compare the two paths.

Both give the same JSON values, keys in the same order (the payload's text order after the three
columns); the bytes may differ only in how strings are escaped (``json.dumps`` writes ``\u00e9``
where PostgreSQL writes ``é``). The stored payload is never changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Expression, F, QuerySet, TextField
from django.db.models.functions import Cast

from lis.oneroster import BASE_PATH, format_datetime

from .errors import warning_set
from .paging import store_version
from .query import QueryWarning

Row = tuple  # (sourced_id, status, date_last_modified, payload_text)
_HREF = re.compile(r'"href":\s*"' + re.escape(BASE_PATH + "/"))


def rows(queryset: QuerySet, *extra: Expression) -> QuerySet:
    """``queryset`` as :data:`Row` tuples (``extra`` expressions appended); one SQL query whatever the page size."""
    return queryset.values_list("sourced_id", "status", "date_last_modified", Cast("payload", TextField()), *extra)


def object_text(row: Row, fields: tuple[str, ...] | None = None) -> str:
    """One object as JSON text (relative hrefs); with ``fields``, only those keys."""
    if fields is not None:
        return _selected_text(row, fields)
    sourced_id, status, modified, payload_text = row
    head = (
        f'{{"sourcedId":{json.dumps(sourced_id)},"status":{json.dumps(status)},'
        f'"dateLastModified":"{format_datetime(modified)}"'
    )
    inner = payload_text.strip()[1:-1].strip()
    return f"{head},{inner}}}" if inner else head + "}"


def _selected_text(row: Row, fields: tuple[str, ...]) -> str:
    sourced_id, status, modified, payload_text = row
    full = {"sourcedId": sourced_id, "status": status, "dateLastModified": format_datetime(modified)}
    full.update(json.loads(payload_text))
    return json.dumps({name: full[name] for name in fields if name in full}, ensure_ascii=False, separators=(",", ":"))


def absolute_hrefs(text: str, origin: str) -> str:
    """Prefix every GUIDRef ``href`` path in ``text`` with ``origin`` (``https://host``)."""
    escaped_origin = json.dumps(origin)[1:-1]
    return _HREF.sub(lambda _match: f'"href":"{escaped_origin}{BASE_PATH}/', text)


def _status_info_set(warnings: Iterable[QueryWarning]) -> str:
    warnings = tuple(warnings)
    return f',"statusInfoSet":{json.dumps(warning_set(warnings))}' if warnings else ""


def collection_body(wrapper: str, objects: Iterable[str], origin: str, warnings: Iterable[QueryWarning] = ()) -> bytes:
    """``{"<wrapper>": [objects…], "statusInfoSet"?: [...]}`` as UTF-8, hrefs absolute."""
    text = f'{{"{wrapper}":[{",".join(objects)}]{_status_info_set(warnings)}}}'
    return absolute_hrefs(text, origin).encode()


def single_body(wrapper: str, obj: str, origin: str, warnings: Iterable[QueryWarning] = ()) -> bytes:
    """``{"<wrapper>": {object}, "statusInfoSet"?: [...]}`` as UTF-8, hrefs absolute."""
    return absolute_hrefs(f'{{"{wrapper}":{obj}{_status_info_set(warnings)}}}', origin).encode()


# The database's rendering ---------------------------------------------------------------------

_HREF_PATH = f'"href": "{BASE_PATH}/'  # jsonb's text output (and Django's json.dumps on SQLite)
_HREF_PATH_COMPACT = f'"href":"{BASE_PATH}/'  # a payload written compactly (SQLite keeps the text as given)


def absolute_paths(text: str, origin: str) -> str:
    """``text`` rendered by :class:`ObjectJSON` (one object, or a page of them) with every GUIDRef href absolute.

    ``origin`` is ``scheme://host``. Only the two spellings the database's text can have are
    rewritten: jsonb's ``"href": "/…`` and a compact ``"href":"/…`` (SQLite keeps a payload's text
    as written); each keeps its spacing.
    """
    escaped_origin = json.dumps(origin)[1:-1]
    absolute = f"{escaped_origin}{BASE_PATH}/"
    text = text.replace(_HREF_PATH, f'"href": "{absolute}')
    return text.replace(_HREF_PATH_COMPACT, f'"href":"{absolute}')

# The text of one object, hrefs relative; {sid}, {status}, {modified}, {payload} are the compiled
# columns. dateLastModified: UTC, milliseconds truncated, as
# lis.oneroster.format_datetime. An empty payload adds nothing after the columns.
_POSTGRESQL = (
    """'{{"sourcedId":' || to_json({sid}::text)::text || ',"status":' || to_json({status}::text)::text"""
    """ || ',"dateLastModified":"' || to_char({modified} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
    """ || CASE WHEN {payload} = '{{}}'::jsonb THEN '"}}'"""
    """ ELSE '",' || substr({payload}::text, 2) END"""
)
# SQLite stores datetimes as naive UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' and the payload as the
# JSON text Django wrote.
_SQLITE = (
    """'{{"sourcedId":' || json_quote({sid}) || ',"status":' || json_quote({status})"""
    """ || ',"dateLastModified":"' || substr({modified}, 1, 10) || 'T' || substr({modified}, 12, 8) || '.'"""
    """ || substr(substr({modified}, 21, 3) || '000', 1, 3) || 'Z'"""
    """ || CASE WHEN json({payload}) = '{{}}' THEN '"}}'"""
    """ ELSE '",' || substr(trim({payload}), 2) END"""
)


class ObjectJSON(Expression):
    """A ``PublishedObject`` row as its OneRoster JSON text, hrefs relative (:func:`absolute_paths` completes them).

    The text equals :func:`object_text` as JSON (same keys, order and values); it is read from
    the stored ``rendered`` column or built in SQL (PostgreSQL, SQLite), so a page costs one query
    and a string join.
    """

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__()
        self.columns = [F("sourced_id"), F("status"), F("date_last_modified"), F("payload")]

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = self.copy()
        resolved.columns = [column.resolve_expression(query, allow_joins, reuse, summarize) for column in self.columns]
        return resolved

    def _columns(self, compiler, connection):
        sqls, params = [], []
        for column in self.columns:
            sql, column_params = compiler.compile(column)
            sqls.append(sql)
            params.extend(column_params)
        if params:  # plain columns have none; anything else would break the template's placeholders
            raise ValueError("ObjectJSON's columns must be plain columns.")
        return dict(zip(("sid", "status", "modified", "payload"), sqls, strict=True))

    def as_postgresql(self, compiler, connection):
        columns = self._columns(compiler, connection)
        sql = _POSTGRESQL.format(**columns)
        # The text the store keeps (lis migration 0010: a row trigger writes it with every row),
        # else — a row written before that migration — rendered here.
        table = columns["sid"].removesuffix(connection.ops.quote_name("sourced_id"))  # '"alias".' or ''
        rendered = table + connection.ops.quote_name("rendered")
        return f"COALESCE({rendered}, ({sql}))", []

    def as_sqlite(self, compiler, connection):
        return f"({_SQLITE.format(**self._columns(compiler, connection))})", []

    def as_sql(self, compiler, connection):
        raise NotImplementedError(f"ObjectJSON supports PostgreSQL and SQLite, not {connection.vendor}.")


def fetch_rows(queryset: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` ``queryset`` as the database driver returns them: one query, one fetch.

    A page is thousands of rows of one or two plain columns (text, an integer) that need no
    conversion, so this skips the model iterator's per-row converters and its chunked fetches
    (about a quarter of a 5,000-object page's Python time). A queryset that is empty by
    construction (``none()``) gives ``[]`` without a query.
    """
    try:
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return []
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _relative_texts(queryset: QuerySet) -> list[str]:
    """``queryset`` as the :class:`ObjectJSON` text of each object (hrefs relative), in its order; one query."""
    return [text for (text,) in fetch_rows(queryset.values_list(ObjectJSON()))]


def object_texts(queryset: QuerySet, origin: str) -> list[str]:
    """``queryset`` as the JSON text of each object (:class:`ObjectJSON`, hrefs absolute), in its order; one query."""
    return [absolute_paths(text, origin) for text in _relative_texts(queryset)]


def _versioned(results: list[tuple], versions: set) -> list:
    """The first column of each row; the last column (the store version the query saw) goes into ``versions``."""
    versions.update({row[-1] for row in results})
    return [row[0] if len(row) == 2 else row[:-1] for row in results]


def collection_text(
    wrapper: str, objects: Iterable[str], warnings: Iterable[QueryWarning] = (), origin: str | None = None
) -> bytes:
    """``{"<wrapper>": [objects…], "statusInfoSet"?: [...]}`` as UTF-8 from object texts.

    With ``origin``, the objects are :class:`ObjectJSON` texts whose hrefs are made absolute here,
    in one pass over the page; without, they are finished.
    """
    text = f'{{"{wrapper}":[{",".join(objects)}]{_status_info_set(warnings)}}}'
    return (text if origin is None else absolute_paths(text, origin)).encode()


def single_text(wrapper: str, obj: str, warnings: Iterable[QueryWarning] = ()) -> bytes:
    """``{"<wrapper>": {object}, "statusInfoSet"?: [...]}`` as UTF-8 from a finished object text."""
    return f'{{"{wrapper}":{obj}{_status_info_set(warnings)}}}'.encode()


# What the views call ----------------------------------------------------------------------------


def page_body(
    wrapper: str,
    page: QuerySet,
    origin: str,
    fields: tuple[str, ...] | None = None,
    warnings: Iterable[QueryWarning] = (),
    *,
    versions: set | None = None,
) -> bytes:
    """A collection page's body from the ordered ``page`` queryset of ``PublishedObject`` rows; one query.

    Without ``fields`` the database renders every object (:class:`ObjectJSON`); a ``fields=``
    selection goes through the reference rendering, which parses each payload to pick keys.
    With ``versions`` (a set), the query also reads the store version and adds it there
    (:mod:`oneroster_api.paging` checks it against the bounds the page was cut with).
    """
    if versions is not None:
        if fields is None:
            texts = _versioned(fetch_rows(page.values_list(ObjectJSON(), store_version())), versions)
            return collection_text(wrapper, texts, warnings, origin)
        selected = _versioned(list(rows(page, store_version())), versions)
        return collection_body(wrapper, [object_text(row, fields) for row in selected], origin, warnings)
    if fields is None:
        return collection_text(wrapper, _relative_texts(page), warnings, origin)
    return collection_body(wrapper, [object_text(row, fields) for row in rows(page)], origin, warnings)


def object_body(
    wrapper: str,
    found: QuerySet,
    origin: str,
    fields: tuple[str, ...] | None = None,
    warnings: Iterable[QueryWarning] = (),
) -> bytes | None:
    """A single-object body from ``found`` (at most one row), or ``None`` when it is empty; one query."""
    if fields is None:
        text = next(iter(object_texts(found, origin)), None)
        return None if text is None else single_text(wrapper, text, warnings)
    row = next(iter(rows(found)), None)
    return None if row is None else single_body(wrapper, object_text(row, fields), origin, warnings)
