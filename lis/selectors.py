"""Read paths of the LIS app, shared by the admin, the commands, the tasks and the API."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from lis.models import (
    ClassSelection,
    CourseSelection,
    PublishedObject,
    PublishedStatus,
    SchoolSyncSettings,
    UsersToPublish,
)
from lis.selection.selectors import active_year_selections
from myschool import models as m
from myschool.models import School

# Student or Teacher → its (course, class) membership models.
MEMBERSHIPS = {m.Student: (m.CourseStudent, m.ClassStudent), m.Teacher: (m.CourseTeacher, m.ClassTeacher)}


def schools_to_publish() -> QuerySet[School]:
    """Schools a nightly run publishes: those that should sync, and those that still have
    active published objects (so switching a school off publishes its tombstones once)."""
    published = PublishedObject.objects.filter(school=OuterRef("pk"), status=PublishedStatus.ACTIVE)
    return (
        School.objects.filter(Q(sync_settings__should_sync=True) | Q(Exists(published)))
        .select_related("active_year", "group", "sync_settings")
        .order_by("code")
    )


def in_ticked_group(school: School, model: type[m.Student | m.Teacher]) -> Q:
    """The condition "member of a ticked course or class of ``school``'s active year" on Students or Teachers."""
    role = "student" if model is m.Student else "teacher"
    course_members, class_members = MEMBERSHIPS[model]
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
