"""Reading uploaded CSV safely: bounded lines and fields, exact line numbers, no control characters.

Shared by the OneRoster CSV importer (:mod:`myschool.oneroster_csv.bundle`) and the primary-email
upload (:mod:`myschool.emails.bulk`). Files are read line by line from a binary stream, so memory
stays bounded by the longest line, never by the file. The limits are ``settings.MYSCHOOL_CSV``
(README, *Configuration*):

- ``MAX_FIELD_CHARS`` (int, 10,000): characters in one value;
- ``MAX_FILE_MB`` (int, 100): bytes of one CSV file, uncompressed;
- ``MAX_BUNDLE_MB`` (int, 300): bytes of all the files a bundle reads, uncompressed (zip bombs);
- ``MAX_UPLOAD_MB`` (int, 2): bytes of an uploaded primary-email file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.conf import settings

DEFAULTS = {"MAX_FIELD_CHARS": 10_000, "MAX_FILE_MB": 100, "MAX_BUNDLE_MB": 300, "MAX_UPLOAD_MB": 2}
MB = 1024 * 1024

# C0 controls other than tab, line feed and carriage return (which CSV itself uses), DEL, and C1 controls.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def csv_setting(name: str) -> int:
    """``settings.MYSCHOOL_CSV[name]`` or its default (see the module docstring); ``KeyError`` for an unknown name."""
    return getattr(settings, "MYSCHOOL_CSV", {}).get(name, DEFAULTS[name])


class CsvReadError(Exception):
    """The file cannot be read on from ``line`` (1-based): not UTF-8, a line or value too long, bad quoting."""

    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


def control_character(value: str) -> str | None:
    """``"U+0000"`` for the first control character in ``value`` (tab, CR and LF allowed), else ``None``."""
    found = CONTROL_CHARACTER.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def _text_lines(stream: BinaryIO | Iterable[bytes], max_line_bytes: int, counter: list[int]) -> Iterator[str]:
    """Decode ``stream`` one physical line at a time (a leading BOM dropped); ``counter[0]`` is the
    number of the line just yielded. Raises :class:`CsvReadError` for bytes that are not UTF-8 or
    a line longer than ``max_line_bytes``."""
    readline = getattr(stream, "readline", None)
    lines = iter(lambda: readline(max_line_bytes + 1), b"") if readline else iter(stream)
    for number, raw in enumerate(lines, start=1):
        counter[0] = number
        if len(raw) > max_line_bytes:
            raise CsvReadError(number, f"a line is longer than {max_line_bytes:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CsvReadError(number, "the file is not UTF-8 text") from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def csv_records(
    stream: BinaryIO | Iterable[bytes], *, delimiter: str = ",", max_field_chars: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line of the record, values)`` for every CSV record of the UTF-8 ``stream``
    (quoted line breaks included), reading one line at a time.

    ``max_field_chars`` defaults to ``MAX_FIELD_CHARS``. Raises :class:`CsvReadError` at the first
    record that cannot be read (a value over the limit, bytes that are not UTF-8, bad quoting);
    reading cannot go on after it.
    """
    limit = max_field_chars or csv_setting("MAX_FIELD_CHARS")
    counter = [0]
    # A line holds at most a few hundred values of at most ``limit`` characters of at most 4 bytes.
    reader = csv.reader(_text_lines(stream, limit * 4 * 100, counter), delimiter=delimiter)
    csv.field_size_limit(limit)  # process-wide, and the same value for every caller
    next_line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise CsvReadError(next_line, f"a value is longer than {limit:,} characters") from None
            raise CsvReadError(next_line, f"the CSV cannot be read here ({exc})") from None
        yield next_line, values
        next_line = counter[0] + 1
