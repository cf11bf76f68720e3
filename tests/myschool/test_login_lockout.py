"""Admin login throttling (django-axes, settings.AXES_*): school staff locked per (username, address),
told when to try again in the sync zone; tested through the admin's real login form."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from importlib import import_module

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.utils import timezone

from myschool.roles import SCHOOL_ADMINISTRATORS_GROUP
from tests import factories as f
from tests import services

LOGIN_URL = "/admin/login/?next=/admin/"
RETRY_AT = re.compile(r"Try again after <strong id=\"retry-at\">(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) (CES?T)</strong>")


def log_in(client, username: str, password: str, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.fixture
def staff(db, school_a):
    return f.school_admin(school_a, username="teacher.kim")


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_out_even_for_the_right_one(client, staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_MINUTES == 15
    before = timezone.now()
    for _ in range(4):
        assert log_in(client, staff.username, "wrong-password").status_code == 200  # the form, with its error
    locked = log_in(client, staff.username, "wrong-password")
    assert locked.status_code == 429
    right = log_in(client, staff.username, f.PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    page = right.content.decode()
    assert "Too many failed logins" in page
    shown, zone = RETRY_AT.search(page).groups()
    # 15 minutes after the fifth failure, shown in CET (the sync zone), to the minute.
    expected_earliest = (before + dt.timedelta(minutes=15)).astimezone(ZoneInfo("CET")).replace(second=0, microsecond=0)
    shown_time = dt.datetime.strptime(shown, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("CET"))
    assert expected_earliest <= shown_time <= expected_earliest + dt.timedelta(minutes=1)
    assert zone == shown_time.tzname()
    assert 14 * 60 <= int(right["Retry-After"]) <= 15 * 60


@pytest.mark.django_db
def test_tries_during_the_lockout_do_not_move_the_time_shown(client, staff):
    for _ in range(5):
        log_in(client, staff.username, "wrong-password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=10))
    first = RETRY_AT.search(log_in(client, staff.username, "wrong").content.decode()).group(1)
    second = log_in(client, staff.username, f.PASSWORD)
    assert RETRY_AT.search(second.content.decode()).group(1) == first
    assert int(second["Retry-After"]) <= 5 * 60


@pytest.mark.django_db
def test_colleagues_on_the_same_network_and_the_same_user_elsewhere_are_not_locked(client, staff, school_a):
    colleague = f.school_admin(school_a, username="teacher.lee")
    for _ in range(6):
        log_in(client, staff.username, "wrong-password")
    assert log_in(client, staff.username, f.PASSWORD).status_code == 429
    assert logged_in(log_in(client, colleague.username, f.PASSWORD))  # same address (the school's NAT)
    client.logout()
    assert logged_in(log_in(client, staff.username, f.PASSWORD, REMOTE_ADDR="203.0.113.7"))  # at home


@pytest.mark.django_db
def test_behind_a_proxy_the_lockout_follows_the_forwarded_address(client, staff, settings):
    settings.TRUSTED_PROXIES = 1
    office = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    home = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    for _ in range(5):
        log_in(client, staff.username, "wrong-password", **office)
    assert log_in(client, staff.username, f.PASSWORD, **office).status_code == 429
    assert AccessAttempt.objects.get(username=staff.username).ip_address == "198.51.100.20"
    assert logged_in(log_in(client, staff.username, f.PASSWORD, **home))  # not every user behind the proxy


@pytest.mark.django_db
def test_after_the_cool_off_the_right_password_logs_in_and_clears_the_count(client, staff):
    for _ in range(5):
        log_in(client, staff.username, "wrong-password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert logged_in(log_in(client, staff.username, f.PASSWORD))
    assert not AccessAttempt.objects.filter(username=staff.username).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_lockout_page_in_a_real_browser(live_server, monkeypatch, settings, school_a):
    services.require("Chromium", services.chromium_problem())
    from playwright.sync_api import sync_playwright

    from tests.lis.test_lis_browser import CHROMIUM_ARGS

    # An earlier transactional test's flush empties the groups: make the one school_admin() joins again.
    roles = import_module("myschool.migrations.0002_roles")
    roles.grant(apps, SCHOOL_ADMINISTRATORS_GROUP, roles.SCHOOL_ADMINISTRATOR_PERMISSIONS)
    staff = f.school_admin(school_a, username="teacher.kim")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=services.CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=live_server.url).new_page()
            for password in ["wrong"] * 5 + [f.PASSWORD]:
                page.goto(LOGIN_URL)
                page.fill("#id_username", staff.username)
                page.fill("#id_password", password)
                page.click("input[type=submit]")
            assert page.locator("#content h1").first.inner_text() == "Too many failed logins"
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} CES?T", page.locator("#retry-at").inner_text())
            assert "/admin/login/" in page.url
        finally:
            browser.close()
            from django.db import connections

            connections.close_all()
