"""Bulk update of primary emails from a CSV file: preview, then apply as one batch.

The file is UTF-8 (a byte-order mark is fine), comma- or semicolon-separated, with a header
row naming its columns, in any order and case:

- ``email`` (required): the new primary email;
- ``number`` (student or staff number) and/or ``username``: who; a row uses its number when it
  has one, else its username;
- ``role`` (optional): ``student`` or ``teacher``, needed when a number or username is both a
  student's and a teacher's.

Other columns (names, classes …) are ignored. Lines are numbered as a text editor shows them,
the header being line 1. :func:`bulk_preview` reads the file against the database and lists
what would change and every rejected line with its reason; :func:`bulk_apply` computes the
preview again (nothing from the client is trusted) and applies it only when no line is rejected.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from myschool.csv_reader import CsvReadError, control_character, csv_records
from myschool.models import EmailChangeBatch, EmailChangeKind, School

from .people import MODELS, NUMBER_FIELDS, Person, PersonKey, PersonRole, person_from_values, person_values
from .rules import EmailRules
from .services import bulk_limit_error, primary_emails_change
from .tenant import normalize_email

MAX_ROWS = 100_000
CHUNK = 1000


class BulkFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); the message names the line."""


@dataclass(frozen=True)
class BulkChange:
    """Line ``line`` gives ``person`` the new email ``email``."""

    line: int
    person: Person
    email: str


@dataclass(frozen=True)
class BulkRejection:
    line: int
    reason: str


@dataclass
class BulkPreview:
    """What a file would do: ``changes``, ``rejected`` lines, how many lines change nothing, and a
    ``limit_error`` when the user may not make that many changes at once."""

    changes: list[BulkChange] = field(default_factory=list)
    rejected: list[BulkRejection] = field(default_factory=list)
    unchanged: int = 0
    limit_error: str | None = None

    @property
    def can_apply(self) -> bool:
        return bool(self.changes) and not self.rejected and not self.limit_error

    def lines(self) -> list[str]:
        """The preview as text lines, for the management command."""
        out = [f"{len(self.changes)} change(s), {len(self.rejected)} rejected line(s), {self.unchanged} unchanged."]
        out += [f"  line {c.line}: {c.person}: {c.person.email or '(none)'} → {c.email}" for c in self.changes]
        out += [f"  line {r.line}: rejected: {r.reason}" for r in self.rejected]
        if self.limit_error:
            out.append(self.limit_error)
        return out


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file. Raises :class:`BulkFileError` naming the first line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BulkFileError(f"Line {line} is not UTF-8 text; save the file as CSV UTF-8.") from None


@dataclass(frozen=True)
class _Row:
    line: int
    number: str
    username: str
    role: str
    email: str


def _rows(text: str) -> list[_Row]:
    """Parse ``text`` (see the module docstring). Raises :class:`BulkFileError` for a bad header or
    size, a value over ``MYSCHOOL_CSV["MAX_FIELD_CHARS"]``, bad quoting or a control character,
    naming the line."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    records = csv_records(io.BytesIO(text.encode("utf-8")), delimiter=delimiter)
    try:
        _, header = next(records, (1, None))
        if not header or not any(cell.strip() for cell in header):
            raise BulkFileError("Line 1: the file is empty; it needs a header row such as number,email.")
        columns = [cell.strip().lower() for cell in header]
        if "email" not in columns or not {"number", "username"} & set(columns):
            raise BulkFileError("Line 1: the header needs an email column and a number or username column.")
        index = {name: columns.index(name) for name in ("number", "username", "role", "email") if name in columns}
        rows = []
        for line, cells in records:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise BulkFileError(f"Line {line}: a file may hold at most {MAX_ROWS} rows.")
            if bad := next(filter(None, map(control_character, cells)), None):
                raise BulkFileError(f"Line {line}: a value contains a control character ({bad}).")
            value = {name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()}
            rows.append(
                _Row(
                    line, value.get("number", ""), value.get("username", ""), value.get("role", "").lower(), value["email"]
                )
            )
    except CsvReadError as exc:
        raise BulkFileError(f"Line {exc.line}: {exc.reason}.") from None
    return rows


def _candidates(school: School, rows: list[_Row]) -> tuple[dict, dict]:
    """(number → people, username → people) of ``school`` for the numbers and usernames in ``rows``."""
    by_number: dict[str, list[Person]] = defaultdict(list)
    by_username: dict[str, list[Person]] = defaultdict(list)
    numbers = sorted({row.number for row in rows if row.number})
    usernames = sorted({row.username for row in rows if row.username and not row.number})
    for role, model in MODELS.items():
        for values, lookup, found in ((numbers, NUMBER_FIELDS[role], by_number), (usernames, "username", by_username)):
            for start in range(0, len(values), CHUNK):
                people = model.objects.filter(school=school, **{f"{lookup}__in": values[start : start + CHUNK]})
                for row in person_values(people, role):
                    person = person_from_values(role, row)
                    found[person.number if lookup != "username" else person.username].append(person)
    return by_number, by_username


def _match(row: _Row, by_number: dict, by_username: dict) -> Person | str:
    """The one person ``row`` names, or why there is not exactly one."""
    if row.role and row.role not in PersonRole.values:
        return f"role {row.role!r} must be student or teacher."
    if not row.number and not row.username:
        return "no number or username."
    what, found = (
        (f"number {row.number}", by_number[row.number])
        if row.number
        else (f"username {row.username}", by_username[row.username])
    )
    found = [person for person in found if not row.role or person.key.role == row.role]
    if not found:
        return f"no {row.role or 'student or teacher'} with {what} at this school."
    if len(found) > 1:
        roles = {person.key.role for person in found}
        hint = "add a role column (student or teacher)" if len(roles) > 1 else "use the number instead"
        return f"{what} matches {len(found)} people; {hint}."
    return found[0]


def bulk_preview(*, school: School, text: str, user=None) -> BulkPreview:
    """What applying the CSV ``text`` to ``school`` would do (see the module docstring). Writes nothing.

    ``user`` decides the bulk limit (None: no limit). Raises :class:`BulkFileError` when the file
    cannot be read at all. A constant number of queries for up to 1000 distinct numbers.
    """
    rows = _rows(text)
    by_number, by_username = _candidates(school, rows)
    preview = BulkPreview()
    seen: dict[PersonKey, int] = {}
    proposed: dict[PersonKey, tuple[_Row, Person, str]] = {}
    for row in rows:
        person = _match(row, by_number, by_username)
        email = normalize_email(row.email)
        if isinstance(person, str):
            preview.rejected.append(BulkRejection(row.line, person))
        elif not email:
            preview.rejected.append(BulkRejection(row.line, f"{person}: no email given."))
        elif person.key in seen:
            preview.rejected.append(BulkRejection(row.line, f"{person} is already on line {seen[person.key]}."))
        else:
            seen[person.key] = row.line
            if email == person.email:
                preview.unchanged += 1
            else:
                proposed[person.key] = (row, person, email)
    errors = EmailRules(school).check(
        {key: email for key, (_, _, email) in proposed.items()},
        labels={key: f"line {row.line}" for key, (row, _, _) in proposed.items()},
    )
    for key, (row, person, email) in proposed.items():
        if key in errors:
            preview.rejected.append(BulkRejection(row.line, f"{person}: {errors[key]}"))
        else:
            preview.changes.append(BulkChange(row.line, person, email))
    preview.rejected.sort(key=lambda rejection: rejection.line)
    preview.limit_error = bulk_limit_error(count=len(preview.changes), user=user)
    return preview


@transaction.atomic
def bulk_apply(*, school: School, text: str, user, note: str = "") -> tuple[BulkPreview, EmailChangeBatch | None]:
    """Preview ``text`` again and, when no line is rejected, apply every change as one CSV batch.

    Returns ``(preview, batch)``; ``batch`` is None (and nothing written) when the preview cannot
    be applied — rejected lines, the bulk limit, or nothing to change. Raises
    :class:`BulkFileError` for an unreadable file and
    :class:`~myschool.emails.services.EmailChangeRefused` if the data changed under the preview.
    """
    preview = bulk_preview(school=school, text=text, user=user)
    if not preview.can_apply:
        return preview, None
    changes = {change.person.key: change.email for change in preview.changes}
    batch = primary_emails_change(school=school, changes=changes, user=user, kind=EmailChangeKind.CSV, note=note)
    return preview, batch
