"""A publication's write transaction is short: while it diffs, other writers get their answers (both databases).

A real publication runs in a child process and pauses in its first phase (diff and stage) for
longer than the busy timeout every connection here is given (``DATABASE_SQLITE_TIMEOUT`` = 1 s
on SQLite, ``lock_timeout`` = 1 s on PostgreSQL). Meanwhile SDS takes a token over real HTTP and
support saves a form in the admin: both succeed at once, where a run holding the write lock for
its whole duration made them answer 503 after the timeout. The run then publishes correctly.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from lis.models import CourseSelection, PublicationRun, PublicationStage, PublicationStageReference, PublishedObject, RunStatus
from lis.publication import publish_school, service
from tests import factories as f
from tests.lis import publication_process
from tests.lis.publication_fixtures import small_school
from tests.lis.sds import SDS
from tests.oneroster_api import published as p

pytestmark = pytest.mark.django_db(transaction=True)

PAUSE = 4  # seconds the child stays in its first phase: well past the 1 s busy timeout


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Every connection opened from here on (live server threads, this one, the child) waits at most 1 s for a lock."""
    monkeypatch.setenv("DATABASE_SQLITE_TIMEOUT", "1")
    options = connection.settings_dict.setdefault("OPTIONS", {})
    if connection.vendor == "postgresql":
        monkeypatch.setitem(options, "options", "-c lock_timeout=1000")
    else:
        monkeypatch.setitem(options, "timeout", 1)
    connection.close()  # reopened with the option
    yield
    connection.close()


def test_token_and_admin_save_answer_at_once_while_a_long_run_diffs(live_server, client, short_busy_timeout):
    small = small_school()
    publish_school(small.school)
    sds = SDS(p.integration(small.school), url=live_server.url)
    client.force_login(f.support_user(username="support"))
    newcomer = f.StudentFactory(school=small.school)  # something for the run to write
    selection = CourseSelection.objects.get(course=small.courses[0])
    admin_url = reverse("admin:lis_courseselection_change", args=[selection.pk])

    child = publication_process.start(small.school.code, "user", PAUSE)  # pauses in phase 1, after staging users
    try:
        started = time.monotonic()
        token = sds.request_token()  # stores a token: a write
        saved = client.post(admin_url, {"sync": "on"})  # an admin save: a write and a log entry
        second = sds.request_token()
        elapsed = time.monotonic() - started
        still_diffing = child.poll() is None
    finally:
        child.wait(60)
    assert child.stdout.read().strip() == RunStatus.SUCCEEDED

    assert token.status == 200 and token.body["token_type"] == "Bearer" and token.body["access_token"]
    assert second.status == 200
    assert saved.status_code == 302
    assert still_diffing and elapsed < PAUSE  # answered during the run's first phase, no busy timeout
    run = PublicationRun.objects.filter(status=RunStatus.SUCCEEDED).latest("pk")
    assert run.counts["user"]["created"] == 1
    published = PublishedObject.objects.get(kind="user", sourced_id=newcomer.sourced_id)
    assert published.status == "active" and published.date_last_modified == run.committed_at
    assert sds.pull("users", since=None)[newcomer.sourced_id]["status"] == "active"
    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()  # stage cleared


def test_every_row_a_run_writes_carries_its_commit_time_and_nothing_else_does(short_busy_timeout):
    small = small_school()
    first = publish_school(small.school).run
    small.students[0].given_name = "Renamed"
    small.students[0].save()

    second = publish_school(small.school).run

    second.refresh_from_db()
    written = PublishedObject.objects.filter(last_run=second)
    assert set(written.values_list("date_last_modified", flat=True)) == {second.committed_at}
    assert set(written.values_list("sourced_id", flat=True)) == {small.students[0].sourced_id}
    untouched = PublishedObject.objects.filter(last_run=first)
    assert set(untouched.values_list("date_last_modified", flat=True)) == {first.committed_at}


def test_a_store_changed_between_diff_and_apply_makes_the_run_diff_again(monkeypatch):
    small = small_school()
    publish_school(small.school)
    student = small.students[0]
    student.given_name = "Renamed"
    student.save()
    real_apply, applies = service._apply, []

    def another_run_commits_first(publisher, run, **kwargs):
        applies.append(run.pk)
        if len(applies) == 1:  # as another school's run would, after this run read the row
            PublishedObject.objects.filter(kind="user", sourced_id=student.sourced_id).update(date_last_modified=timezone.now())
        return real_apply(publisher, run, **kwargs)

    monkeypatch.setattr(service, "_apply", another_run_commits_first)
    result = publish_school(small.school)

    assert result.status == RunStatus.SUCCEEDED and len(applies) == 2
    assert result.counts()["user"]["updated"] == 1
    row = PublishedObject.objects.get(kind="user", sourced_id=student.sourced_id)
    assert row.payload["givenName"] == "Renamed" and row.date_last_modified == result.run.committed_at
    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()


def test_a_killed_runs_stage_is_cleared_by_the_next_run():
    small = small_school()
    child = publication_process.start(small.school.code, "enrollment", 600)  # staged up to enrollments, then killed
    try:
        assert PublicationStage.objects.exists()  # its staged writes…
        assert not PublishedObject.objects.exists()  # …never reached the store
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)

    assert publish_school(small.school).status == RunStatus.SUCCEEDED

    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()
    assert PublishedObject.objects.filter(status="active", kind="user").count() == 9
