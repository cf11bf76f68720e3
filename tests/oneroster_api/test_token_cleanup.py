"""Expired OAuth tokens are deleted by a Celery beat job (django-oauth-toolkit's ``clear_expired``),
run here by a real worker on Redis."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from myschool.celery import app
from oneroster_api import tasks
from tests.lis.test_tasks import redis_worker  # noqa: F401  (fixture)

from . import published as p


def test_beat_runs_the_cleanup_every_hour():
    entry = app.conf.beat_schedule["clear-expired-tokens"]
    assert entry["task"] == tasks.clear_expired_tokens.name
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == set(range(24)) and len(entry["schedule"].minute) == 1


def _token(application, *, expires_in: dt.timedelta) -> AccessToken:
    return AccessToken.objects.create(
        application=application, token=f"t-{time.monotonic_ns()}", expires=timezone.now() + expires_in, scope="x"
    )


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_job_deletes_expired_tokens_and_keeps_live_ones(redis_worker, school_a):  # noqa: F811
    client = p.oauth_client(p.integration(school_a, name="Contoso A"), name="SDS A")
    expired = [_token(client, expires_in=-dt.timedelta(seconds=s)) for s in (1, 3600, 86400 * 30)]
    live = _token(client, expires_in=dt.timedelta(minutes=59))
    tasks.clear_expired_tokens.delay()
    deadline = time.monotonic() + 60
    while AccessToken.objects.count() > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not AccessToken.objects.filter(pk__in=[t.pk for t in expired]).exists()
