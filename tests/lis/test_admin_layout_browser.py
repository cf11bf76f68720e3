"""The LIS and Primary emails pages at 1024 and 1366 px: nothing hides a column, an input or a link.

Each header cell and each input/link of the first rows is scrolled into view and must be the
element at its own centre (``document.elementFromPoint``): a filter panel or a button on top
fails the test. Screenshots go to ``$TEST_ARTIFACTS_DIR`` (default ``test-artifacts/screenshots``),
printed at the start; CI keeps them as artefacts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lis.selection.services import school_sync_settings_update
from tests import factories as f
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
  // The filter panel (and its header bar) must end where the list ends, not run past it.
  const list = document.querySelector("#changelist, .emails-layout");
  if (!list) return [];
  const right = list.getBoundingClientRect().right + 1;
  return [...document.querySelectorAll("#changelist-filter, #changelist-filter > h2, #changelist-filter > details")]
    .filter((element) => element.getBoundingClientRect().right > right)
    .map((element) => element.outerHTML.slice(0, 60) + " ends at " + element.getBoundingClientRect().right + " > " + right);
}"""
CHECKED = "#result_list thead th, #result_list tbody tr:nth-child(-n+3) input, #result_list tbody tr:nth-child(-n+3) a, #lis-school-sync a, #lis-school-sync input, .object-tools a"


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
    subject = f.SubjectFactory(school=school_a, name="Art")
    for n in range(4):
        course = f.CourseFactory(school=school_a, year=school_a.active_year, subject=subject, name=f"Art group {n + 1}", grade_levels="07,10")
        f.CourseStudentFactory.create_batch(2, course=course)
    return school_a


def test_nothing_is_hidden_on_the_lis_and_email_pages(browser, live_server, school_with_rows):  # noqa: F811
    # Support's view (every column, the school filter); a superuser, since an earlier transactional
    # test's flush may have emptied the Support group that data migrations made.
    support = f.UserFactory(username="layout_support", is_superuser=True)
    school_sync_settings_update(school=school_with_rows, user=support, should_sync=True)
    folder = artifacts_dir()
    page = log_in(browser, live_server, support.username)
    problems = {}
    for width, (name, url) in ((width, item) for width in WIDTHS for item in PAGES.items()):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{url}?school={school_with_rows.pk}")
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        hidden = page.evaluate(HIDDEN, CHECKED) + page.evaluate(OVERFLOW)
        if hidden:
            problems[f"{name} at {width} px"] = hidden
    assert not problems, problems
