"""Read paths of the publication, shared by the run, the tasks, the command, readiness and the admin.

Each returns a QuerySet or a small dict and writes nothing (HackSoft's *selectors*); the
services that start runs are in :mod:`lis.publication.runs`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import (
    ClassSelection,
    CourseSelection,
    Kind,
    PublicationRun,
    PublishedObject,
    PublishedStatus,
    RunStatus,
    RunTrigger,
    SchoolSyncSettings,
    UsersToPublish,
)
from lis.selection.selectors import active_year_selections
from myschool import models as m
from myschool.models import School
from myschool.synctime import sync_zone

# What a run reads of a school besides its own row (``select_related``).
SCHOOL_RELATED = ("active_year", "group", "sync_settings")

# Student or Teacher → its role's field name on the membership models, and its (course, class) membership models.
MEMBERSHIPS = {
    m.Student: ("student", m.CourseStudent, m.ClassStudent),
    m.Teacher: ("teacher", m.CourseTeacher, m.ClassTeacher),
}


def schools_to_publish() -> QuerySet[School]:
    """Schools a nightly run publishes: those that should sync, and those that still have
    active published objects (so switching a school off publishes its tombstones once)."""
    published = PublishedObject.objects.filter(school=OuterRef("pk"), status=PublishedStatus.ACTIVE)
    return (
        School.objects.filter(Q(sync_settings__should_sync=True) | Q(Exists(published)))
        .select_related(*SCHOOL_RELATED)
        .order_by("code")
    )


def school_to_publish(*, pk: int | None = None, code: str | None = None) -> School:
    """The school of primary key ``pk`` (or of ``code``), fresh from the database with what a run reads.

    Raises ``School.DoesNotExist`` when there is none.
    """
    lookup = {"pk": pk} if pk is not None else {"code": code}
    return School.objects.select_related(*SCHOOL_RELATED).get(**lookup)


def in_ticked_group(school: School, model: type[m.Student | m.Teacher]) -> Q:
    """The condition "member of a ticked course or class of ``school``'s active year" on Students or Teachers."""
    role, course_members, class_members = MEMBERSHIPS[model]
    courses = active_year_selections(CourseSelection).filter(sync=True, course__school=school).values("course")
    classes = (
        active_year_selections(ClassSelection).filter(sync=True, school_class__school=school).values("school_class")
    )
    in_course = course_members.objects.filter(**{role: OuterRef("pk")}, course__in=courses)
    in_class = class_members.objects.filter(**{role: OuterRef("pk")}, school_class__in=classes)
    return Q(Exists(in_course)) | Q(Exists(in_class))


def people_to_publish(school: School, model: type[m.Student | m.Teacher], settings: SchoolSyncSettings) -> QuerySet:
    """The active students or teachers (``model``) of ``school`` its *users to publish* switch selects:
    all of them, or only members of ticked groups (withheld users are still in; see the publication)."""
    people = model.objects.filter(school=school, status=m.Status.ACTIVE)
    if settings.users_to_publish == UsersToPublish.GROUP_MEMBERS:
        people = people.filter(in_ticked_group(school, model))
    return people


def last_publication(school_ids: list[int]) -> dict[int, dict]:
    """school id → {"at": commit time of the last successful run or None, "classes": n, "users": n}.

    ``classes``/``users`` count the school's active published objects. Two queries whatever the schools.
    """
    summary = {school_id: {"at": None, "classes": 0, "users": 0} for school_id in school_ids}
    runs = (
        PublicationRun.objects.filter(school_id__in=school_ids, status=RunStatus.SUCCEEDED)
        .order_by("school_id", "-committed_at")
        .values_list("school_id", "committed_at", named=True)
    )
    for run in runs:
        if summary[run.school_id]["at"] is None:
            summary[run.school_id]["at"] = run.committed_at
    counts = (
        PublishedObject.objects.filter(school_id__in=school_ids, status=PublishedStatus.ACTIVE)
        .filter(kind__in=[Kind.CLASS, Kind.USER])
        .values("school_id")
        .annotate(classes=Count("pk", filter=Q(kind=Kind.CLASS)), users=Count("pk", filter=Q(kind=Kind.USER)))
    )
    for row in counts:
        summary[row["school_id"]].update(classes=row["classes"], users=row["users"])
    return summary


def latest_run(school: School | int) -> PublicationRun | None:
    """``school``'s latest run that has started (queued requests aside), or None."""
    return PublicationRun.objects.started().filter(school=school).select_related("school").first()


@dataclass(frozen=True)
class Allowance:
    """Whether support may publish a school now; if not, ``next_allowed_at`` (aware, sync zone)."""

    allowed: bool
    used: int
    limit: int
    next_allowed_at: dt.datetime | None


def local_day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The start of ``now``'s calendar day in the sync zone and the start of the next one (aware)."""
    local = now.astimezone(sync_zone())
    start = dt.datetime.combine(local.date(), dt.time(0), tzinfo=sync_zone())
    end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=sync_zone())
    return start, end


def support_run_allowance(school: School, *, now: dt.datetime | None = None) -> Allowance:
    """How many extra runs support has started for ``school`` on ``now``'s day in the sync zone,
    against ``LIS["SUPPORT_RUNS_PER_DAY"]``. Confirmations of held runs do not count."""
    now = now or timezone.now()
    start, end = local_day_bounds(now)
    used = (
        PublicationRun.objects.filter(school=school, trigger=RunTrigger.SUPPORT, confirms__isnull=True)
        .filter(started_at__gte=start, started_at__lt=end)
        .count()
    )
    limit = lis_setting("SUPPORT_RUNS_PER_DAY")
    allowed = used < limit
    return Allowance(allowed, used, limit, None if allowed else end)


def published_demographics_count(school: School) -> int:
    """How many demographics records of ``school`` SDS currently reads as active (one per shared student)."""
    return PublishedObject.objects.filter(
        school=school, tenant=0, kind=Kind.DEMOGRAPHICS, status=PublishedStatus.ACTIVE
    ).count()
