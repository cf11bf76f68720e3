"""The nightly schedule and its tasks: a real Redis broker and worker, summer time, retries and alerts."""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest
from celery.app import autoretry as celery_autoretry
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from lis import tasks
from lis.models import PublicationRun, PublishedObject, RunStatus, RunTrigger, SchoolSyncSettings
from lis.publication import runs as publication_runs
from lis.publication import service as publication_service
from myschool.celery import app
from tests import factories as f
from tests.lis.publication_fixtures import small_school
from tests.services import TEST_REDIS_URL, redis_problem, require

CET = ZoneInfo("CET")


@pytest.fixture
def redis_worker(settings):
    """A Celery worker thread consuming from a real Redis, with eager mode off for the test.

    Tasks go to a queue of this process's own, so test runs sharing one Redis never take each
    other's tasks.
    """
    require("Redis", redis_problem())
    assert app.conf.broker_url == TEST_REDIS_URL  # tests/settings.py
    queue = f"tests-{os.getpid()}"
    previous_queue = app.conf.task_default_queue
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30, queues=[queue]) as worker:
            yield worker
    finally:
        app.conf.update(task_always_eager=True, task_default_queue=previous_queue)


def wait_for_runs(count: int, timeout: float = 60) -> list[tuple[str, str]]:
    """(school code, status) of the nightly runs once ``count`` of them have finished (or at the timeout)."""
    finished = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.HELD)
    deadline = time.monotonic() + timeout
    while True:
        runs = list(PublicationRun.objects.filter(trigger="nightly").values_list("school__code", "status"))
        if (len(runs) >= count and all(status in finished for _, status in runs)) or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_nightly_fan_out_publishes_every_school_through_redis_and_a_worker(redis_worker):
    syncing = small_school("N1")
    switched_off = small_school("N2")
    publication_service.publish_school(switched_off.school)  # it has active objects…
    SchoolSyncSettings.objects.filter(school=switched_off.school).update(should_sync=False)  # …and is now switched off
    f.SchoolFactory(code="QUIET")  # never synced: nothing to do

    tasks.publish_nightly.delay()

    runs = wait_for_runs(2)
    assert sorted(runs) == [("N1", RunStatus.SUCCEEDED), ("N2", RunStatus.SUCCEEDED)]
    assert PublishedObject.objects.filter(school=syncing.school, status="active").count() == 35  # + the shared district org
    assert set(PublishedObject.objects.filter(school=switched_off.school).values_list("status", flat=True)) == {"tobedeleted"}


def _next_nightly(after: dt.datetime) -> dt.datetime:
    """When beat's nightly entry fires next after the aware instant ``after``."""
    schedule = app.conf.beat_schedule["publish-nightly"]["schedule"]
    schedule = type(schedule)(minute=schedule._orig_minute, hour=schedule._orig_hour, app=app)
    schedule.nowfun = lambda: after.astimezone(app.timezone)
    return after + schedule.remaining_estimate(after.astimezone(app.timezone))


def test_the_nightly_entry_runs_the_fan_out_at_midnight_in_the_sync_zone():
    entry = app.conf.beat_schedule["publish-nightly"]
    assert entry["task"] == "lis.tasks.publish_nightly"
    assert str(app.timezone) == "CET"
    fire = _next_nightly(dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.timezone.utc))
    assert fire.astimezone(dt.timezone.utc) == dt.datetime(2027, 1, 15, 23, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("after_utc", "expected_utc"),
    [
        # Summer time starts in the night of Sat 27 → Sun 28 March 2027 (02:00 CET → 03:00 CEST).
        (dt.datetime(2027, 3, 27, 12, 0), dt.datetime(2027, 3, 27, 23, 0)),  # 28 March 00:00 CET (+1)
        (dt.datetime(2027, 3, 28, 12, 0), dt.datetime(2027, 3, 28, 22, 0)),  # 29 March 00:00 CEST (+2)
        # Summer time ends in the night of Sat 30 → Sun 31 October 2027 (03:00 CEST → 02:00 CET).
        (dt.datetime(2027, 10, 30, 12, 0), dt.datetime(2027, 10, 30, 22, 0)),  # 31 October 00:00 CEST (+2)
        (dt.datetime(2027, 10, 31, 12, 0), dt.datetime(2027, 10, 31, 23, 0)),  # 1 November 00:00 CET (+1)
    ],
)
def test_the_nightly_entry_follows_summer_time(after_utc, expected_utc):
    fire = _next_nightly(after_utc.replace(tzinfo=dt.timezone.utc))
    assert fire.astimezone(dt.timezone.utc).replace(tzinfo=None) == expected_utc
    assert fire.astimezone(CET).time() == dt.time(0, 0)


@pytest.mark.django_db
def test_nightly_failure_is_emailed_to_support(monkeypatch, settings):
    settings.SUPPORT_EMAILS = ["support@myschool.example"]
    small = small_school()

    def explode(*args, **kwargs):
        raise RuntimeError("mapping bug")

    monkeypatch.setattr(publication_service._Publisher, "publish", explode)
    with pytest.raises(RuntimeError):
        tasks.publish_school_task.delay(small.school.pk)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["support@myschool.example"]
    assert "Nightly publication of Small School SM1 (SM1) failed" in message.subject
    assert "RuntimeError: mapping bug" in message.body


@pytest.mark.django_db
def test_the_failure_email_names_the_failed_run_even_when_support_queued_another(monkeypatch, settings):
    settings.SUPPORT_EMAILS = ["support@myschool.example"]
    small = small_school()

    def explode(self, *args, **kwargs):
        # Support clicks "Publish now" while the nightly run is working: a newer, queued run.
        PublicationRun.objects.create(school=self.school, trigger=RunTrigger.SUPPORT, status=RunStatus.QUEUED)
        raise RuntimeError("mapping bug")

    monkeypatch.setattr(publication_service._Publisher, "publish", explode)
    with pytest.raises(RuntimeError):
        tasks.publish_school_task.delay(small.school.pk)

    assert "RuntimeError: mapping bug" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_held_nightly_run_is_emailed_to_the_support_group(settings):
    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 0}
    f.support_user(email="ops@myschool.example")
    small = small_school()
    publication_service.publish_school(small.school)
    small.school.active_year = f.AcademicYearFactory(school=small.school, name="next", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31))
    small.school.save()

    assert tasks.publish_school_task.delay(small.school.pk).get() == RunStatus.HELD

    assert [m.to for m in mail.outbox] == [["ops@myschool.example"]]
    assert "is held" in mail.outbox[0].subject and "published classes" in mail.outbox[0].body


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_database_errors_are_retried_by_the_worker(monkeypatch, redis_worker):
    small = small_school()
    real = publication_service.publish_school
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(publication_runs, "publish_school", flaky)
    # The task's retry_backoff (60: a first retry within 0–60 s, jittered) is read when Celery
    # wraps the task, so setting the attribute now changes nothing; the retry is made at once by
    # the interval Celery computes it with (the task's own backoff: test_database_errors_back_off).
    monkeypatch.setattr(celery_autoretry, "get_exponential_backoff_interval", lambda **_kwargs: 0)

    tasks.publish_school_task.delay(small.school.pk)

    assert wait_for_runs(1) == [("SM1", RunStatus.SUCCEEDED)]
    assert len(calls) == 2
    assert not mail.outbox


def test_database_errors_back_off():
    task = tasks.publish_school_task
    assert {OperationalError, InterfaceError} <= set(task.autoretry_for)
    assert (task.retry_backoff, task.max_retries) == (60, 3)  # retries within 1, 2 and 4 minutes, jittered


def test_tasks_have_time_limits():
    task = tasks.publish_school_task
    assert 0 < task.soft_time_limit < task.time_limit


@pytest.mark.django_db
def test_the_nightly_task_purges_expired_tombstones_of_a_school_it_no_longer_publishes(settings):
    settings.LIS = {"TOMBSTONE_RETENTION_DAYS": 90}
    small = small_school("P1")
    publication_service.publish_school(small.school)
    SchoolSyncSettings.objects.update_or_create(school=small.school, defaults={"should_sync": False})
    publication_service.publish_school(small.school, allow_mass_deletion=True)  # only tombstones are left
    tombstones = PublishedObject.objects.filter(school=small.school)
    assert not tombstones.filter(status="active").exists()
    total = tombstones.count()
    expired = list(tombstones.order_by("pk").values_list("pk", flat=True)[:5])
    PublishedObject.objects.filter(pk__in=expired).update(date_last_modified=timezone.now() - dt.timedelta(days=91))

    assert tasks.publish_nightly() == 0  # nothing to publish…

    assert not PublicationRun.objects.filter(trigger="nightly").exists()
    assert not PublishedObject.objects.filter(pk__in=expired).exists()  # …but its expired tombstones are purged
    assert tombstones.count() == total - 5  # the others stay for their retention
