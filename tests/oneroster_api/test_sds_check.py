"""``sds_check``: its rules one by one (pure), then the whole command over real HTTP against a live server.

The live-server tests publish a real school with the real publication (``small_school`` +
``publish_school``), connect an integration and an OAuth client with a known secret, and run
``manage.py sds_check`` against ``live_server`` — exactly what support staff would type.
"""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from requests.structures import CaseInsensitiveDict
from django.core.management import CommandError, call_command

from lis.models import PublishedObject
from lis.publication import publish_school
from oneroster_api.conf import ROSTER_CORE
from oneroster_api.sds_check import CheckConfig, run_check
from oneroster_api.sds_check.client import Reply
from oneroster_api.sds_check.report import Report
from oneroster_api.sds_check.rules import PageTracker, check_delta, check_object, check_response
from tests.lis.publication_fixtures import small_school

from . import published as p

HREF = "https://sis.example/ims/oneroster/v1p1"
STAMP = "2026-09-01T12:00:00.123Z"


def ref(kind: str, collection: str, sourced_id: str) -> dict:
    return {"href": f"{HREF}/{collection}/{sourced_id}", "sourcedId": sourced_id, "type": kind}


GOOD = {
    "org": {"name": "Alder High", "type": "school", "identifier": "A100"},
    "academicSession": {
        "title": "2026/27", "type": "schoolYear", "startDate": "2026-08-01", "endDate": "2027-07-31",
        "schoolYear": "2027",
    },
    "course": {"title": "Math", "org": ref("org", "orgs", "o1"), "schoolYear": ref("academicSession", "academicSessions", "y")},
    "class": {
        "title": "Math 1", "classType": "scheduled", "course": ref("course", "courses", "c1"),
        "school": ref("org", "orgs", "o1"), "terms": [ref("academicSession", "academicSessions", "t1")],
        "grades": ["09", "KG"],
    },
    "user": {
        "username": "ada", "enabledUser": True, "givenName": "Ada", "familyName": "Lovelace", "role": "student",
        "identifier": "S1", "email": "ada@school.example", "orgs": [ref("org", "orgs", "o1")],
        "userIds": [{"type": "MySchool", "identifier": "S1"}],
    },
    "enrollment": {
        "user": ref("user", "users", "u1"), "class": ref("class", "classes", "k1"), "school": ref("org", "orgs", "o1"),
        "role": "student", "primary": False, "beginDate": "2026-08-01",
    },
    "demographics": {"birthDate": "2011-04-02", "sex": "female"},
}  # fmt: skip


def good(kind: str, **changes) -> dict:
    obj = {"sourcedId": "x1", "status": "active", "dateLastModified": STAMP, **copy.deepcopy(GOOD[kind])}
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


# rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", GOOD)
def test_good_objects_pass(kind):
    assert check_object(kind, good(kind)) == []


@pytest.mark.parametrize(
    ("kind", "changes", "expected"),
    [
        ("org", {"identifier": ""}, "required field identifier"),
        ("org", {"identifier": None}, "required field identifier"),
        ("user", {"identifier": None}, "required field identifier"),
        ("user", {"username": "ada@school.example"}, "contains '@'"),
        ("user", {"role": "pupil"}, "role 'pupil' is not one of"),
        ("user", {"enabledUser": "true"}, "enabledUser 'true' is not a JSON boolean"),
        ("user", {"orgs": []}, "required field orgs"),
        ("user", {"password": "hunter2"}, "password must never be served"),
        ("user", {"userIds": [{"type": "x"}]}, "userIds[0]"),
        ("org", {"type": "campus"}, "type 'campus' is not one of"),
        ("class", {"classType": "lecture"}, "classType 'lecture'"),
        ("class", {"terms": []}, "required field terms"),
        ("class", {"grades": ["9th"]}, "not CEDS grade codes"),
        ("class", {"school": {"href": "/relative/o1", "sourcedId": "o1", "type": "org"}}, "not an absolute URL"),
        ("class", {"course": {"href": f"{HREF}/courses/c2", "sourcedId": "c1", "type": "course"}}, "does not end"),
        ("class", {"course": {"href": f"{HREF}/courses/c1", "sourcedId": "c1", "type": "thing"}}, "not a OneRoster type"),
        ("course", {"org": None}, "required field org"),
        ("enrollment", {"role": "owner"}, "role 'owner'"),
        ("enrollment", {"beginDate": "2026-02-30"}, "beginDate '2026-02-30' is not a date"),
        ("enrollment", {"primary": 1}, "primary 1 is not a JSON boolean"),
        ("academicSession", {"startDate": "01/08/2026"}, "startDate '01/08/2026' is not a date"),
        ("academicSession", {"schoolYear": "2026/27"}, "schoolYear '2026/27' is not a string of digits"),
        ("academicSession", {"schoolYear": 2027}, "schoolYear 2027 is not a string of digits"),
        ("academicSession", {"type": "quarter"}, "type 'quarter'"),
        ("demographics", {"sex": "x"}, "sex 'x'"),
        ("demographics", {"birthDate": "2011-4-2"}, "birthDate '2011-4-2'"),
        ("org", {"sourcedId": ""}, "sourcedId is missing"),
        ("org", {"status": "deleted"}, "status 'deleted'"),
        ("org", {"dateLastModified": "2026-09-01T12:00:00Z"}, "dateLastModified"),
        ("org", {"dateLastModified": "2026-09-01 12:00:00.123Z"}, "dateLastModified"),
        ("org", {"dateLastModified": "2026-13-01T12:00:00.123Z"}, "dateLastModified"),
    ],
)
def test_each_rule_fails_a_bad_object(kind, changes, expected):
    problems = check_object(kind, good(kind, **changes))
    assert any(expected in problem for problem in problems), problems


def test_a_non_object_fails():
    assert check_object("user", ["not", "an", "object"])


def test_delta_bounds():
    since = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
    now = since + dt.timedelta(hours=1)
    assert check_delta(good("user"), since, now) == []
    assert check_delta(good("user", dateLastModified="2026-09-01T12:00:00.000Z"), since, now) == []  # ≥, not >
    assert "before the delta cutoff" in check_delta(good("user", dateLastModified="2026-09-01T11:59:59.999Z"), since, now)[0]
    assert "in the future" in check_delta(good("user", dateLastModified="2026-09-01T13:00:00.001Z"), since, now)[0]


def test_duplicates_across_pages():
    tracker = PageTracker()
    assert tracker.add(["a", "b"]) == []
    assert tracker.add(["c"]) == []
    assert tracker.add(["b", "d"]) == ["sourcedId 'b' appeared twice in one pull"]


def test_response_checks():
    headers = {"Content-Type": "application/json", "X-Total-Count": "2"}
    ok = dict(wrapper="users", single=False, seconds=0.1, time_limit=30)
    assert check_response(200, headers, {"users": []}, **ok) == []
    assert check_response(200, {"Content-Type": "application/json"}, {"users": []}, **ok) == ["X-Total-Count header missing"]
    assert "expected 200" in check_response(500, headers, {"users": []}, **ok)[0]
    assert "Content-Type" in check_response(200, {**headers, "Content-Type": "text/html"}, {"users": []}, **ok)[0]
    assert "is not an array" in check_response(200, headers, {"users": {}}, **ok)[0]
    assert "expected 1" in check_response(200, headers, {"user": {}}, **{**ok, "wrapper": "user", "single": True})[0]
    assert "over the 30 s limit" in check_response(200, headers, {"users": []}, **{**ok, "seconds": 31})[0]


def test_report_lines():
    report = Report("https://sis.example as client c")
    report.stats("GET /users").requests = 2
    assert report.passed and report.lines()[-1].startswith("RESULT: PASS")
    report.stats("GET /users").failures.append("GET /users: user u1: username 'a@b' contains '@'")
    lines = report.lines()
    assert "RESULT: FAIL - 1 failure(s)" in lines
    assert "  - GET /users: user u1: username 'a@b' contains '@'" in lines


# the command over real HTTP --------------------------------------------------------------------------


@pytest.fixture
def deployment(transactional_db, live_server):
    """A published small school, an active integration for it and an OAuth client with a known secret."""
    small = small_school(share_demographics=True)
    publish_school(small.school)
    application = p.oauth_client(p.integration(small.school, name="Self check"), secret="sds-check-secret")
    return {
        "base_url": f"{live_server.url}/ims/oneroster/v1p1",
        "token_url": f"{live_server.url}/oauth/token/",
        "client_id": application.client_id,
        "client_secret": "sds-check-secret",
        "since": "2020-01-01T00:00:00.000Z",
    }


def sds_check(capsys, **options) -> tuple[bool, str]:
    """Run the command as typed on a shell (so argparse converts every option); (passed, stdout)."""
    argv = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    try:
        call_command("sds_check", *argv)
        passed = True
    except CommandError:
        passed = False
    return passed, capsys.readouterr().out


def test_a_real_publication_passes(deployment, capsys):
    passed, out = sds_check(capsys, **deployment, page_size=3)
    assert passed, out
    assert "RESULT: PASS" in out
    for label in ["POST token", "GET /users", "GET /enrollments", "GET /demographics", "GET /users (delta)",
                  "GET /schools/{id}/students", "GET /terms/{id}", "GET /classes/{id}"]:  # fmt: skip
        assert any(line.startswith(label + " ") for line in out.splitlines()), (label, out)
    users = next(line for line in out.splitlines() if line.startswith("GET /users "))
    assert int(users.split()[3].replace(",", "")) >= 9  # records: 6 students + 3 teachers, more with filters


def test_demographics_without_the_scope_are_skipped(deployment, capsys):
    passed, out = sds_check(capsys, **deployment, scope=ROSTER_CORE)
    assert passed, out
    assert "skipped: HTTP 403" in next(line for line in out.splitlines() if line.startswith("GET /demographics "))


def test_a_username_with_at_fails_the_check(deployment, capsys):
    user = PublishedObject.objects.filter(kind="user", subtype="student").order_by("sourced_id").first()
    user.payload = {**user.payload, "username": "pupil@school.example"}
    user.save()
    passed, out = sds_check(capsys, **deployment)
    assert not passed
    assert "RESULT: FAIL" in out
    assert f"user {user.sourced_id}: username 'pupil@school.example' contains '@'" in out


def test_a_wrong_secret_aborts(deployment, capsys):
    passed, out = sds_check(capsys, **{**deployment, "client_secret": "wrong"})
    assert not passed
    assert "ABORTED: no access token" in out



# the runner against a scripted server (no HTTP) ---------------------------------------------------


class ScriptedClient:
    """Stands in for :class:`OneRosterClient`: a tiny in-memory OneRoster server with injectable bugs."""

    WRAPPERS = {"academicSessions": "academicSession", "orgs": "org", "users": "user", "classes": "class",
                "enrollments": "enrollment", "courses": "course", "demographics": "demographics",
                "schools": "org", "students": "user", "teachers": "user", "terms": "academicSession"}  # fmt: skip
    bugs: set[str] = set()

    def __init__(self, *args, **kwargs) -> None:
        self.data = {kind: [good(kind, sourcedId=f"{kind}-{n}") for n in range(3)] for kind in GOOD}
        self.data["org"][0]["type"] = "school"
        self.data["user"][1]["role"] = "teacher"

    def fetch_token(self):
        return Reply("token", 200, CaseInsensitiveDict(), {"access_token": "t"}, 0.01)

    def get(self, path: str, params: dict | None = None):
        params, parts = params or {}, path.split("/")
        collection = parts[-1] if len(parts) > 2 else parts[0]  # schools/x/students → students
        kind = self.WRAPPERS[collection]
        objects = [o for o in self.data[kind] if collection not in ("students", "teachers") or o["role"] == collection[:-1]]
        if collection == "schools":
            objects = [o for o in objects if o.get("type") == "school"]
        if len(parts) == 2:
            match = [o for o in objects if o["sourcedId"] == parts[1]]
            body = {SINGULAR_OF[kind]: match[0]} if match else {}
            return Reply(path, 200 if match else 404, CaseInsensitiveDict({"Content-Type": "application/json",
                         "X-Total-Count": "1"}), body, 0.01)  # fmt: skip
        where = params.get("filter", "")
        for field, predicate, value in re.findall(r"(\w+)(=|>)'([^']*)'", where):  # AND only
            objects = [o for o in objects if (o.get(field) == value if predicate == "=" else o.get(field, "") > value)]
        if "unknown" in path:
            objects = []
        if "dateLastModified>" in where and "delta-too-old" in self.bugs:
            objects = [{**objects[0], "dateLastModified": "2000-01-01T00:00:00.000Z"}]
        offset = 0 if "repeat-pages" in self.bugs else int(params.get("offset", 0))
        page = objects[offset : offset + int(params.get("limit", 100))]
        headers = CaseInsensitiveDict({"Content-Type": "application/json", "X-Total-Count": str(len(objects))})
        return Reply(path, 200, headers, {collection_wrapper(parts[-1]): page}, 0.01)


SINGULAR_OF = {"academicSession": "academicSession", "org": "org", "user": "user", "class": "class",
               "enrollment": "enrollment", "course": "course", "demographics": "demographics"}  # fmt: skip


def collection_wrapper(path: str) -> str:
    return {"schools": "orgs", "students": "users", "teachers": "users", "terms": "academicSessions"}.get(path, path)


def scripted_check(monkeypatch, *bugs: str) -> Report:
    monkeypatch.setattr(ScriptedClient, "bugs", set(bugs))
    monkeypatch.setattr("oneroster_api.sds_check.runner.OneRosterClient", ScriptedClient)
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    config = CheckConfig("http://sis.example/ims/oneroster/v1p1", "http://sis.example/token", "id", "secret",
                         page_size=2, since=since)  # fmt: skip
    return run_check(config)


def test_scripted_server_passes(monkeypatch):
    report = scripted_check(monkeypatch)
    assert report.passed, "\n".join(report.lines())


def test_records_repeated_across_pages_fail(monkeypatch):
    report = scripted_check(monkeypatch, "repeat-pages")
    assert "appeared twice in one pull" in "\n".join(report.lines(examples=50))


def test_delta_results_before_the_cutoff_fail(monkeypatch):
    report = scripted_check(monkeypatch, "delta-too-old")
    assert "is before the delta cutoff" in "\n".join(report.endpoints["GET /users (delta)"].failures)
