"""LIS Classes in a real browser: Debian's headless Chromium driven by Playwright for Python.

Skips locally (fails with CI=true) when Playwright or Chromium is missing; never downloads a browser.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connections

from lis.models import ClassSelection
from myschool.roles import SCHOOL_ADMINISTRATORS_GROUP
from tests import factories as f
from tests import services
from tests.lis.lis_pages import groups_created

# The live server needs committed rows, hence a transactional database.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def browser(monkeypatch, settings):
    """A headless Chromium; the ORM may be used while Playwright's event loop runs in this thread."""
    services.require("Chromium", services.chromium_problem())
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain HTTP: let the browser send the session and CSRF cookies back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=services.CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # While Playwright's event loop runs, asgiref keeps this thread's database connections
            # apart from the usual ones; close them here or they outlive the test database.
            connections.close_all()


@pytest.fixture(autouse=True)
def school_administrators_group(transactional_db):
    """The "School administrators" group as migration myschool.0002 makes it.

    An earlier transactional test's flush empties the groups (not the permissions, which
    ``post_migrate`` recreates), so make it again from the migration's own list.
    """
    roles = import_module("myschool.migrations.0002_roles")
    roles.grant(apps, SCHOOL_ADMINISTRATORS_GROUP, roles.SCHOOL_ADMINISTRATOR_PERMISSIONS)


@pytest.fixture
def homeroom(school_a):
    """Three homeroom classes of school A's active year, with their LIS rows (as an import makes them)."""
    classes = [
        f.SchoolClassFactory(school=school_a, year=school_a.active_year, name=f"Form 9{letter}") for letter in "ABC"
    ]
    groups_created(school_a)
    return classes


def log_in(browser, live_server, username: str):
    page = browser.new_context(base_url=live_server.url).new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", f.PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def sync_box(page, class_name: str):
    return page.locator("#result_list tr", has_text=class_name).locator("input[type=checkbox][name$='-sync']")


def test_granted_admin_ticks_two_classes_and_they_stay_ticked(browser, live_server, school_a, admin_a, homeroom):
    admin_a.groups.add(f.granted_group(school_a))
    page = log_in(browser, live_server, admin_a.username)
    assert page.locator("#content-main").get_by_text("Administer › Advanced options").is_visible()

    page.locator("#content-main").get_by_role("link", name="LIS Classes").click()
    page.wait_for_url("**/admin/lis/classselection/")
    assert page.locator("#lis-school-sync").get_by_text("0 of 3 selected for sync").is_visible()
    sync_box(page, "Form 9A").check()
    sync_box(page, "Form 9C").check()
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert page.get_by_text("2 LIS Classes were changed successfully.").is_visible()

    page.reload()
    assert sync_box(page, "Form 9A").is_checked()
    assert not sync_box(page, "Form 9B").is_checked()
    assert sync_box(page, "Form 9C").is_checked()
    assert page.locator("#lis-school-sync").get_by_text("2 of 3 selected for sync").is_visible()
    assert set(ClassSelection.objects.filter(sync=True).values_list("school_class__name", flat=True)) == {
        "Form 9A",
        "Form 9C",
    }


def test_ungranted_admin_sees_no_lis_entries(browser, live_server, school_a, homeroom):
    ungranted = f.school_admin(school_a, username="ungranted")
    page = log_in(browser, live_server, ungranted.username)
    body = page.locator("body").inner_text()
    assert "LIS Classes" not in body and "LIS Courses" not in body and "Advanced options" not in body
    assert page.goto("/admin/lis/classselection/").status == 403
