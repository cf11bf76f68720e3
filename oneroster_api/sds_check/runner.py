"""The request sequence of an SDS readiness check (oneroster-1.1.md §6) and what each answer must satisfy.

:func:`run_check` runs, over real HTTP and in this order:

1. the token request (client credentials, HTTP Basic);
2. SDS's **full pull**: ``/academicSessions``, ``/orgs``, ``/users``, ``/classes``, ``/enrollments``,
   ``/courses``, ``/demographics``, each paged ``offset``/``limit=<page size>`` with
   ``filter=status='active'`` — every object checked (§3), every result active, no sourcedId twice;
3. SDS's **delta pull** of the same endpoints with ``filter=dateLastModified>'<since>'`` and no status
   clause — every result ``since`` ≤ ``dateLastModified`` ≤ now;
4. SDS classic's requests: ``/schools``, ``/schools/{id}/classes|students|teachers|enrollments`` of
   the first school, ``/teachers``, ``/students``, ``/terms/{id}``, the filters
   ``role='student' AND dateLastModified>…``, ``schoolYear='…' AND status='active'``, ``email='…'``,
   ``username='…'``, ``sourcedId='…'`` (values seen in the full pull) and a single-object GET per kind;
5. the provider test collection's extra checks: ``offset=2&limit=1`` brings a record not on the
   first two pages, ``status='norecords'`` / ``sourcedId='norecords'`` and sub-collections of an
   unknown parent answer 200 with an empty array.

Every response must be 200 JSON with ``X-Total-Count`` and the right wrapper within the time limit.
**Demographics (decision):** a 403 there means the client was not given
``roster-demographics.readonly`` — SDS then does not ask for demographics either — so the endpoint
is reported *skipped*, not failed. Any other answer is checked like the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from .client import CheckAborted, OneRosterClient
from .report import Report
from .rules import PageTracker, check_delta, check_object, check_response, format_timestamp

# Full-pull endpoint → (wrapper, kind, singular wrapper of its single-object GET).
PULLED = {
    "academicSessions": ("academicSessions", "academicSession", "academicSession"),
    "orgs": ("orgs", "org", "org"),
    "users": ("users", "user", "user"),
    "classes": ("classes", "class", "class"),
    "enrollments": ("enrollments", "enrollment", "enrollment"),
    "courses": ("courses", "course", "course"),
    "demographics": ("demographics", "demographics", "demographics"),
}
# /schools/{id}/<sub> → (wrapper, kind), for the first school of the full pull.
SCHOOL_SUB_COLLECTIONS = {
    "classes": ("classes", "class"),
    "students": ("users", "user"),
    "teachers": ("users", "user"),
    "enrollments": ("enrollments", "enrollment"),
}
# Collections beyond the full pull that the norecords filters are tried on → wrapper.
CLASSIC_COLLECTIONS = {"schools": "orgs", "students": "users", "teachers": "users", "terms": "academicSessions"}
# Sub-collections tried under a parent id that does not exist → wrapper.
UNKNOWN_PARENT_PATHS = {
    "schools/{id}/classes": "classes",
    "schools/{id}/students": "users",
    "classes/{id}/students": "users",
    "terms/{id}/classes": "classes",
}
NO_RECORDS = "norecords"
UNKNOWN_PARENT = "sds-check-unknown-parent"
CLOCK_SKEW = dt.timedelta(seconds=5)  # a server clock slightly ahead of ours is not a delta failure


@dataclass(frozen=True)
class CheckConfig:
    """What to check and how: ``since`` is the delta cutoff (default: one hour before the start)."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str = ""
    page_size: int = 5000
    timeout: float = 30.0
    since: dt.datetime | None = None


def run_check(config: CheckConfig) -> Report:
    """Run the whole sequence against ``config.base_url``; never raises for what the server answers."""
    client = OneRosterClient(
        config.base_url, config.token_url, config.client_id, config.client_secret, config.scope, config.timeout
    )
    check = _Check(client, config, Report(f"{config.base_url} as client {config.client_id}"))
    try:
        check.run()
    except CheckAborted as exc:
        check.report.aborted = str(exc)
    return check.report


class _Check:
    def __init__(self, client: OneRosterClient, config: CheckConfig, report: Report) -> None:
        self.client = client
        self.config = config
        self.report = report
        self.since = config.since or dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        self.full: dict[str, list[dict]] = {}
        self.skipped: set[str] = set()
        self._total = ""  # X-Total-Count of the last good answer

    # plumbing -----------------------------------------------------------------------------------

    def fail(self, label: str, where: str, message: str) -> None:
        self.report.stats(label).failures.append(f"{where}: {message}")

    def get(self, label: str, path: str, params: dict, *, wrapper: str, kind: str | None, single: bool = False):
        """One GET, its response checks and object checks; the wrapper's value, or None when unusable."""
        reply = self.client.get(path, params)
        self._total = ""
        stats = self.report.stats(label)
        stats.requests += reply.attempts
        stats.slowest = max(stats.slowest, reply.seconds)
        where = f"GET /{path}" + (f"?{urlencode(params)}" if params else "")
        if reply.error:
            self.fail(label, where, f"no answer ({reply.error})")
            return None
        if path.startswith("demographics") and reply.status == 403:
            stats.skipped = "HTTP 403 (the token lacks roster-demographics.readonly)"
            self.skipped.add("demographics")
            return None
        problems = check_response(
            reply.status, reply.headers, reply.body, wrapper=wrapper, single=single,
            seconds=reply.seconds, time_limit=self.config.timeout,
        )  # fmt: skip
        for problem in problems:
            self.fail(label, where, problem)
        value = reply.body.get(wrapper) if isinstance(reply.body, dict) else None
        if not isinstance(value, dict if single else list):
            return None
        objects = [value] if single else value
        stats.records += len(objects)
        for obj in objects if kind else ():
            for problem in check_object(kind, obj):
                self.fail(label, where, f"{kind} {_id(obj)}: {problem}")
        self._total = reply.headers.get("X-Total-Count", "")
        return value

    def pull(self, path: str, wrapper: str, kind: str, params: dict, label: str | None = None) -> list[dict]:
        """Every page of ``path`` with ``params``; sourcedIds seen twice are failures."""
        label = label or f"GET /{path.split('/')[0]}"
        tracker, objects, offset = PageTracker(), [], 0
        while True:
            paging = {"offset": str(offset), "limit": str(self.config.page_size)}
            page = self.get(label, path, {**params, **paging}, wrapper=wrapper, kind=kind)
            if not page:
                return objects
            for problem in tracker.add(_id(obj) for obj in page):
                self.fail(label, f"GET /{path} offset={offset}", problem)
            objects += page
            offset += len(page)  # a server that clamps the limit still gets every page
            if not self._total.isdigit() or offset >= int(self._total):
                return objects

    def expect(self, label: str, where: str, condition: bool, message: str) -> None:
        if not condition:
            self.fail(label, where, message)

    def expect_all(self, label: str, what: str, objects: list[dict], predicate) -> None:
        """A failure for every object of ``objects`` for which ``predicate(obj)`` is false."""
        for obj in objects:
            if not predicate(obj):
                self.fail(label, f"{label} ({what})", f"{_id(obj)} does not match {what}")

    # the sequence -----------------------------------------------------------------------------

    def run(self) -> None:
        token = self.client.fetch_token()
        stats = self.report.stats("POST token")
        stats.requests, stats.slowest = token.attempts, token.seconds
        self.full_pull()
        self.delta_pull()
        self.classic()
        self.provider_checks()

    def full_pull(self) -> None:
        for path, (wrapper, kind, _single) in PULLED.items():
            objects = self.pull(path, wrapper, kind, {"filter": "status='active'"})
            self.full[path] = objects
            self.expect_all(f"GET /{path}", "filter=status='active'", objects, lambda o: o.get("status") == "active")

    def delta_pull(self) -> None:
        cutoff = format_timestamp(self.since)
        for path, (wrapper, kind, _single) in PULLED.items():
            if path in self.skipped:
                continue
            objects = self.pull(path, wrapper, kind, {"filter": f"dateLastModified>'{cutoff}'"}, f"GET /{path} (delta)")
            now = dt.datetime.now(dt.UTC)
            for obj in objects:
                for problem in check_delta(obj, self.since, now, skew=CLOCK_SKEW):
                    self.fail(f"GET /{path} (delta)", f"{kind} {_id(obj)}", problem)

    def classic(self) -> None:
        schools = self.pull("schools", "orgs", "org", {})
        self.expect_all("GET /schools", "type school", schools, lambda org: org.get("type") == "school")
        if schools:
            school = _id(schools[0])
            for sub, (wrapper, kind) in SCHOOL_SUB_COLLECTIONS.items():
                self.pull(f"schools/{school}/{sub}", wrapper, kind, {}, f"GET /schools/{{id}}/{sub}")
        for path, role in (("teachers", "teacher"), ("students", "student")):
            users = self.pull(path, "users", "user", {})
            self.expect_all(f"GET /{path}", f"role {role}", users, lambda user, role=role: user.get("role") == role)
        terms = [s for s in self.full.get("academicSessions", []) if s.get("type") == "term"]
        if terms:
            term = self._single("terms", "academicSession", "academicSession", terms[0])
            if term is not None:
                self.expect("GET /terms/{id}", "GET /terms/{id}", term.get("type") == "term", "not a term")
        self.classic_filters()
        self.single_gets()

    def classic_filters(self) -> None:
        cutoff = format_timestamp(self.since)
        now = dt.datetime.now(dt.UTC) + CLOCK_SKEW
        where = f"role='student' AND dateLastModified>'{cutoff}'"
        students = self.pull("users", "users", "user", {"filter": where})
        self.expect_all("GET /users", f"filter={where}", students, lambda user: user.get("role") == "student")
        for user in students:
            for problem in check_delta(user, self.since, now):
                self.fail("GET /users", f"filter={where}", f"user {_id(user)}: {problem}")
        years = sorted({s["schoolYear"] for s in self.full.get("academicSessions", []) if s.get("schoolYear")})
        if years:
            year = years[-1]
            where = f"schoolYear='{year}' AND status='active'"
            found = self.pull("academicSessions", "academicSessions", "academicSession", {"filter": where})
            self.expect("GET /academicSessions", f"filter={where}", bool(found), "no session matched")
            self.expect_all(
                "GET /academicSessions", f"filter={where}", found,
                lambda session: session.get("schoolYear") == year and session.get("status") == "active",
            )  # fmt: skip
        users = self.full.get("users", [])
        for field in ("email", "username"):
            user = next((u for u in users if u.get(field) and "'" not in u[field]), None)
            if user is not None:
                self.filter_finds("users", "users", "user", f"{field}='{user[field]}'", _id(user))
        for path, (wrapper, kind, _single) in PULLED.items():
            if self.full.get(path):
                sourced_id = _id(self.full[path][0])
                if "'" not in sourced_id:
                    self.filter_finds(path, wrapper, kind, f"sourcedId='{sourced_id}'", sourced_id, exactly=True)

    def filter_finds(self, path: str, wrapper: str, kind: str, where: str, sourced_id: str, exactly=False) -> None:
        found = [_id(obj) for obj in self.pull(path, wrapper, kind, {"filter": where})]
        ok = found == [sourced_id] if exactly else sourced_id in found
        self.expect(f"GET /{path}", f"GET /{path}?filter={where}", ok, f"expected {sourced_id!r}, got {found[:5]!r}")

    def single_gets(self) -> None:
        for path, (_wrapper, kind, singular) in PULLED.items():
            if self.full.get(path):
                self._single(path, singular, kind, self.full[path][0])
        users = self.full.get("users", [])
        for role, path in (("student", "students"), ("teacher", "teachers")):
            chosen = next((user for user in users if user.get("role") == role), None)
            if chosen is not None:
                self._single(path, "user", "user", chosen)

    def _single(self, path: str, singular: str, kind: str, expected: dict) -> dict | None:
        """GET ``/<path>/<expected's sourcedId>``: the object, which must be the one asked for."""
        label = f"GET /{path}/{{id}}"
        obj = self.get(label, f"{path}/{_id(expected)}", {}, wrapper=singular, kind=kind, single=True)
        if obj is not None:
            self.expect(label, f"GET /{path}/{_id(expected)}", _id(obj) == _id(expected), f"got {_id(obj)!r}")
        return obj

    def provider_checks(self) -> None:
        seen = []
        for offset in (0, 1, 2):
            page = self.get("GET /users", "users", {"offset": str(offset), "limit": "1"}, wrapper="users", kind="user")
            if not page:
                break
            if offset == 2:
                where, message = "GET /users?offset=2&limit=1", f"{_id(page[0])} was already on an earlier page"
                self.expect("GET /users", where, _id(page[0]) not in seen, message)
            seen.append(_id(page[0]))
        paths = {**{path: wrapper for path, (wrapper, _kind, _single) in PULLED.items()}, **CLASSIC_COLLECTIONS}
        for path, wrapper in paths.items():
            if path in self.skipped:
                continue
            for where in (f"status='{NO_RECORDS}'", f"sourcedId='{NO_RECORDS}'"):
                self.expect_empty(f"GET /{path}", path, wrapper, {"filter": where})
        for template, wrapper in UNKNOWN_PARENT_PATHS.items():
            self.expect_empty(f"GET /{template}", template.replace("{id}", UNKNOWN_PARENT), wrapper, {})

    def expect_empty(self, label: str, path: str, wrapper: str, params: dict) -> None:
        value = self.get(label, path, params, wrapper=wrapper, kind=None)
        where = f"GET /{path}" + (f"?{urlencode(params)}" if params else "")
        if value is not None:
            self.expect(label, where, value == [] and self._total == "0", f"expected no records, got {len(value)}")


def _id(obj: object) -> str:
    return str(obj.get("sourcedId", "?")) if isinstance(obj, dict) else "?"

