"""Reading a OneRoster 1.1 CSV bundle: the manifest, the files, their columns and values.

A bundle is a folder or a ``.zip`` holding ``manifest.csv`` and one CSV file per kind
(OneRoster 1.1 CSV binding). Every problem found is collected as an :class:`ImportProblem`
(file, line, reason) so the user sees all of them at once; :func:`read_bundle` raises
:class:`BundleError` with the list when there is any.

Files are streamed (:func:`myschool.csv_reader.csv_records`): one line at a time from the folder
or the zip, never the whole file as bytes or text, and each row goes to the import's
:class:`~myschool.oneroster_csv.store.Workspace` (a temporary SQLite file), so memory does not
grow with the number of rows. Limits (``settings.MYSCHOOL_CSV``, README *Configuration*): the size of each
file and of all files read, uncompressed — checked from the zip's directory before anything is
decompressed — and the length of a value. NUL and other control characters are refused.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from myschool.csv_reader import MB, CsvReadError, control_character, csv_records, csv_setting

from .store import KeyLines, RowStore, Workspace

MAX_REPORTED_PROBLEMS = 50


@dataclass(frozen=True, order=True)
class ImportProblem:
    """One reason the bundle cannot be imported. ``line`` is 1-based; 0 means the whole file."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


class BundleError(Exception):
    """The bundle has problems; nothing was written. ``problems`` lists them all."""

    def __init__(self, problems: Iterable[ImportProblem]):
        self.problems = list(problems)
        super().__init__(self.summary())

    def summary(self, limit: int = MAX_REPORTED_PROBLEMS) -> str:
        """The first ``limit`` problems, one per line, and how many more there are."""
        lines = [str(problem) for problem in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"… and {len(self.problems) - limit} more problems.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Column:
    """A column of a OneRoster CSV file: its type and whether it (and a value in it) is required."""

    name: str
    required: bool = False
    kind: str = "text"  # text | date | datetime | bool | enum | list | year
    choices: tuple[str, ...] = ()


STATUS = Column("status", kind="enum", choices=("active", "tobedeleted"))
DATE_LAST_MODIFIED = Column("dateLastModified", kind="datetime")


def _columns(*columns: Column) -> dict[str, Column]:
    return {column.name: column for column in (Column("sourcedId", required=True), STATUS, DATE_LAST_MODIFIED, *columns)}


# The OneRoster 1.1 CSV files MySchool reads, with their columns (1EdTech OneRoster 1.1 CSV tables).
FILES: dict[str, dict[str, Column]] = {
    "orgs": _columns(
        Column("name", required=True),
        Column("type", required=True, kind="enum", choices=("school", "district", "department", "local", "state", "national")),
        Column("identifier"),
        Column("parentSourcedId"),
    ),
    "academicSessions": _columns(
        Column("title", required=True),
        Column("type", required=True, kind="enum", choices=("schoolYear", "term", "semester", "gradingPeriod")),
        Column("startDate", required=True, kind="date"),
        Column("endDate", required=True, kind="date"),
        Column("parentSourcedId"),
        Column("schoolYear", required=True, kind="year"),
    ),
    "courses": _columns(
        Column("schoolYearSourcedId"),
        Column("title", required=True),
        Column("courseCode"),
        Column("grades", kind="list"),
        Column("orgSourcedId", required=True),
        Column("subjects", kind="list"),
        Column("subjectCodes", kind="list"),
    ),
    "classes": _columns(
        Column("title", required=True),
        Column("grades", kind="list"),
        Column("courseSourcedId", required=True),
        Column("classCode"),
        Column("classType", required=True, kind="enum", choices=("homeroom", "scheduled")),
        Column("location"),
        Column("schoolSourcedId", required=True),
        Column("termSourcedIds", required=True, kind="list"),
        Column("subjects", kind="list"),
        Column("subjectCodes", kind="list"),
        Column("periods", kind="list"),
    ),
    "users": _columns(
        Column("enabledUser", required=True, kind="bool"),
        Column("orgSourcedIds", required=True, kind="list"),
        Column(
            "role",
            required=True,
            kind="enum",
            choices=("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"),
        ),
        Column("username", required=True),
        Column("userIds", kind="list"),
        Column("givenName", required=True),
        Column("familyName", required=True),
        Column("middleName"),
        Column("identifier"),
        Column("email"),
        Column("sms"),
        Column("phone"),
        Column("agentSourcedIds", kind="list"),
        Column("grades", kind="list"),
        Column("password"),
    ),
    "enrollments": _columns(
        Column("classSourcedId", required=True),
        Column("schoolSourcedId", required=True),
        Column("userSourcedId", required=True),
        Column("role", required=True, kind="enum", choices=("administrator", "proctor", "student", "teacher", "aide")),
        Column("primary", kind="bool"),
        Column("beginDate", kind="date"),
        Column("endDate", kind="date"),
    ),
    "demographics": _columns(
        Column("birthDate", kind="date"),
        Column("sex", kind="enum", choices=("male", "female")),
        *(
            Column(name, kind="bool")
            for name in (
                "americanIndianOrAlaskaNative",
                "asian",
                "blackOrAfricanAmerican",
                "nativeHawaiianOrOtherPacificIslander",
                "white",
                "demographicRaceTwoOrMoreRaces",
                "hispanicOrLatinoEthnicity",
            )
        ),
        Column("countryOfBirthCode"),
        Column("stateOfBirthAbbreviation"),
        Column("cityOfBirth"),
        Column("publicSchoolResidenceStatus"),
    ),
}

# Files a bundle may carry that MySchool deliberately does not read (it syncs no assignments).
IGNORED_FILES = ("categories", "classResources", "courseResources", "lineItems", "resources", "results")


class Row:
    """One data row: its 1-based line in the file and its parsed values by column name.

    Values are typed by the column: ``str`` (empty when blank), ``datetime.date``, ``bool``,
    ``list[str]`` or ``None`` for a blank date, datetime, bool or enum. ``row[name]`` gives one
    (``None`` for a column the file does not have); ``row.values`` a dict of all. The values sit in
    a tuple beside the file's shared column index, so a large file costs no dict per row.
    """

    __slots__ = ("line", "_index", "_values")

    def __init__(self, line: int, index: dict[str, int], values: tuple):
        self.line = line
        self._index = index
        self._values = values

    def __getitem__(self, name: str):
        position = self._index.get(name)
        return None if position is None else self._values[position]

    @property
    def values(self) -> dict[str, object]:
        return {name: self._values[position] for name, position in self._index.items()}

    def __repr__(self) -> str:
        return f"Row(line={self.line}, values={self.values!r})"


@dataclass
class Bundle:
    """The parsed files of a bundle (each a :class:`RowStore`, iterable and sized; absent files are
    empty lists) and the files skipped. ``workspace`` holds the rows: :meth:`close` drops it."""

    files: dict[str, RowStore | list[Row]] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    # Set by read_bundle_checked: sourcedIds of rows left out for a problem of their own, and
    # whether every listed file could be read to its end (so the rows read can be planned).
    rejected_ids: set[str] = field(default_factory=set)
    complete: bool = True
    workspace: Workspace = field(default_factory=Workspace, repr=False)

    def rows(self, name: str) -> RowStore | list[Row]:
        return self.files.get(name, [])

    def close(self) -> None:
        """Drop the rows' temporary database."""
        self.workspace.close()


class _Source:
    """Opens named files of a folder or a zip as binary streams, so the rest does not care which it is."""

    def __init__(self, path: Path):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.prefix = PurePosixPath()
        if path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise BundleError([ImportProblem(path.name, 0, "not a folder or a zip archive")]) from None
            manifests = sorted(n for n in self.zip.namelist() if PurePosixPath(n).name == "manifest.csv")
            if len(manifests) > 1:
                raise BundleError(
                    [
                        ImportProblem(
                            path.name,
                            0,
                            f"the zip holds {len(manifests)} manifest.csv files ({', '.join(manifests)}); "
                            "a zip must hold exactly one bundle",
                        )
                    ]
                )
            if len(manifests) == 1:
                self.prefix = PurePosixPath(manifests[0]).parent
        elif not path.is_dir():
            raise BundleError([ImportProblem(str(path), 0, "no such folder or zip file")])

    def size(self, filename: str) -> int | None:
        """Uncompressed size in bytes (from the zip's directory: nothing is decompressed), ``None`` if absent."""
        if self.zip is not None:
            try:
                return self.zip.getinfo(str(self.prefix / filename)).file_size
            except KeyError:
                return None
        candidate = self.path / filename
        return candidate.stat().st_size if candidate.is_file() else None

    @contextmanager
    def open(self, filename: str) -> Iterator[BinaryIO]:
        """The file as a binary stream. A zip member yields at most its declared size (``zipfile``
        checks it and the CRC), so :meth:`size` bounds what is read."""
        if self.zip is not None:
            with self.zip.open(str(self.prefix / filename)) as stream:
                yield stream
        else:
            with (self.path / filename).open("rb") as stream:
                yield stream


def _records(source: _Source, filename: str, problems: list[ImportProblem]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line of the record, fields) for every CSV record of ``filename``, quoted newlines
    included; a record that cannot be read (not UTF-8, a value too long, bad quoting, a zip member
    that is damaged) adds its problem and ends the file."""
    line = 1
    try:
        with source.open(filename) as stream:
            for line, fields in csv_records(stream):
                yield line, fields
    except CsvReadError as exc:
        problems.append(ImportProblem(filename, exc.line, exc.reason))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        problems.append(ImportProblem(filename, line, f"the file cannot be read from the archive ({exc})"))


def _check_sizes(source: _Source, filenames: list[str], problems: list[ImportProblem]) -> bool:
    """A problem per file over ``MAX_FILE_MB`` and one when together they pass ``MAX_BUNDLE_MB``;
    ``True`` when there was any."""
    file_limit, bundle_limit = csv_setting("MAX_FILE_MB"), csv_setting("MAX_BUNDLE_MB")
    count = len(problems)
    total = 0
    for filename in filenames:
        size = source.size(filename) or 0
        total += size
        if size > file_limit * MB:
            problems.append(
                ImportProblem(filename, 0, f"{size / MB:,.1f} MB uncompressed; a file may hold at most {file_limit} MB")
            )
    if total > bundle_limit * MB:
        problems.append(
            ImportProblem(
                source.path.name, 0, f"its files hold {total / MB:,.1f} MB uncompressed; a bundle may hold at most {bundle_limit} MB"
            )
        )
    return len(problems) > count


def _parse_value(column: Column, raw: str) -> tuple[object, str | None]:
    """Return (value, problem) for one cell; ``problem`` is None when the value is acceptable."""
    raw = raw.strip()
    if column.required and raw == "":
        return None, f"{column.name} is required"
    if column.kind == "text":
        return raw, None
    if column.kind == "list":
        return [item.strip() for item in raw.split(",") if item.strip()], None
    if raw == "":
        return None, None
    if column.kind == "date":
        try:
            return dt.date.fromisoformat(raw), None
        except ValueError:
            return None, f"{column.name} {raw!r} is not a date (YYYY-MM-DD)"
    if column.kind == "datetime":
        try:
            return dt.datetime.fromisoformat(raw), None
        except ValueError:
            return None, f"{column.name} {raw!r} is not a date and time (YYYY-MM-DDTHH:MM:SS.sssZ)"
    if column.kind == "bool":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true", None
        return None, f"{column.name} {raw!r} is not true or false"
    if column.kind == "year":
        if raw.isdigit() and len(raw) == 4:
            return raw, None
        return None, f"{column.name} {raw!r} is not a four-digit year"
    if column.kind == "enum":
        canonical = {choice.lower(): choice for choice in column.choices}
        if raw.lower() in canonical:
            return canonical[raw.lower()], None
        return None, f"{column.name} {raw!r} is not one of {', '.join(column.choices)}"
    raise AssertionError(f"unknown column kind {column.kind}")


def _parse_file(
    source: _Source, filename: str, columns: dict[str, Column], problems: list[ImportProblem], bundle: Bundle
) -> RowStore | list[Row]:
    """The rows of ``filename`` without a problem of their own (a :class:`RowStore`); those rows' sourcedIds go to
    ``bundle.rejected_ids``, and a file that cannot be read to its end clears ``bundle.complete``."""
    records = _records(source, filename, problems)
    try:
        _, header = next(records)
    except StopIteration:
        if not any(p.file == filename for p in problems):
            problems.append(ImportProblem(filename, 1, "the file is empty (a header row is required)"))
        bundle.complete = False
        return []
    header = [name.strip() for name in header]
    header_problems = [
        *(f"unknown column {name!r}" for name in header if name not in columns),
        *(f"column {name!r} appears more than once" for name in sorted({n for n in header if header.count(n) > 1})),
        *(f"required column {c.name!r} is missing" for c in columns.values() if c.required and c.name not in header),
        *(f"column name {name!r} contains a control character" for name in header if control_character(name)),
    ]
    if header_problems:
        problems.extend(ImportProblem(filename, 1, reason) for reason in header_problems)
        bundle.complete = False
        return []

    names = (*header, *(name for name in columns if name not in header))
    index = {name: position for position, name in enumerate(names)}
    blanks = tuple([] if columns[name].kind == "list" else ("" if columns[name].kind == "text" else None) for name in names[len(header) :])
    sourced_id_at = index["sourcedId"]
    rows = RowStore(bundle.workspace, index)
    first_line_of = KeyLines(bundle.workspace)
    read_to_the_end = False
    for line, fields in records:
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            problems.append(ImportProblem(filename, line, f"{len(fields)} values for {len(header)} columns"))
            if sourced_id_at < len(fields) and fields[sourced_id_at].strip():
                bundle.rejected_ids.add(fields[sourced_id_at].strip())
            continue
        problems_before = len(problems)
        values = []
        for name, raw in zip(header, fields):
            if bad := control_character(raw):
                problems.append(ImportProblem(filename, line, f"{name} contains a control character ({bad})"))
                values.append(None)
                continue
            value, problem = _parse_value(columns[name], raw)
            if problem:
                problems.append(ImportProblem(filename, line, problem))
            values.append(value)
        sourced_id = values[sourced_id_at]
        if sourced_id:
            first_line = first_line_of.first((sourced_id,), line)
            if first_line is not None:
                problems.append(ImportProblem(filename, line, f"duplicate sourcedId {sourced_id!r} (first on line {first_line})"))
                continue
        if len(problems) > problems_before:
            if sourced_id:
                bundle.rejected_ids.add(sourced_id)
            continue
        rows.append(line, (*values, *blanks))
    else:
        read_to_the_end = True
    if not read_to_the_end or any(p.file == filename and p.line == 0 for p in problems):
        bundle.complete = False
    return rows


def _read_manifest(source: _Source, problems: list[ImportProblem]) -> dict[str, str]:
    if source.size("manifest.csv") is None:
        problems.append(ImportProblem("manifest.csv", 0, "the bundle has no manifest.csv"))
        return {}
    if _check_sizes(source, ["manifest.csv"], problems):
        return {}
    manifest: dict[str, str] = {}
    records = _records(source, "manifest.csv", problems)
    header = next(records, (1, []))[1]
    if [name.strip() for name in header] != ["propertyName", "value"]:
        problems.append(ImportProblem("manifest.csv", 1, "the header must be propertyName,value"))
        return {}
    for line, fields in records:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != 2:
            problems.append(ImportProblem("manifest.csv", line, f"{len(fields)} values for 2 columns"))
            continue
        if any(control_character(value) for value in fields):
            problems.append(ImportProblem("manifest.csv", line, "a control character in a property"))
            continue
        manifest[fields[0].strip()] = fields[1].strip()
    if manifest.get("oneroster.version", "1.1") != "1.1":
        problems.append(
            ImportProblem("manifest.csv", 0, f"oneroster.version is {manifest['oneroster.version']!r}; only 1.1 is read")
        )
    return manifest


def read_bundle(path: str | Path) -> Bundle:
    """Read and type-check every file of the OneRoster 1.1 CSV bundle at ``path`` (folder or .zip).

    ``manifest.csv`` decides which files are read: ``bulk`` files must be present, ``absent``
    ones are skipped even if present; ``delta`` files are refused (MySchool imports full
    bundles). Raises :class:`BundleError` listing every problem (file, line, reason).
    """
    bundle, problems = read_bundle_checked(path)
    if problems:
        raise BundleError(problems)
    return bundle


def read_bundle_checked(path: str | Path) -> tuple[Bundle, list[ImportProblem]]:
    """Like :func:`read_bundle`, but a bundle whose files could all be read comes back with its
    problems: the rows without a problem of their own, ``rejected_ids`` and ``complete``, so the
    importer can check the rest of the bundle in the same run. Raises :class:`BundleError` for
    what stops reading altogether (no readable manifest, sizes over the limits).
    """
    source = _Source(Path(path))
    problems: list[ImportProblem] = []
    manifest = _read_manifest(source, problems)
    bundle = Bundle()
    if problems:
        raise BundleError(problems)
    to_read: list[str] = []
    for name in FILES:
        mode = manifest.get(f"file.{name}", "absent").lower()
        filename = f"{name}.csv"
        if mode == "absent":
            continue
        if mode != "bulk":
            problems.append(ImportProblem("manifest.csv", 0, f"file.{name} is {mode!r}; only bulk and absent are supported"))
        elif source.size(filename) is None:
            problems.append(ImportProblem(filename, 0, "the manifest lists it as bulk but the bundle does not contain it"))
        else:
            to_read.append(name)
    if _check_sizes(source, ["manifest.csv", *(f"{name}.csv" for name in to_read)], problems):
        raise BundleError(problems)  # nothing of an oversized bundle is decompressed
    if problems:
        bundle.complete = False  # a file the manifest lists cannot be read
    for name in to_read:
        bundle.files[name] = _parse_file(source, f"{name}.csv", FILES[name], problems, bundle)
    bundle.ignored_files = [n for n in IGNORED_FILES if manifest.get(f"file.{n}", "absent").lower() != "absent"]
    return bundle, problems
