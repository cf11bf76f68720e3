"""The OneRoster 1.1 filter grammar (oneroster-1.1.md §4), parsed into a tiny syntax tree.

Grammar (a decision where the spec is silent is marked *)::

    filter    := clause [ SP+ ("AND" | "OR") SP+ clause ]
    clause    := SP* field SP* predicate SP* "'" value "'" SP*     (* spaces around the predicate allowed)
    field     := name [ "." name ]                                  name := [A-Za-z][A-Za-z0-9_]*
    predicate := "=" | "!=" | ">" | ">=" | "<" | "<="  | "~"
    value     := one or more characters; "''" stands for one "'"    (* the escape for a quote)

At most two clauses and one logical operator, written in upper case with spaces on both sides.
The value is opaque here: ``AND``, ``OR`` and spaces inside the quotes are part of it. Refused
(→ :class:`QueryError`, codeMinor ``invalid_filter_field``): anything longer than
:data:`MAX_FILTER_LENGTH` characters, control characters anywhere (PostgreSQL cannot even
hold a NUL), an empty value, an unterminated quote, a third clause, unknown predicates, lower-case
operators. A blank filter is no filter (``None``). Pure Python: no Django, no HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import QueryError

MAX_FILTER_LENGTH = 1024
PREDICATES = ("!=", ">=", "<=", "=", ">", "<", "~")  # two-character ones first: longest match wins
LOGICAL_OPERATORS = ("AND", "OR")

_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Clause:
    """``field predicate 'value'``; ``field`` may be dotted (``school.sourcedId``)."""

    field: str
    predicate: str
    value: str


@dataclass(frozen=True)
class Filter:
    """One or two clauses; ``operator`` is ``"AND"`` or ``"OR"`` when there are two, else ``None``."""

    clauses: tuple[Clause, ...]
    operator: str | None = None


def parse_filter(text: str | None) -> Filter | None:
    """Parse the ``filter`` query parameter; ``None`` when absent or blank.

    Raises :class:`QueryError` (codeMinor ``invalid_filter_field``) describing the first problem
    and its character position.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    control = _CONTROL.search(text)
    if control:
        raise QueryError(f"The filter contains a control character at position {control.start()}.")
    parser = _Parser(text)
    first = parser.clause()
    if parser.at_end():
        return Filter((first,))
    operator = parser.logical_operator()
    second = parser.clause()
    if not parser.at_end():
        raise QueryError(
            f"Unexpected text at position {parser.pos}: "
            "a filter has at most two clauses joined by one ' AND ' or ' OR '."
        )
    return Filter((first, second), operator)


class _Parser:
    """A cursor over the filter text; each method consumes one production or raises QueryError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.text[self.pos :].strip() == ""

    def skip_spaces(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1
        return self.pos - start

    def clause(self) -> Clause:
        self.skip_spaces()
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise QueryError(f"Expected a field name at position {self.pos}, e.g. status='active'.")
        field = match.group()
        self.pos = match.end()
        self.skip_spaces()
        predicate = next((p for p in PREDICATES if self.text.startswith(p, self.pos)), None)
        if predicate is None:
            raise QueryError(f"Expected a predicate (= != > >= < <= ~) after {field!r} at position {self.pos}.")
        self.pos += len(predicate)
        self.skip_spaces()
        value = self.quoted_value(field)
        return Clause(field, predicate, value)

    def quoted_value(self, field: str) -> str:
        if not self.text.startswith("'", self.pos):
            raise QueryError(f"The value for {field!r} must be in single quotes (position {self.pos}).")
        start = self.pos
        self.pos += 1
        chunks: list[str] = []
        while True:
            quote = self.text.find("'", self.pos)
            if quote == -1:
                raise QueryError(f"The quote opened at position {start} is never closed.")
            chunks.append(self.text[self.pos : quote])
            if self.text.startswith("''", quote):
                chunks.append("'")
                self.pos = quote + 2
                continue
            self.pos = quote + 1
            break
        value = "".join(chunks)
        if value == "":
            raise QueryError(f"The value for {field!r} is empty.")
        return value

    def logical_operator(self) -> str:
        spaces_before = self.skip_spaces()
        operator = next((op for op in LOGICAL_OPERATORS if self.text.startswith(op, self.pos)), None)
        if operator is None or spaces_before == 0:
            raise QueryError(
                f"Expected ' AND ' or ' OR ' at position {self.pos} (upper case, with spaces on both sides)."
            )
        self.pos += len(operator)
        if self.skip_spaces() == 0:
            raise QueryError(f"Expected a space after {operator} at position {self.pos}.")
        return operator
