"""Published rows → OneRoster JSON text, fast (oneroster-1.1.md §3).

A served object is the stored ``payload`` plus ``sourcedId``, ``status`` and ``dateLastModified``
from the columns. For speed (SDS pulls 5,000 enrollments a page) the payload is fetched as JSON
*text* and spliced into the output without being parsed or re-encoded; the hrefs of every GUIDRef
(nested or in lists) are made absolute by one regular-expression pass over the finished text —
a key ``"href"`` can only appear unescaped as a real key, never inside a string value. The stored
payload is never changed. Only a ``fields=`` selection parses the payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from lis.oneroster import BASE_PATH, format_datetime

from .errors import warning_set
from .query import QueryWarning

Row = tuple  # (sourced_id, status, date_last_modified, payload_text)
_HREF = re.compile(r'"href":\s*"' + re.escape(BASE_PATH + "/"))


def rows(queryset: QuerySet) -> QuerySet:
    """``queryset`` as :data:`Row` tuples; one SQL query whatever the page size."""
    return queryset.annotate(payload_text=Cast("payload", TextField())).values_list(
        "sourced_id", "status", "date_last_modified", "payload_text"
    )


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
