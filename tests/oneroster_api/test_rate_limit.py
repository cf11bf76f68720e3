"""Per-client rate limits (oneroster-1.1.md §5): keyed by OAuth application, not IP; 429 + Retry-After.

SDS connectors of many schools reach us from the same Microsoft addresses, so two applications
calling from one IP must have separate budgets. In production the counters live in Redis and
are shared by every web process; the last tests prove that with a real Redis server
(skipped locally without one, failed in CI).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from django.core.cache.backends.redis import RedisCache

from oneroster_api.conf import DEFAULTS
from myschool.ratelimit import hit_rate_limit
from tests.services import TEST_REDIS_URL, redis_problem, require

from . import published as p


def code_minor(response) -> str:
    return response.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]


@pytest.fixture
def tiny_rate(settings):
    settings.ONEROSTER_API = {**settings.ONEROSTER_API, "API_RATE": "3/min"}


def test_default_rate_is_comfortably_above_what_sds_needs():
    count, _, period = DEFAULTS["API_RATE"].partition("/")
    assert period == "min" and int(count) >= 600


@pytest.mark.django_db
def test_over_the_rate_gives_429_with_retry_after_and_the_envelope(api, roster_a, token_a, tiny_rate):
    assert [api("users", token_a).status_code for _ in range(3)] == [200, 200, 200]
    response = api("users", token_a)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert code_minor(response) == "server_busy"
    assert response.json()["imsx_codeMajor"] == "failure"


@pytest.mark.django_db
def test_two_applications_from_one_ip_have_separate_budgets(api, roster_a, client_a, tiny_rate):
    second = p.oauth_client(p.integration(roster_a.school, name="Second tenant"), name="SDS A2")
    first_token, second_token = p.bearer_token(client_a), p.bearer_token(second)
    assert [api("users", first_token).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert [api("users", second_token).status_code for _ in range(3)] == [200, 200, 200]  # same REMOTE_ADDR


@pytest.mark.django_db
def test_two_tokens_of_one_application_share_its_budget(api, roster_a, client_a, tiny_rate):
    tokens = [p.bearer_token(client_a) for _ in range(2)]
    statuses = [api("users", tokens[n % 2]).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_requests_without_a_valid_token_are_not_counted(api, roster_a, token_a, tiny_rate):
    for _ in range(5):
        assert api("users", "not-a-token").status_code == 401
    assert api("users", token_a).status_code == 200


def test_the_window_resets(monkeypatch):
    from django.core.cache import cache

    clock = [1_000_040.0]  # 20 s into a minute
    monkeypatch.setattr("myschool.ratelimit.time", SimpleNamespace(time=lambda: clock[0]))
    key = f"window-{uuid.uuid4()}"
    assert [hit_rate_limit(key, "2/min", cache=cache) for _ in range(2)] == [None, None]
    assert hit_rate_limit(key, "2/min", cache=cache) == 60 - 20  # seconds left in this minute
    clock[0] += 40
    assert hit_rate_limit(key, "2/min", cache=cache) is None


@pytest.fixture
def redis_url():
    require("Redis", redis_problem())
    return TEST_REDIS_URL


@pytest.mark.redis
def test_redis_counts_are_shared_by_processes(redis_url):
    """Two cache clients with their own connection pools stand for two gunicorn workers."""
    worker_1, worker_2 = (RedisCache(redis_url, {"KEY_PREFIX": "rate-test"}) for _ in range(2))
    key = f"shared-{uuid.uuid4()}"
    results = [hit_rate_limit(key, "4/min", cache=worker) for worker in (worker_1, worker_2) * 3]
    assert results[:4] == [None] * 4
    assert all(isinstance(wait, int) and wait >= 1 for wait in results[4:])
    assert hit_rate_limit(f"other-{uuid.uuid4()}", "4/min", cache=worker_2) is None


@pytest.mark.redis
@pytest.mark.django_db
def test_api_throttle_on_redis(api, roster_a, token_a, tiny_rate, redis_url, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"api-test-{uuid.uuid4()}",  # a fresh budget on every run
        }
    }
    assert [api("users", token_a).status_code for _ in range(4)] == [200, 200, 200, 429]
