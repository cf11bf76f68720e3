"""The admin's pages at 1024 and 1366 px: nothing hides a column, an input or a link.

LIS Courses, LIS Classes, Primary emails, School sync settings, the integrations (list and an
integration's page) and the publication runs (list and a run's page), seen by a real member of the
*Support* group and — for the pages a school administrator has — by a granted school administrator.
Each header cell, each input/link of the first rows and each field, label and button of a form is
scrolled into view and must be the element at its own centre (``document.elementFromPoint``): a
filter panel or a button on top, or an element pushed off screen, fails the test; so does a date
broken across lines or an input too narrow for its value. Screenshots go to ``$TEST_ARTIFACTS_DIR`` (default ``test-artifacts/screenshots``),
printed at the start; CI keeps them as artefacts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lis.models import PublicationRun
from lis.publication import publish_school
from lis.selection.services import school_sync_settings_update
from tests import factories as f
from tests.lis.integration_steps import PUBLIC_BASE_URL, accepted
from tests.lis.test_lis_browser import browser, log_in, school_administrators_group  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1024, 1366)
PAGES = {
    "lis-courses": "/admin/lis/courseselection/",
    "lis-classes": "/admin/lis/classselection/",
    "primary-emails": "/admin/myschool/primaryemail/",
    "school-sync-settings": "/admin/lis/schoolsyncsettings/",
}
HIDDEN = """(selector) => {
  // Only the window scrolls, vertically: a column pushed out of its table's visible width
  // (a horizontal scroll bar nobody notices) counts as hidden too.
  const hidden = [];
  for (const element of document.querySelectorAll(selector)) {
    const before = element.getBoundingClientRect();
    window.scrollTo(0, window.scrollY + before.top + before.height / 2 - window.innerHeight / 2);
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const top = document.elementFromPoint(x, y);
    if (!top || (top !== element && !element.contains(top) && !top.contains(element))) {
      hidden.push((element.textContent || element.name || element.outerHTML.slice(0, 60)).trim() +
                  " under " + (top ? top.outerHTML.slice(0, 80) : "nothing"));
    }
  }
  return hidden;
}"""
OVERFLOW = """() => {
  const problems = [];
  // The filter panel (and its header bar) must end where the list ends, not run past it.
  const list = document.querySelector("#changelist, .emails-layout");
  if (list) {
    const right = list.getBoundingClientRect().right + 1;
    problems.push(...[...document.querySelectorAll("#changelist-filter, #changelist-filter > h2, #changelist-filter > details")]
      .filter((element) => element.getBoundingClientRect().right > right)
      .map((element) => element.outerHTML.slice(0, 60) + " ends at " + element.getBoundingClientRect().right + " > " + right));
  }
  // Tables end inside the page's content box, never at (or past) the window's edge.
  const content = document.querySelector("#content");
  if (content) {
    const edge = content.getBoundingClientRect().right - parseFloat(getComputedStyle(content).paddingRight) + 1;
    for (const table of document.querySelectorAll("#result_list, .inline-group table, fieldset table")) {
      const right = table.getBoundingClientRect().right;
      if (table.getBoundingClientRect().width && right > edge) {
        problems.push((table.id || table.closest(".inline-group, fieldset")?.id || "a table") + " ends at " + right + " > " + edge);
      }
    }
  }
  // Each filter's heading sits right above its choices, not beside or away from them.
  for (const heading of document.querySelectorAll("#changelist-filter h3")) {
    const choices = heading.nextElementSibling;
    if (!choices || choices.tagName !== "UL") continue;
    const h = heading.getBoundingClientRect(), c = choices.getBoundingClientRect();
    if (c.top < h.bottom - 1 || c.top - h.bottom > 24 || Math.abs(c.left - h.left) > 40) {
      problems.push("the choices of '" + heading.textContent.trim() + "' are away from their heading");
    }
  }
  return problems;
}"""
WHOLE = """() => {
  const problems = [];
  // A date ("2026-12-02") is read whole: a narrow column may break between a date and its time, never inside it.
  const walker = document.createTreeWalker(document.querySelector("#content") || document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const match of node.data.matchAll(/\\d{4}-\\d{2}-\\d{2}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
      if (lines.size > 1) problems.push("the date " + match[0] + " breaks across lines in " + node.parentElement.outerHTML.slice(0, 80));
    }
  }
  // An input shows its whole value: an email cut off inside its box cannot be checked by eye.
  for (const input of document.querySelectorAll("#result_list input[type=text], #result_list input[type=email], .emails-layout input[type=email]")) {
    if (input.value && input.scrollWidth > input.clientWidth + 1) problems.push(input.name + " cuts off " + input.value);
  }
  return problems;
}"""
CHECKED = ", ".join([
    "#result_list thead th", "#result_list tbody tr:nth-child(-n+3) input", "#result_list tbody tr:nth-child(-n+3) a",
    "#lis-school-sync a", "#lis-school-sync input", ".object-tools a",
    # change and view pages: every field's label, input and link, the inlines' headers, the buttons
    ".form-row label", ".form-row input:not([type=hidden])", ".form-row select", ".form-row textarea", ".form-row a",
    ".form-row .readonly", ".inline-group thead th", ".submit-row input", ".submit-row a",
])


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR", "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nScreenshots: {folder.resolve()}")
    return folder


@pytest.fixture
def school_with_rows(school_a):
    for grade, letters in (("07", "AB"), ("10", "AB")):
        for letter in letters:
            klass = f.SchoolClassFactory(school=school_a, year=school_a.active_year, name=f"Art {int(grade)}{letter}", grade_level=grade)
            f.ClassStudentFactory.create_batch(2, school_class=klass)
            f.ClassTeacherFactory(school_class=klass)
    # A real-world-length address: the mass edit must show it whole at 1024 px.
    f.StudentFactory(school=school_a, family_name="Aardvark", primary_email="ada.lovelace-byron@students.alder-high.example")
    subject = f.SubjectFactory(school=school_a, name="Art")
    for n in range(4):
        course = f.CourseFactory(school=school_a, year=school_a.active_year, subject=subject, name=f"Art group {n + 1}", grade_levels="07,10")
        f.CourseStudentFactory.create_batch(2, course=course)
    return school_a


@pytest.fixture
def integration_and_run(school_with_rows, settings):
    """An integration with issued credentials (so clients, handoffs and audit rows show) and a publication run."""
    from lis.integrations.services import credentials_issue

    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    owner = f.support_user(username="layout_owner")
    school_sync_settings_update(school=school_with_rows, user=owner, should_sync=True)
    integration = accepted(school_with_rows, actor=owner, name="Alder High tenant")
    credentials_issue(integration=integration, actor=owner, reason="layout test: emails are fixed later")
    publish_school(school_with_rows)
    return integration, PublicationRun.objects.filter(school=school_with_rows).latest("pk")


def pages_of(integration, run, school, *, support: bool) -> dict[str, str]:
    """name → URL of every page the persona has (support: filtered to ``school`` where lists have the filter)."""
    lists = {name: url for name, url in PAGES.items() if support or name != "school-sync-settings"}
    if support:
        lists = {name: f"{url}?school={school.pk}" for name, url in lists.items()}
    return {
        **lists,
        "integrations": "/admin/lis/integration/",
        "integration-page": f"/admin/lis/integration/{integration.pk}/change/",
        "publication-runs": "/admin/lis/publicationrun/",
        "publication-run-page": f"/admin/lis/publicationrun/{run.pk}/change/",
    }


def look_at_every_page(browser, live_server, username: str, pages: dict[str, str], prefix: str) -> None:  # noqa: F811
    folder = artifacts_dir()
    page = log_in(browser, live_server, username)
    problems = {}
    for width, (name, url) in ((width, item) for width in WIDTHS for item in pages.items()):
        page.set_viewport_size({"width": width, "height": 800})
        response = page.goto(url)
        assert response.status == 200 and "/login/" not in page.url, f"{username} cannot open {url}"
        page.screenshot(path=str(folder / f"{prefix}{name}-{width}.png"), full_page=True)
        hidden = page.evaluate(HIDDEN, CHECKED) + page.evaluate(OVERFLOW) + page.evaluate(WHOLE)
        if hidden:
            problems[f"{name} at {width} px"] = hidden
    assert not problems, problems


def test_nothing_is_hidden_on_supports_pages(browser, live_server, integration_and_run, school_with_rows):  # noqa: F811
    # A real member of the Support group: every column, the school filter, the lifecycle buttons.
    support = f.support_user(username="layout_support")
    assert not support.is_superuser and support.groups.filter(name="Support").exists()
    pages = pages_of(*integration_and_run, school_with_rows, support=True)
    look_at_every_page(browser, live_server, support.username, pages, "")


def test_nothing_is_hidden_on_a_school_administrators_pages(
    browser, live_server, integration_and_run, school_with_rows  # noqa: F811
):
    admin = f.school_admin(school_with_rows, username="layout_admin")
    admin.groups.add(f.granted_group(school_with_rows, name="LIS team for the layout"))
    pages = pages_of(*integration_and_run, school_with_rows, support=False)
    look_at_every_page(browser, live_server, admin.username, pages, "school-admin-")
