"""One person, one OneRoster user: records of several schools linked as the same person (issue 14).

MySchool keeps one Student or Teacher row per school. A person who belongs to several schools of
one Microsoft tenant has a row in each, and the rows are linked **explicitly**: every other row's
``same_person_as`` names the person's *main record* (set by support in the admin, or by the
OneRoster CSV import for a ``users.csv`` row with several ``orgSourcedIds``). Nothing is ever
linked from equal emails or names: two unlinked rows with the same email stay two people, and
the duplicate-email rule withholds both (the readiness report says support can link them).

The rule the publication follows for a linked *group* (the main record and the rows linked to it):

- **one user**, under the main record's sourcedId, whichever school's run computes it, with the
  names, username, email, number and grade of the *owner's* row (below): the main record when its
  school publishes it, else the row of the first school that does, so what is published always
  passed that school's withheld-user checks (missing, duplicate or foreign email, duplicate username);
- ``orgs``: every school whose publication would publish its own row of the group (it syncs, has an
  active year, its *users to publish* switch selects the row, the row is not withheld), main
  record's school first, then by school id. Enrollments from any row of the group reference the
  main sourcedId; a row's enrollments are published by its own school, as for anyone;
- **owner** of the stored user (``PublishedObject.school``, which decides which tenant sees it
  and whose run tombstones it): the first school of ``orgs``. When ``orgs`` changes the owner may
  change; the row then *moves* to the new owner (an update with a new ``dateLastModified``),
  it is never tombstoned and recreated. Only when ``orgs`` is empty (the person left every
  school, or no school publishes them) is the user not produced, and the owner's run tombstones it;
- every run of a school that has a row of the group, or owns the group's stored user, computes the
  group from the current data of all its schools and writes the same record, so whichever school
  publishes first after a change (e.g. the person left school B) brings the user up to date;
- demographics of a linked student follow the user: the main record's birth date and sex, owned
  like the user, published when the owner shares demographics.

Two runs of different schools may compute the same group at once; they write the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from lis.models import Kind, PublishedObject
from lis.selection.selectors import school_sync_settings
from myschool import models as m
from myschool.emails import email_problems

from .selectors import people_to_publish

ROLES = {m.Student: "student", m.Teacher: "teacher"}


def unlinked(queryset):
    """``queryset`` (Students or Teachers) without the rows that belong to a linked group."""
    model = queryset.model
    return queryset.filter(same_person_as=None).exclude(Exists(model.objects.filter(same_person_as=OuterRef("pk"))))


@dataclass
class LinkedPerson:
    """One linked group as published: ``main`` is the main record (a model instance), ``orgs`` the
    school sourcedIds in ``orgs`` order, ``owner_id`` the owning school's pk (None when ``orgs`` is
    empty), ``school_ids`` every school that has a row of the group, ``record`` the row whose names,
    username, email, number and grade the user shows: the owner's (the main record when its school
    publishes it), so they always passed that school's withheld-user checks."""

    main: m.Student | m.Teacher
    orgs: list[str] = field(default_factory=list)
    owner_id: int | None = None
    school_ids: frozenset[int] = frozenset()
    record: m.Student | m.Teacher | None = None


class LinkedPeople:
    """The linked groups one school's run computes (see the module docstring)."""

    def __init__(self, school: m.School, own_publishing):
        """``own_publishing(model)``: the running school's queryset of the rows of ``model`` it publishes
        (called only when a group needs it)."""
        self.school = school
        self.own_publishing = own_publishing
        self._publishing: dict[tuple[int, type], dict[int, bool]] = {}
        self._problems_of: dict[int, object] = {}
        self._groups: dict = {}  # model → its groups; ("mains", model) → their main records

    def groups(self, model: type[m.Student | m.Teacher]) -> list[LinkedPerson]:
        """The linked groups of ``model`` that touch this school, ordered by main sourcedId (computed once)."""
        if model not in self._groups:
            self._groups[model] = self._compute(model)
        return self._groups[model]

    def mains(self, model: type[m.Student | m.Teacher]) -> list[m.Student | m.Teacher]:
        """The main records of the linked groups of ``model`` that touch this school (a row here, or the
        stored user owned here), ordered by sourcedId; one query, read once."""
        key = ("mains", model)
        if key not in self._groups:
            role = ROLES[model]
            owned = PublishedObject.objects.filter(kind=Kind.USER, subtype=role, school=self.school, tenant=0)
            owned = owned.values("sourced_id")
            has_links = Exists(model.objects.filter(same_person_as=OuterRef("pk")))
            here = Exists(model.objects.filter(same_person_as=OuterRef("pk"), school=self.school))
            self._groups[key] = list(
                model.objects.filter(same_person_as=None)
                .filter(has_links)
                .filter(Q(school=self.school) | Q(here) | Q(sourced_id__in=owned))
                .select_related("school")
                .order_by("sourced_id")
            )
        return self._groups[key]

    def _compute(self, model: type[m.Student | m.Teacher]) -> list[LinkedPerson]:
        mains = self.mains(model)
        if not mains:
            return []
        members: dict[int, list[tuple[int, int, str]]] = {
            main.pk: [(main.pk, main.school_id, main.school.sourced_id)] for main in mains
        }
        copies = model.objects.filter(same_person_as__in=[x.pk for x in mains])
        for pk, main_pk, school_id, school_sid in copies.values_list(
            "pk", "same_person_as_id", "school_id", "school__sourced_id"
        ):
            members[main_pk].append((pk, school_id, school_sid))
        by_school: dict[int, list[int]] = {}
        for rows in members.values():
            for pk, school_id, _ in rows:
                by_school.setdefault(school_id, []).append(pk)
        published = set()
        for school_id, pks in by_school.items():
            published |= self.publishing(school_id, model, pks)
        firsts: dict[int, int] = {}
        groups = []
        for main in mains:
            rows = members[main.pk]
            publishing = sorted(
                (school_id != main.school_id, school_id, school_sid, pk)
                for pk, school_id, school_sid in rows
                if pk in published
            )
            orgs = list(dict.fromkeys(sid for _, _, sid, _ in publishing))
            owner = publishing[0][1] if publishing else None
            if publishing:
                firsts[main.pk] = publishing[0][3]
            groups.append(LinkedPerson(main, orgs, owner, frozenset(r[1] for r in rows)))
        records = model.objects.in_bulk(list(firsts.values()))
        for person in groups:
            person.record = records.get(firsts.get(person.main.pk), person.main)
        return groups

    def publishing(self, school_id: int, model: type, pks: list[int]) -> set[int]:
        """Which of ``pks`` (rows of ``model``) school ``school_id``'s publication would publish."""
        known = self._publishing.setdefault((school_id, model), {})
        unknown = [pk for pk in pks if pk not in known]
        if unknown:
            found = set(self._queryset(school_id, model).filter(pk__in=unknown).values_list("pk", flat=True))
            known.update({pk: pk in found for pk in unknown})
        return {pk for pk in pks if known[pk]}

    def _queryset(self, school_id: int, model: type):
        if school_id == self.school.pk:
            return self.own_publishing(model)
        school = m.School.objects.select_related("active_year", "sync_settings").get(pk=school_id)
        settings = school_sync_settings(school)
        if not settings.should_sync or school.active_year_id is None:
            return model.objects.none()
        problems = self._problems(school)
        return problems.having(people_to_publish(school, model, settings)).exclude(problems.blocking_q())

    def _problems(self, school: m.School):
        if school.pk not in self._problems_of:
            self._problems_of[school.pk] = email_problems(school)
        return self._problems_of[school.pk]

    def shares_demographics(self, school_id: int) -> bool:
        """Whether school ``school_id`` shares demographics (the owner's switch decides for a linked student)."""
        return school_sync_settings(m.School.objects.select_related("sync_settings").get(pk=school_id)).share_demographics
