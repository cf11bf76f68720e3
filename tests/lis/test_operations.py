"""Support's "publish now" (once per school per day in the sync zone) and confirming held runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lis.models import PublicationRun, PublishedObject, RunStatus
from lis.publication import publish_school
from lis.publication.runs import OperationRefused, confirm_held_run, publish_now
from lis.publication.selectors import support_run_allowance
from tests import factories as f
from tests.lis.publication_fixtures import small_school

CET = ZoneInfo("CET")
pytestmark = pytest.mark.django_db


def at(year, month, day, hour, minute, tz=CET) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def backdate(run: PublicationRun, when: dt.datetime) -> None:
    PublicationRun.objects.filter(pk=run.pk).update(started_at=when)


def test_publish_now_runs_inline_without_a_broker_and_is_logged_as_support():
    small = small_school()
    support = f.support_user()

    run = publish_now(small.school, user=support)

    assert run.status == RunStatus.SUCCEEDED and run.trigger == "support" and run.triggered_by == support
    assert PublishedObject.objects.filter(status="active").exists()


def test_once_per_day_then_refused_until_midnight_in_the_sync_zone():
    small = small_school()
    support = f.support_user()
    evening = at(2027, 3, 10, 23, 30)  # 22:30 UTC
    first = publish_now(small.school, user=support, now=evening)
    backdate(first, evening)

    with pytest.raises(OperationRefused) as refused:
        publish_now(small.school, user=support, now=at(2027, 3, 10, 23, 50))
    assert "next extra run is allowed from 2027-03-11 00:00 CET" in str(refused.value)

    # 00:10 CET is still 23:10 UTC of the day before, but a new day in the sync zone.
    after_midnight = at(2027, 3, 11, 0, 10)
    assert after_midnight.astimezone(dt.timezone.utc).day == 10
    assert support_run_allowance(small.school, now=after_midnight).allowed
    assert publish_now(small.school, user=support, now=after_midnight).status == RunStatus.SUCCEEDED


def test_the_allowance_counts_only_the_same_school_and_support_runs(settings):
    settings.LIS = {"SUPPORT_RUNS_PER_DAY": 2}
    small, other = small_school("X1"), small_school("X2")
    support = f.support_user()
    publish_school(small.school, trigger="nightly")
    publish_now(other.school, user=support)
    now = timezone.now()
    allowance = support_run_allowance(small.school, now=now)
    assert (allowance.allowed, allowance.used, allowance.limit) == (True, 0, 2)
    publish_now(small.school, user=support)
    publish_now(small.school, user=support)
    assert not support_run_allowance(small.school).allowed


def test_a_held_run_is_confirmed_by_support_regardless_of_the_daily_limit(settings):
    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 0, "SUPPORT_RUNS_PER_DAY": 1}
    small = small_school()
    support = f.support_user()
    publish_now(small.school, user=support)
    small.school.active_year = f.AcademicYearFactory(
        school=small.school, name="next", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31)
    )
    small.school.save()
    held = publish_school(small.school, trigger="nightly").run
    assert held.status == RunStatus.HELD

    confirmation = confirm_held_run(held, user=support)

    assert confirmation.status == RunStatus.SUCCEEDED and confirmation.confirms == held
    assert confirmation.allow_mass_deletion
    with pytest.raises(OperationRefused, match="Only the latest run"):
        confirm_held_run(held, user=support)
