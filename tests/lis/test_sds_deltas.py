"""What SDS sees of removals and changes, through the API, with delta pulls before and after (both databases).

- a school removed from an integration, a district no school of the tenant names any more,
  demographics switched off: every record the tenant was served comes back as ``tobedeleted``;
- a pull that starts while a run is between its stamp and its commit: the next delta pull from
  that pull's start still returns every change (a real publication in a child process).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.utils import timezone

from lis.models import SchoolSyncSettings
from lis.oneroster import format_datetime
from lis.publication import publish_school
from myschool import models as m
from tests.lis import publication_process
from tests.lis.publication_fixtures import small_school
from tests.lis.sds import SDS
from tests.oneroster_api import published as p

ENDPOINTS = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")


def since(moment) -> str:
    return format_datetime(moment)


def full(sds: SDS) -> dict[str, dict]:
    return {f"{e}/{sid}": obj for e in ENDPOINTS for sid, obj in sds.pull(e).items()}


def delta(sds: SDS, cutoff: str, endpoints=ENDPOINTS) -> dict[str, dict]:
    return {f"{e}/{sid}": obj for e in endpoints for sid, obj in sds.pull(e, since=cutoff).items()}


@pytest.mark.django_db
def test_a_school_removed_from_an_integration_reaches_its_tenant_as_tombstones(client, django_capture_on_commit_callbacks):
    small, other = small_school("SM1"), small_school("SM2")
    publish_school(small.school)
    publish_school(other.school)
    integration = p.integration(small.school, other.school)
    sds = SDS(integration, client=client)
    served = full(sds)
    assert f"orgs/{small.school.sourced_id}" in served and f"users/{small.students[0].sourced_id}" in served
    cutoff = since(timezone.now())
    time.sleep(0.002)

    with django_capture_on_commit_callbacks(execute=True):
        integration.schools.remove(small.school)

    changed = delta(sds, cutoff)
    small_keys = {k for k in served if any(k.endswith(s) for s in _sourced_ids_of(small))}
    assert small_keys and small_keys <= set(changed)
    assert {changed[k]["status"] for k in small_keys} == {"tobedeleted"}
    assert sds.get(f"orgs/{small.school.sourced_id}").body["org"]["status"] == "tobedeleted"  # not a 404
    after = full(sds)
    assert {after[f"users/{s.sourced_id}"]["status"] for s in other.students} == {"active"}  # SM2 untouched
    assert after[f"orgs/{small.school.group.sourced_id}"]["status"] == "tobedeleted"  # SM1's district, no longer named

    # The school comes back: the next delta returns its records active again.
    cutoff = since(timezone.now())
    time.sleep(0.002)
    with django_capture_on_commit_callbacks(execute=True):
        integration.schools.add(small.school)
    back = delta(sds, cutoff)
    assert small_keys <= set(back) and {back[k]["status"] for k in small_keys} == {"active"}


def _sourced_ids_of(small) -> set[str]:
    return {
        small.school.sourced_id, small.year.sourced_id, *(t.sourced_id for t in small.terms),
        *(c.sourced_id for c in small.courses), small.homeroom.sourced_id,
        *(s.sourced_id for s in small.students), *(t.sourced_id for t in small.teachers),
    }


@pytest.mark.django_db
def test_a_district_the_tenant_no_longer_sees_reaches_it_as_a_tombstone(client):
    small, other = small_school("SM1"), small_school("SM2")
    other.school.group = small.school.group
    other.school.save()
    publish_school(small.school)
    publish_school(other.school)
    district = small.school.group.sourced_id
    sds = SDS(p.integration(small.school), client=client)
    assert sds.pull("orgs")[district]["status"] == "active"
    cutoff = since(timezone.now())
    time.sleep(0.002)

    small.school.group = None
    small.school.save()
    publish_school(small.school)

    orgs = sds.pull("orgs", since=cutoff)
    assert orgs[district]["status"] == "tobedeleted"  # still active for SM2's tenants, gone for this one
    assert p.PublishedObject.objects.get(kind="org", sourced_id=district, tenant=0).status == "active"


@pytest.mark.django_db
def test_demographics_switched_off_reach_sds_as_tombstones_without_personal_fields(client):
    small = small_school("SM1", share_demographics=True)
    publish_school(small.school)
    sds = SDS(p.integration(small.school), client=client)
    assert sds.pull("demographics")[small.students[0].sourced_id]["birthDate"] == "2011-01-01"
    cutoff = since(timezone.now())
    time.sleep(0.002)

    SchoolSyncSettings.objects.filter(school=small.school).update(share_demographics=False)
    publish_school(small.school)

    gone = sds.pull("demographics", since=cutoff)
    assert set(gone) == {s.sourced_id for s in small.students}
    for obj in gone.values():
        assert obj["status"] == "tobedeleted"
        assert "birthDate" not in obj and "sex" not in obj


@pytest.mark.django_db(transaction=True)
def test_a_pull_that_starts_between_a_runs_stamp_and_commit_misses_nothing(live_server):
    small = small_school("SM1")
    publish_school(small.school)
    sds = SDS(p.integration(small.school), url=live_server.url)
    sds.pull("users")
    for student in small.students:
        student.given_name = "Renamed"
        student.save()

    child = publication_process.start(small.school.code, "stamp", 2)  # stamped, not yet committed
    pull_start = since(timezone.now())  # after the stamp: the case that used to miss
    pulled: dict = {}
    reader = threading.Thread(target=lambda: pulled.update(sds.pull("users")))
    reader.start()
    reader.join(30)
    child.wait(30)
    assert child.stdout.read().strip() == "succeeded"

    next_delta = sds.pull("users", since=pull_start)
    for student in small.students:
        seen = [pulled.get(student.sourced_id), next_delta.get(student.sourced_id)]
        assert any(obj and obj["givenName"] == "Renamed" for obj in seen), student.sourced_id


@pytest.mark.django_db
def test_year_rollover_keeps_last_years_class_tombstones_pointing_at_a_served_course(client, settings):
    """A Subject is one course whose schoolYear follows the active year (lis.publication.service docs)."""
    import datetime as dt

    from lis.models import CourseSelection
    from tests import factories as f

    settings.LIS = {"MASS_DELETION_MIN_OBJECTS": 1000}
    small = small_school("SM1")
    publish_school(small.school)
    sds = SDS(p.integration(small.school), client=client)
    math = small.courses[0].subject
    assert sds.pull("courses")[math.sourced_id]["schoolYear"]["sourcedId"] == small.year.sourced_id
    cutoff = since(timezone.now())
    time.sleep(0.002)

    next_year = f.AcademicYearFactory(
        school=small.school, name="2027/28", start_date=dt.date(2027, 8, 1), end_date=dt.date(2028, 7, 31)
    )
    offered_again = f.CourseFactory(school=small.school, year=next_year, subject=math, name="Algebra 2")
    CourseSelection.objects.create(course=offered_again, sync=True)
    small.school.active_year = next_year
    small.school.save()
    publish_school(small.school)

    classes, courses = sds.pull("classes", since=cutoff), sds.pull("courses", since=cutoff)
    old_class = classes[small.courses[0].sourced_id]
    assert old_class["status"] == "tobedeleted"
    assert old_class["course"]["sourcedId"] == math.sourced_id
    course = courses[math.sourced_id]  # the same course, now in the new year, still served
    assert course["status"] == "active" and course["schoolYear"]["sourcedId"] == next_year.sourced_id
    assert classes[offered_again.sourced_id]["course"]["sourcedId"] == math.sourced_id
    art = small.courses[1].subject  # not offered again: its course is a tombstone, still resolvable
    assert sds.get(f"courses/{art.sourced_id}").body["course"]["status"] == "tobedeleted"
    for obj in classes.values():  # every class reference resolves through the API
        assert sds.get(f"courses/{obj['course']['sourcedId']}").status == 200
