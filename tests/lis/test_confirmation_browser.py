"""The confirmation pages and the integration's lifecycle buttons in a real browser (Playwright + Debian's Chromium).

Switching a school off, switching its demographics off and *publish now* show what will happen (in MySchool words, with the
counts) before anything changes; *No, take me back* changes nothing; the confirm button does it.
The integration's page offers only the lifecycle steps that apply, each through a confirmation
page. Every page is screenshotted at 1024 and 1366 px into ``$TEST_ARTIFACTS_DIR`` (default
``test-artifacts/screenshots``), and its buttons and links must not lie under another element.
"""

from __future__ import annotations

import pytest
from django.core import mail

from lis.models import Integration, IntegrationStatus, PublicationRun, SchoolSyncSettings
from lis.publication import publish_school
from lis.selection.services import school_sync_settings_update
from tests import factories as f
from tests.lis.integration_steps import PUBLIC_BASE_URL, accepted
from tests.lis.publication_fixtures import small_school
from tests.lis.test_admin_layout_browser import HIDDEN, WIDTHS, artifacts_dir
from tests.lis.test_lis_browser import browser, log_in, school_administrators_group  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONFIRM_CONTROLS = "#lis-confirmation a, #lis-confirmation input[type=submit], #lis-confirmation textarea"


def look(page, name: str, selector: str) -> None:
    """Screenshot the current page at each width and fail when one of ``selector``'s elements is covered."""
    folder = artifacts_dir()
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        if hidden := page.evaluate(HIDDEN, selector):
            problems[width] = hidden
    assert not problems, problems


IN_DELETE_RED = """() => {
  // Whether the confirm button wears Django's delete colour (var(--delete-button-bg)).
  const probe = document.createElement("div");
  probe.style.background = "var(--delete-button-bg)";
  document.body.append(probe);
  const red = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return getComputedStyle(document.querySelector("#lis-confirm")).backgroundColor === red;
}"""


@pytest.fixture
def support():
    # A real member of the Support group (transactional tests start from the migrated groups).
    return f.support_user(username="confirm_support")


def test_switching_a_school_off_asks_first_with_the_counts(browser, live_server, support):  # noqa: F811
    built = small_school("BO")  # 2 courses and a homeroom; 6 students and 3 teachers
    school = built.school
    school_sync_settings_update(school=school, user=support, should_sync=True)
    publish_school(school)
    page = log_in(browser, live_server, support.username)
    page.goto(f"/admin/lis/classselection/?school={school.pk}")
    form = page.locator(f".lis-school-sync-form[data-school='{school.pk}']")
    form.locator("input[name=should_sync]").uncheck()
    form.locator("input[type=submit]").click()

    assert page.locator("h1").inner_text() == "Switch Small School BO off?"
    text = page.locator("#lis-confirmation").inner_text()
    assert "3 classes and 9 users" in text
    assert page.evaluate(IN_DELETE_RED)  # it removes classes and users from Microsoft
    look(page, "confirm-switch-off", CONFIRM_CONTROLS)

    page.get_by_text("No, take me back").click()
    page.wait_for_url("**/admin/lis/classselection/**")
    assert SchoolSyncSettings.objects.get(school=school).should_sync

    form = page.locator(f".lis-school-sync-form[data-school='{school.pk}']")
    form.locator("input[name=should_sync]").uncheck()
    form.locator("input[type=submit]").click()
    page.locator("#lis-confirm").click()
    page.wait_for_url("**/admin/lis/classselection/**")
    assert "Should sync school is now off for Small School BO." in page.locator(".messagelist").inner_text()
    assert not SchoolSyncSettings.objects.get(school=school).should_sync


def test_publish_now_asks_first_with_the_counts(browser, live_server, support):  # noqa: F811
    built = small_school("PN")
    school = built.school
    school_sync_settings_update(school=school, user=support, should_sync=True)
    page = log_in(browser, live_server, support.username)
    page.goto("/admin/lis/schoolsyncsettings/")
    row = page.locator("#result_list tr", has_text="Small School PN")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "publish_now")
    page.locator("button[name=index]").click()

    assert page.locator("h1").inner_text() == "Publish now?"
    text = page.locator("#lis-confirmation").inner_text()
    # Never published: everything is new in Microsoft (2 courses + the homeroom; 6 students + 3 teachers).
    assert "Small School PN (PN):" in text
    assert "Courses and classes: 3 added to Microsoft." in text
    assert "Students and teachers: 9 added to Microsoft." in text
    assert not page.evaluate(IN_DELETE_RED)  # publishing is not a deletion: the ordinary button colour
    look(page, "confirm-publish-now", CONFIRM_CONTROLS)

    page.get_by_text("No, take me back").click()
    page.wait_for_url("**/admin/lis/schoolsyncsettings/**")
    assert not PublicationRun.objects.filter(school=school).exists()

    row = page.locator("#result_list tr", has_text="Small School PN")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "publish_now")
    page.locator("button[name=index]").click()
    page.locator("#lis-confirm").click()
    page.wait_for_url("**/admin/lis/schoolsyncsettings/**")
    assert "Small School PN (PN): publication succeeded." in page.locator(".messagelist").inner_text()
    assert PublicationRun.objects.filter(school=school, trigger="support").count() == 1


def test_the_integration_page_offers_the_steps_that_apply(
    browser, live_server, support, school_a, settings  # noqa: F811
):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL  # the handoff link is https, as in production
    integration = accepted(school_a, actor=support)
    page = log_in(browser, live_server, support.username)
    change = f"/admin/lis/integration/{integration.pk}/change/"
    page.goto(change)
    tools = page.locator(".object-tools a.lis-lifecycle")
    assert tools.all_text_contents() == ["Issue credentials", "Suspend"]
    assert page.locator("#id_tenant_id").evaluate("e => e.scrollWidth <= e.clientWidth")  # the GUID fits
    assert page.locator("input[name=scopes][type=checkbox]").count() == 3
    look(page, "integration-change", ".object-tools a, #id_tenant_id, input[name=scopes]")

    tools.filter(has_text="Issue credentials").click()
    assert "emails the key contact" in page.locator("#lis-confirmation").inner_text()
    look(page, "confirm-issue-credentials", CONFIRM_CONTROLS)
    page.get_by_text("No, take me back").click()
    page.wait_for_url(f"**{change}")
    assert Integration.objects.get().status == IntegrationStatus.ACCEPTED and not mail.outbox

    page.locator(".object-tools a.lis-lifecycle", has_text="Issue credentials").click()
    page.locator("#lis-confirm").click()
    page.wait_for_url(f"**{change}")
    assert "was emailed a link" in page.locator(".messagelist").inner_text()
    assert Integration.objects.get().status == IntegrationStatus.CREDENTIALS_ISSUED
    assert page.locator(".object-tools a.lis-lifecycle").all_text_contents() == [
        "Resend credentials", "Rotate after a compromise", "Suspend"
    ]

    page.locator(".object-tools a.lis-lifecycle", has_text="Suspend").click()
    page.locator("#lis-confirm").click()  # the browser refuses an empty required reason
    assert page.locator("#id_reason").evaluate("e => !e.validity.valid")
    page.fill("#id_reason", "tenant asked to pause")
    look(page, "confirm-suspend", CONFIRM_CONTROLS)
    page.locator("#lis-confirm").click()
    page.wait_for_url(f"**{change}")
    assert Integration.objects.get().status == IntegrationStatus.SUSPENDED
    assert page.locator(".object-tools a.lis-lifecycle").all_text_contents() == ["Resume"]


def test_switching_demographics_off_asks_first_with_the_count(browser, live_server, support):  # noqa: F811
    built = small_school("DB", share_demographics=True)
    publish_school(built.school)
    settings = SchoolSyncSettings.objects.get(school=built.school)
    page = log_in(browser, live_server, support.username)
    change = f"/admin/lis/schoolsyncsettings/{settings.pk}/change/"
    page.goto(change)
    page.locator("#id_share_demographics").uncheck()
    page.locator("input[name=_save]").click()

    assert page.locator("h1").inner_text() == "Stop sharing demographics of Small School DB?"
    text = page.locator("#lis-confirmation").inner_text()
    assert "6 students' demographics (birth date, sex) will be deleted in Microsoft at the next publication" in text
    look(page, "confirm-demographics-off", CONFIRM_CONTROLS)

    page.get_by_text("No, take me back").click()
    page.wait_for_url(f"**{change}")
    assert page.locator("#id_share_demographics").is_checked()
    assert SchoolSyncSettings.objects.get(pk=settings.pk).share_demographics

    page.locator("#id_share_demographics").uncheck()
    page.locator("input[name=_save]").click()
    page.locator("#lis-confirm").click()
    page.wait_for_url("**/admin/lis/schoolsyncsettings/")
    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    assert not SchoolSyncSettings.objects.get(pk=settings.pk).share_demographics
