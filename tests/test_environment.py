"""Guards that the suite runs where CI says it runs."""

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_suite_runs_on_the_expected_database():
    expected = os.environ.get("EXPECT_DATABASE")
    if expected is None:
        pytest.skip("EXPECT_DATABASE is not set (CI sets it for each run)")
    assert connection.vendor == expected
