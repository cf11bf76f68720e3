"""Incremental publication (issue 19): map and diff only what the change log says may have changed.

A run reads its school's change log (:mod:`lis.publication.changes`) before it diffs, expands it
to the OneRoster objects it may affect, and diffs **only those**: creates, updates and tombstones
among them, through the same stage and apply, with the same mass-deletion guard (counted against
all the school's active users and classes), the same ``dateLastModified`` stamp and the same run
log — whose ``notes`` say ``incremental: …`` (or ``full: <why>``) so support sees it in
*Publication runs*. The log rows the run read are deleted in its apply transaction: a failed or
held run leaves them for the next run, and rows written while it diffs are not among them.

Expansion (school S; ``user``, ``class``… are the log's keys):

- **always in full**: orgs and academic sessions (a handful), and every linked group touching S
  (issue 14: its ``orgs`` depend on other schools' data), with their users and demographics;
- courses: the logged ``course`` (subject) sourcedIds, the subjects of affected classes (now, and
  as published: a class moved to another subject) and the Homeroom course — a course's grades
  and its existence come from all its ticked classes, which are read for those subjects;
- users: the logged ``user`` sourcedIds; S's people whose email or published login name is a
  logged ``email``/``username`` (their duplicate withholding may have changed); with
  ``generated``, S's active people without a login name (their generated username may have
  changed); when S publishes only members of ticked groups, the members of affected classes
  (now and, from the store, before);
- classes: the logged ``class`` sourcedIds and the courses (teaching groups) of logged subjects;
- enrollments: the logged ones, every membership of an affected user or class, and every stored
  enrollment of S referencing one (so deleted memberships are tombstoned);
- demographics: as users.

The run is **full** instead (and says why) when the log holds ``full`` (an import, the demo, an
active-year, term, sync-settings or tenant change), when S never published successfully, or when
the expansion exceeds ``LIS["INCREMENTAL_MAX_OBJECTS"]`` (a full run is then as fast).
Which runs are incremental: :func:`run_is_incremental`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import Kind, PublicationRun, PublishedObject, RunStatus, RunTrigger, SchoolChange, UsersToPublish
from myschool import models as m
from myschool.emails import EmailProblems, email_problems, email_problems_among
from myschool.emails.usernames import USERNAME_LOWER, published_username_expression, with_username_lower
from myschool.lookups import in_chunks

from .collect import SchoolData
from .service import ACTIVE, EXAMPLES, GUARDED_KINDS, _Publisher
from .mapping import describe, homeroom_course_id
from .people import LinkedPeople

FULL_KINDS = ("org", "academicSession")
# Up to this many affected users and enrollments, an incremental run checks duplicate emails and usernames
# only among their people; beyond, the tenant's checks cost less (measured at 50k students: README).
IDENTITIES_MAX = 2000
MEMBERSHIPS = {
    m.CourseStudent: ("student", "course"),
    m.ClassStudent: ("student", "school_class"),
    m.CourseTeacher: ("teacher", "course"),
    m.ClassTeacher: ("teacher", "school_class"),
}



@dataclass
class ChangeSet:
    """A school's change log as a run read it: ``ids`` to delete when the run commits, ``keys``
    (ChangeKind value → set of keys) and ``full``: why the run must be full ("" if it need not)."""

    ids: list[int] = field(default_factory=list)
    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    full: str = ""


def change_set_read(school: m.School) -> ChangeSet:
    """Read ``school``'s change log (one query, plus one for its last successful run)."""
    changes = ChangeSet()
    for pk, kind, key in SchoolChange.objects.filter(school=school).order_by("id").values_list("id", "kind", "key"):
        changes.ids.append(pk)
        changes.keys[kind].add(key)
    if not PublicationRun.objects.filter(school=school, status=RunStatus.SUCCEEDED).exists():
        changes.full = "the school's first publication"
    elif "full" in changes.keys:
        changes.full = "a change recorded for a full run (import, demo, year, terms, settings or tenant)"
    return changes


def changes_consume(ids: list[int]) -> None:
    """Delete the change log rows ``ids`` (in the run's apply transaction)."""
    for start in range(0, len(ids), 5000):
        SchoolChange.objects.filter(pk__in=ids[start : start + 5000]).delete()


def run_is_incremental(school: m.School, trigger: str) -> bool:
    """Whether a run started by ``trigger`` diffs only the change log (it may still fall back to full).

    Support's *publish now* and the periodic run: yes. The nightly run: only when
    ``LIS["FULL_RUN_EVERY_DAYS"]`` is more than 1 and the school's last full run is more recent
    than that (default 1: every nightly run is full, the safety net). The management command:
    only with ``--incremental``.
    """
    if trigger in (RunTrigger.SUPPORT, RunTrigger.PERIODIC):
        return True
    if trigger != RunTrigger.NIGHTLY:
        return False
    days = lis_setting("FULL_RUN_EVERY_DAYS")
    if days <= 1:
        return False
    since = timezone.now() - dt.timedelta(days=days) + dt.timedelta(hours=2)
    runs = PublicationRun.objects.filter(school=school, status=RunStatus.SUCCEEDED, committed_at__gte=since)
    return runs.filter(notes__startswith="full").exists()


class _Narrowed:
    """A values_list queryset read only where ``field`` is one of ``sourced_ids``: one query on PostgreSQL,
    else IN-lists taken in sourcedId order (so rows ordered by sourcedId stay in order): :func:`in_chunks`."""

    def __init__(self, rows, sourced_ids: set[str], field: str):
        self.rows, self.sourced_ids, self.field = rows, sourced_ids, field

    def iterator(self, chunk_size: int = 2000):
        for chunk in in_chunks(self.sourced_ids):
            yield from self.rows.filter(**{f"{self.field}__any_of": chunk}).iterator(chunk_size)

    def __iter__(self):
        return self.iterator()


class _LinkedPeople(LinkedPeople):
    """:class:`~lis.publication.people.LinkedPeople` that skips its search (a join over the school's
    people and stored users) when no record of ``model`` is linked at all: there is no group then."""

    def groups(self, model):
        if not self.mains(model):
            self._groups[model] = []
        return super().groups(model)

    def mains(self, model):
        key = ("mains", model)
        if key not in self._groups and not model.objects.filter(same_person_as__isnull=False).exists():
            self._groups[key] = []
        return super().mains(model)


class ChangedSchoolData(SchoolData):
    """:class:`~lis.publication.collect.SchoolData` reading only the affected sourcedIds of users,
    classes, enrollments and demographics (``affected``: kind → set; None reads everything)."""

    affected: dict[str, set[str]] | None = None
    previous_withheld: dict[str, int] | None = None  # the last run's counts, when still right (:func:`withheld_unchanged`)

    @property
    def linked(self) -> LinkedPeople:
        if not hasattr(self, "_linked"):
            self._linked = _LinkedPeople(self.school, self.people)
        return self._linked

    def only(self, kind: str, rows, field: str = "sourced_id"):
        if self.affected is None or kind in FULL_KINDS:
            return rows
        return _Narrowed(rows, self.affected.get(kind, set()), field)

    @cached_property
    def email_problems(self) -> EmailProblems:
        """With ``affected`` set and small: exact for the people this run reads (:func:`people_identities`)
        only; else the tenant's (grouping all its people costs less than finding thousands of them)."""
        if self.affected is None or sum(len(self.affected.get(k, ())) for k in ("user", "enrollment")) > IDENTITIES_MAX:
            return email_problems(self.school, tenant=self.tenant)
        emails, usernames = people_identities(self.school, self.affected)
        return email_problems_among(self.school, emails=emails, usernames=usernames, tenant=self.tenant)

    def withheld(self, problems: EmailProblems | None = None) -> dict[str, int]:
        """As :meth:`SchoolData.withheld` (whole school): the last run's counts when nothing since can have
        changed them, else counted with the tenant's full duplicate checks."""
        if self.affected is None or not self.publishes_year:
            return super().withheld(problems)
        if self.previous_withheld is not None:
            return dict(self.previous_withheld)
        return super().withheld(problems or email_problems(self.school, tenant=self.tenant))


def people_identities(school: m.School, affected: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    """Lower-case emails and published login names of the people of ``school`` an incremental run reads:
    its affected users, the people of its affected enrollments and every record of a linked group.
    The withheld-user checks of exactly these people decide what the run writes, and a person's
    duplicate checks depend only on who else holds the same email or login name
    (:func:`myschool.emails.email_problems_among`). Six to eight indexed queries on PostgreSQL."""
    found: set[tuple[str, str]] = set()
    for model in (m.Student, m.Teacher):
        role = model._meta.model_name
        people = model.objects.filter(school=school).order_by()
        identity = {"e": Lower("primary_email"), "u": published_username_expression()}
        for chunk in in_chunks(affected.get("user", ())):
            found.update(people.filter(sourced_id__any_of=chunk).annotate(**identity).values_list("e", "u"))
        if model.objects.filter(same_person_as__isnull=False).exists():
            mains = model.objects.filter(same_person_as__isnull=False).values("same_person_as_id")
            linked = people.filter(Q(same_person_as__isnull=False) | Q(pk__in=mains))
            found.update(linked.annotate(**identity).values_list("e", "u"))
        through = {"e": Lower(f"{role}__primary_email"), "u": published_username_expression(f"{role}__username")}
        for membership, (person, _) in MEMBERSHIPS.items():
            if person != role:
                continue
            for chunk in in_chunks(affected.get("enrollment", ())):
                rows = membership.objects.filter(sourced_id__any_of=chunk, **{f"{role}__school": school}).order_by()
                found.update(rows.annotate(**through).values_list("e", "u"))
    return {e for e, _ in found} - {""}, {u for _, u in found} - {""}


def affected_objects(data: SchoolData, changes: ChangeSet) -> dict[str, set[str]]:
    """kind → the sourcedIds an incremental run of ``data.school`` diffs (see the module docstring)."""
    school, keys = data.school, changes.keys
    users, classes, enrollments = set(keys["user"]), set(keys["class"]), set(keys["enrollment"])
    for model in (m.Student, m.Teacher):
        people = with_username_lower(model.objects.filter(school=school).order_by()).alias(email_lower=Lower("primary_email"))
        conditions = [Q(email_lower__any_of=chunk) for chunk in in_chunks(keys["email"] - {""})]
        conditions += [Q(**{f"{USERNAME_LOWER}__any_of": chunk}) for chunk in in_chunks(keys["username"] - {""})]
        if keys["generated"]:
            conditions.append(Q(status=m.Status.ACTIVE, **{USERNAME_LOWER: ""}))
        for condition in conditions:
            users.update(people.filter(condition).values_list("sourced_id", flat=True))
    for chunk in in_chunks(keys["course"]):
        classes.update(m.Course.objects.filter(school=school, subject__sourced_id__any_of=chunk).values_list("sourced_id", flat=True))
    store = PublishedObject.objects.filter(school=school, kind="enrollment", tenant=0)
    if data.settings.users_to_publish == UsersToPublish.GROUP_MEMBERS:
        for chunk in in_chunks(classes):
            for model, (person, group) in MEMBERSHIPS.items():
                users.update(model.objects.filter(**{f"{group}__sourced_id__any_of": chunk}).values_list(f"{person}__sourced_id", flat=True))
            users.update(store.filter(class_ref__any_of=chunk).values_list("user_ref", flat=True))
    for model in (m.Student, m.Teacher):
        users.update(main.sourced_id for main in data.linked.mains(model))
    for model, (person, group) in MEMBERSHIPS.items():
        for chunk in in_chunks(users):
            enrollments.update(model.objects.filter(**{f"{person}__sourced_id__any_of": chunk}).values_list("sourced_id", flat=True))
        for chunk in in_chunks(classes):
            enrollments.update(model.objects.filter(**{f"{group}__sourced_id__any_of": chunk}).values_list("sourced_id", flat=True))
    for chunk in in_chunks(users):
        enrollments.update(store.filter(user_ref__any_of=chunk).values_list("sourced_id", flat=True))
    courses = set(keys["course"])
    classes_stored = PublishedObject.objects.filter(school=school, kind="class", tenant=0)
    for chunk in in_chunks(classes):
        enrollments.update(store.filter(class_ref__any_of=chunk).values_list("sourced_id", flat=True))
        # A class's subject course (its grades, whether any ticked class is left): now and as published.
        courses.update(m.Course.objects.filter(school=school, sourced_id__any_of=chunk).values_list("subject__sourced_id", flat=True))
        courses.update(classes_stored.filter(sourced_id__any_of=chunk).values_list("course_ref", flat=True))
    if data.year is not None:
        courses.add(homeroom_course_id(school_sourced_id=school.sourced_id, year_sourced_id=data.year.sourced_id))
    courses.discard(None)
    return {"course": courses, "class": classes, "user": users, "enrollment": enrollments, "demographics": users}


IDENTITY_KEYS = ("email", "username", "generated")


def withheld_unchanged(school: m.School, changes: ChangeSet, data: SchoolData) -> dict[str, int] | None:
    """The withheld counts of ``school``'s last successful run when ``changes`` cannot have changed them,
    else None.

    Who is withheld depends on who the school publishes and on the tenant's emails and login names.
    Every write that can change one of these logs ``email``/``username``/``generated`` at every school
    of the tenant (:mod:`lis.publication.changes`), or makes the run full (settings, year, tenant,
    imports) — except where the school publishes only members of ticked groups: there a membership
    or a tick decides who is published, so the counts are counted again. The last run counted them
    after reading its change log; a change made after that read is still in the log, so it is seen here.
    """
    if data.settings.users_to_publish == UsersToPublish.GROUP_MEMBERS or any(changes.keys.get(k) for k in IDENTITY_KEYS):
        return None
    last = PublicationRun.objects.filter(school=school, status=RunStatus.SUCCEEDED).order_by("-committed_at", "-pk").first()
    withheld = (last.counts or {}).get("withheld") if last is not None else None
    return withheld if isinstance(withheld, dict) else None


class ChangeTrackingPublisher(_Publisher):
    """A full run that also consumes the change log it read before diffing (the nightly safety net)."""

    changes_read: ChangeSet | None = None
    mode = "full"

    def publish(self) -> None:
        self.changes_read = change_set_read(self.school)
        super().publish()

    def stamp(self) -> dt.datetime:
        stamp = super().stamp()
        changes_consume(self.changes_read.ids)
        return stamp

    def notes(self) -> dict:
        return {"notes": self.mode[:300]}


class IncrementalPublisher(ChangeTrackingPublisher):
    """A run that diffs only what the change log touches, or falls back to full (module docstring)."""

    def publish(self) -> None:
        self.changes_read = changes = change_set_read(self.school)
        if changes.full:
            self.mode = f"full: {changes.full}"
            return _Publisher.publish(self)
        data = ChangedSchoolData(self.school)
        affected = affected_objects(data, changes)
        size = sum(len(affected[kind]) for kind in ("class", "user", "enrollment"))
        if size > lis_setting("INCREMENTAL_MAX_OBJECTS"):
            self.mode = f"full: {size:,} objects touched by {len(changes.ids):,} changes (more than INCREMENTAL_MAX_OBJECTS)"
            return _Publisher.publish(self)
        self.mode = f"incremental: {len(changes.ids):,} changes, {size:,} objects compared"
        data.previous_withheld = withheld_unchanged(self.school, changes, data)
        self.analyze_after = False  # the store's size barely changes: its statistics stay good
        data.affected = affected
        self.data = data
        for kind, records in data.records():
            if kind == Kind.ORG:  # as the full run: the school org and its district org at most
                records = list(records)
                self.districts_named = {r.refs["parent_ref"] for r in records if r.refs.get("parent_ref")}
            produced = self.diff_kind(kind, records)
            if kind in FULL_KINDS:
                deleted = self.tombstone_missing(kind, produced)
            else:
                deleted = self.tombstone_missing_among(kind, produced, affected.get(kind, set()))
            # The guard's share is of all the school's published objects of the kind; below its
            # minimum it cannot hold, so the count (a scan of the kind's index) is skipped.
            if kind in GUARDED_KINDS and not self.allow_mass_deletion and deleted > lis_setting("MASS_DELETION_MIN_OBJECTS"):
                active_before = PublishedObject.objects.filter(school=self.school, kind=kind, status=ACTIVE).count()
                self.guard(kind, deleted, active_before)

    def tombstone_missing_among(self, kind: str, produced: set[str], sourced_ids: set[str]) -> int:
        """Stage tombstones of the school's active ``kind`` objects among ``sourced_ids`` not ``produced``."""
        gone: list[tuple] = []
        active = PublishedObject.objects.filter(school=self.school, kind=kind, status=ACTIVE, tenant=0)
        for chunk in in_chunks(sourced_ids - produced):
            gone.extend(active.filter(sourced_id__any_of=chunk).values_list("pk", "sourced_id", "date_last_modified"))
        if gone:
            self.tombstone(gone, kind)
        examples = PublishedObject.objects.filter(pk__in=[row[0] for row in gone[:EXAMPLES]]).values_list("sourced_id", "payload")
        self.changes[kind].note("deleted", len(gone), [describe(kind, sid, payload) for sid, payload in examples])
        return len(gone)


__all__ = ["ChangeSet", "ChangeTrackingPublisher", "IncrementalPublisher", "change_set_read", "run_is_incremental"]
