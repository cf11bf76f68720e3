"""The checks Microsoft's SDS provider tests make, as pure functions returning failure messages.

Independent of the server on purpose: nothing here imports the API, the publication or Django,
so a check of a deployment never agrees with a bug just because it shares the bug's code.
Every function returns a list of human-readable failure messages (empty: all good).

Rules, from oneroster-1.1.md:

- §3 objects: ``sourcedId``, ``status`` (``active``/``tobedeleted``) and ``dateLastModified``
  (``YYYY-MM-DDTHH:MM:SS.sssZ``, a real time) on every object; per kind the required fields
  present and non-empty (:data:`KIND_RULES`), enum values valid, dates ``YYYY-MM-DD`` and real,
  ``schoolYear`` digits, GUIDRefs ``{href (absolute URL ending in /sourcedId), sourcedId, type}``,
  ``username`` without ``@``, booleans real JSON booleans, grades CEDS codes, never ``password``.
- §4/§6 responses: HTTP 200, ``application/json``, ``X-Total-Count`` (``1`` on single GETs),
  the wrapper key an array (an object for single GETs), an answer within the time limit.
- §6 delta: every result's ``dateLastModified`` ≥ the filter value and ≤ now.
- §4 paging: no sourcedId twice across the pages of one pull (:class:`PageTracker`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
STATUSES = frozenset({"active", "tobedeleted"})
ROLES = frozenset({"student", "teacher", "administrator", "aide", "guardian", "parent", "proctor", "relative"})
REF_TYPES = frozenset(
    {
        "academicSession", "category", "class", "course", "demographics", "enrollment", "gradingPeriod",
        "lineItem", "org", "resource", "result", "student", "teacher", "term", "user",
    }
)  # fmt: skip
CEDS_GRADES = frozenset(
    {"IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG", "Other", "PostGraduate"}
)


@dataclass(frozen=True)
class KindRules:
    """What §3 demands of one kind: fields beyond the common three, by the check they get."""

    required: tuple[str, ...] = ()  # present and non-empty (lists: at least one element)
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dates: tuple[str, ...] = ()  # YYYY-MM-DD when present
    refs: tuple[str, ...] = ()  # a single GUIDRef when present
    ref_lists: tuple[str, ...] = ()  # a list of GUIDRefs when present
    booleans: tuple[str, ...] = ()  # a JSON boolean when present
    string_lists: tuple[str, ...] = ()  # a list of strings when present


KIND_RULES: dict[str, KindRules] = {
    "org": KindRules(
        required=("name", "type", "identifier"),
        enums={"type": frozenset({"school", "district", "department", "local", "state", "national"})},
        refs=("parent",),
        ref_lists=("children",),
    ),
    "academicSession": KindRules(
        required=("title", "type", "startDate", "endDate", "schoolYear"),
        enums={"type": frozenset({"schoolYear", "term", "semester", "gradingPeriod"})},
        dates=("startDate", "endDate"),
        refs=("parent",),
        ref_lists=("children",),
    ),
    "course": KindRules(
        required=("title", "org"),
        refs=("org", "schoolYear"),
        string_lists=("grades", "subjects", "subjectCodes"),
    ),
    "class": KindRules(
        required=("title", "classType", "course", "school", "terms"),
        enums={"classType": frozenset({"homeroom", "scheduled"})},
        refs=("course", "school"),
        ref_lists=("terms",),
        string_lists=("grades", "subjects", "subjectCodes", "periods"),
    ),
    "user": KindRules(
        required=("username", "enabledUser", "givenName", "familyName", "role", "identifier", "orgs"),
        enums={"role": ROLES},
        ref_lists=("orgs", "agents"),
        booleans=("enabledUser",),
        string_lists=("grades",),
    ),
    "enrollment": KindRules(
        required=("user", "class", "school", "role"),
        enums={"role": ROLES},
        dates=("beginDate", "endDate"),
        refs=("user", "class", "school"),
        booleans=("primary",),
    ),
    "demographics": KindRules(enums={"sex": frozenset({"male", "female"})}, dates=("birthDate",)),
}


def parse_timestamp(value: object) -> dt.datetime | None:
    """An aware UTC datetime from ``YYYY-MM-DDTHH:MM:SS.sssZ``; None for anything else."""
    if not isinstance(value, str) or not DATETIME.fullmatch(value):
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def check_ref(name: str, ref: object) -> list[str]:
    """A GUIDRef: ``{"href": absolute URL ending in /<sourcedId>, "sourcedId", "type"}``."""
    if not isinstance(ref, dict):
        return [f"{name} is not a GUIDRef object: {ref!r}"]
    problems = []
    sourced_id, href, ref_type = ref.get("sourcedId"), ref.get("href"), ref.get("type")
    if not isinstance(sourced_id, str) or not sourced_id:
        problems.append(f"{name}.sourcedId is missing or empty")
    if not isinstance(href, str) or not re.match(r"https?://[^/]+/", href):
        problems.append(f"{name}.href is not an absolute URL: {href!r}")
    elif isinstance(sourced_id, str) and sourced_id and not href.endswith("/" + sourced_id):
        problems.append(f"{name}.href {href!r} does not end with /{sourced_id}")
    if ref_type not in REF_TYPES:
        problems.append(f"{name}.type {ref_type!r} is not a OneRoster type")
    return problems


def check_object(kind: str, obj: object) -> list[str]:
    """Every §3 rule for one object of ``kind`` (a key of :data:`KIND_RULES`); messages name the field."""
    if not isinstance(obj, dict):
        return [f"not a JSON object: {obj!r:.80}"]
    problems = _check_common(obj)
    rules = KIND_RULES[kind]
    for name in rules.required:
        if _empty(obj.get(name)):
            problems.append(f"required field {name} is missing or empty")
    for name, allowed in rules.enums.items():
        if name in obj and obj[name] not in allowed:
            problems.append(f"{name} {obj[name]!r} is not one of {', '.join(sorted(allowed))}")
    for name in rules.dates:
        if not _empty(obj.get(name)) and not _is_date(obj[name]):
            problems.append(f"{name} {obj[name]!r} is not a date YYYY-MM-DD")
    for name in rules.refs:
        if not _empty(obj.get(name)):
            problems += check_ref(name, obj[name])
    for name in rules.ref_lists:
        if name in obj:
            if not isinstance(obj[name], list):
                problems.append(f"{name} is not a list")
                continue
            for index, ref in enumerate(obj[name]):
                problems += check_ref(f"{name}[{index}]", ref)
    for name in rules.booleans:
        if name in obj and not isinstance(obj[name], bool):
            problems.append(f"{name} {obj[name]!r} is not a JSON boolean")
    for name in rules.string_lists:
        if name in obj and not (isinstance(obj[name], list) and all(isinstance(v, str) for v in obj[name])):
            problems.append(f"{name} is not a list of strings: {obj[name]!r:.80}")
    problems += _KIND_EXTRAS.get(kind, lambda _obj: [])(obj)
    return problems


def _check_common(obj: dict) -> list[str]:
    problems = []
    if not isinstance(obj.get("sourcedId"), str) or not obj["sourcedId"]:
        problems.append("sourcedId is missing or empty")
    if obj.get("status") not in STATUSES:
        problems.append(f"status {obj.get('status')!r} is not active or tobedeleted")
    if parse_timestamp(obj.get("dateLastModified")) is None:
        problems.append(f"dateLastModified {obj.get('dateLastModified')!r} is not YYYY-MM-DDTHH:MM:SS.sssZ")
    if "password" in obj:
        problems.append("password must never be served")
    if "metadata" in obj and not isinstance(obj["metadata"], dict):
        problems.append("metadata is not an object")
    if "grades" in obj and isinstance(obj["grades"], list):
        unknown = [g for g in obj["grades"] if g not in CEDS_GRADES]
        if unknown:
            problems.append(f"grades {unknown!r} are not CEDS grade codes")
    return problems


def _check_session(obj: dict) -> list[str]:
    year = obj.get("schoolYear")
    if not _empty(year) and not (isinstance(year, str) and year.isascii() and year.isdigit()):
        return [f"schoolYear {year!r} is not a string of digits"]
    return []


def _check_user(obj: dict) -> list[str]:
    problems = []
    username = obj.get("username")
    if isinstance(username, str) and "@" in username:
        problems.append(f"username {username!r} contains '@' (SDS appends the domain)")
    for index, user_id in enumerate(obj.get("userIds") or []):
        if not (isinstance(user_id, dict) and isinstance(user_id.get("type"), str) and user_id.get("identifier")):
            problems.append(f"userIds[{index}] is not {{type, identifier}}: {user_id!r:.80}")
    return problems


_KIND_EXTRAS = {"academicSession": _check_session, "user": _check_user}


def check_delta(obj: dict, since: dt.datetime, now: dt.datetime, *, skew: dt.timedelta = dt.timedelta(0)) -> list[str]:
    """§6 delta: ``since`` ≤ ``dateLastModified`` ≤ ``now`` (+ ``skew`` for a server clock ahead of ours)."""
    modified = parse_timestamp(obj.get("dateLastModified"))
    if modified is None:
        return []  # check_object reports the format
    if modified < since:
        return [f"dateLastModified {obj['dateLastModified']} is before the delta cutoff {format_timestamp(since)}"]
    if modified > now + skew:
        return [f"dateLastModified {obj['dateLastModified']} is in the future (now {format_timestamp(now)})"]
    return []


def format_timestamp(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC, the form of a filter value."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def check_response(
    status: int,
    headers: Mapping[str, str],
    body: object,
    *,
    wrapper: str,
    single: bool,
    seconds: float,
    time_limit: float,
) -> list[str]:
    """§5/§6 response checks: 200, JSON, ``X-Total-Count``, the wrapper's shape, the time limit.

    ``headers`` must look names up case-insensitively (``requests``' headers do).
    """
    problems = []
    if status != 200:
        problems.append(f"HTTP {status}, expected 200")
    content_type = headers.get("Content-Type", "")
    if content_type.split(";")[0].strip() != "application/json":
        problems.append(f"Content-Type {content_type!r}, expected application/json")
    total = headers.get("X-Total-Count")
    if total is None:
        problems.append("X-Total-Count header missing")
    elif not total.isdigit():
        problems.append(f"X-Total-Count {total!r} is not a number")
    elif single and total != "1":
        problems.append(f"X-Total-Count {total!r} on a single-object GET, expected 1")
    value = body.get(wrapper) if isinstance(body, dict) else None
    expected = dict if single else list
    if not isinstance(value, expected):
        problems.append(f"wrapper key {wrapper!r} is not {'an object' if single else 'an array'}")
    if seconds > time_limit:
        problems.append(f"answered in {seconds:.1f} s, over the {time_limit:.0f} s limit")
    return problems


class PageTracker:
    """The sourcedIds seen so far in one pull; :meth:`add` reports those seen on an earlier page."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add(self, sourced_ids: Iterable[str]) -> list[str]:
        """Record one page's ids; a message for every id seen before in this pull (§4 stable paging)."""
        problems = []
        for sourced_id in sourced_ids:
            if sourced_id in self.seen:
                problems.append(f"sourcedId {sourced_id!r} appeared twice in one pull")
            self.seen.add(sourced_id)
        return problems
