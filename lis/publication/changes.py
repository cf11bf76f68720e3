"""Change tracking for incremental publication (issue 19): every MySchool write a publication reads is logged.

Design: a change log table, :class:`~lis.models.SchoolChange` — one row per (school, what may have
changed) — written **in the same transaction as the change** by the receivers below, so a change
and its log row commit (or roll back) together. The school's next run reads its rows before it
diffs, diffs only what they touch (:mod:`lis.publication.incremental`) and deletes exactly the rows
it read when it commits; rows written meanwhile stay for the next run.

What each write logs (``kind key`` at which schools):

- **Student / Teacher** saved or deleted: ``user <sourcedId>`` at its school. When a field that
  decides withholding or generated usernames changes (email, login name, status, number, link,
  school, creation, deletion), at **every school of its Microsoft tenant**: ``email <old>``,
  ``email <new>`` (lower case), ``username <old>``, ``username <new>`` (published form) and
  ``generated``: another person's duplicate-email or duplicate-username withholding, or
  generated username, may change with it. A person of a linked group (issue 14), before or
  after, also logs ``user <main sourcedId>`` and the group's other records at every tenant school.
- **Course** (a OneRoster class) and its terms (``m2m_changed``), **SchoolClass**: ``class``
  (subjects — OneRoster courses — are always compared in full). **Subject**: ``course`` (its
  classes show its subject codes).
- **Memberships** saved: ``enrollment <sourcedId>``; when the school publishes only members of
  ticked groups, ``user <person's sourcedId>`` too (old and new person). Deleting one through its admin page reports it before the delete
  (:data:`myschool.signals.school_data_changed`); deleting one inside its course's or class's
  admin form saves that course or class, which logs its ``class`` (its enrollments are then
  compared with the store's). Memberships get no ``post_delete`` receiver on purpose: the demo
  deletes hundreds of thousands at once, and a receiver makes Django load each row.
- **Selection ticks** (``CourseSelection``/``ClassSelection``, by save or by
  :func:`~lis.selection.services.selections_set_sync`'s ``QuerySet.update``): ``class``; when the
  school publishes only members of ticked groups, also ``org`` at every tenant school (linked
  people's ``orgs`` may change there).
- **School**: ``full`` when its active year changes, else ``org``; **SchoolGroup**: ``org`` at its
  schools; **AcademicYear / Term**: ``full``; **SchoolSyncSettings**: ``full`` at the school, ``org``
  at the other tenant schools; **Integration schools** (``m2m_changed``) and **Microsoft domains**:
  ``full`` at every school of the integration, before and after (the tenant's duplicate and
  domain checks change).
- **Bulk writers** (the CSV import, the demo generator) switch per-row tracking off
  (:func:`myschool.signals.rows_untracked`) and report the schools they wrote: ``full`` at them and
  their tenant schools. Other bulk writes in product code (primary-email changes' ``bulk_update``,
  membership deletions in the admin, ticks' ``QuerySet.update``) report their rows with
  :func:`myschool.signals.school_data_changed_notify`.

Anything else — a change the log cannot describe, a school's first run — makes the run full.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils.module_loading import import_string

from lis.domains import school_email_tenant, tenant_school_ids
from lis.models import (
    ChangeKind,
    ClassSelection,
    CourseSelection,
    Integration,
    MicrosoftDomain,
    SchoolChange,
    SchoolSyncSettings,
    UsersToPublish,
)
from myschool import models as m
from myschool.emails import email_tenant
from myschool.emails.conf import emails_setting
from myschool.emails.usernames import published_login
from myschool.signals import rows_tracked, school_data_changed

PEOPLE = (m.Student, m.Teacher)
MEMBERSHIPS = (m.CourseStudent, m.ClassStudent, m.CourseTeacher, m.ClassTeacher)
# Person fields that decide withholding (duplicate email or login name) or generated usernames.
IDENTITY = ("primary_email", "username", "status", "same_person_as_id", "school_id", "number")


def changes_record(school_ids: Iterable[int], entries: Iterable[tuple[str, str]]) -> None:
    """Log ``entries`` (``(ChangeKind, key)``) for each school of ``school_ids``; duplicates are written once."""
    entries = list(entries)
    _insert({(school_id, kind, key) for school_id in school_ids for kind, key in entries})


def _insert(rows: set[tuple[int, str, str]]) -> None:
    rows = {(school_id, kind, key[:255]) for school_id, kind, key in rows if school_id}
    if rows:
        SchoolChange.objects.bulk_create([SchoolChange(school_id=s, kind=k, key=key) for s, k, key in sorted(rows)], batch_size=1000)


def changes_record_full(school_ids: Iterable[int], *, tenant: bool = True) -> None:
    """Log ``full`` for ``school_ids`` (and the other schools of their tenants when ``tenant``)."""
    ids = set(school_ids)
    if tenant:
        ids = _tenant_schools(ids)
    changes_record(ids, [(ChangeKind.FULL, "")])


def _tenant_schools(school_ids: Iterable[int]) -> set[int]:
    """``school_ids`` and the other schools of their Microsoft tenants: one query with the LIS's own tenant
    provider (:func:`lis.domains.tenant_school_ids`), else the configured provider school by school."""
    ids = set(school_ids)
    provider = emails_setting("TENANT_PROVIDER")
    if provider and import_string(provider) is school_email_tenant:
        return tenant_school_ids(ids)
    found: set[int] = set()
    for school in m.School.objects.filter(pk__in=ids):
        found |= email_tenant(school).school_ids
    return found


# people -------------------------------------------------------------------------------------------


def _person_state(model, row) -> dict:
    number = "student_number" if model is m.Student else "staff_number"
    return {
        "primary_email": (row["primary_email"] or "").lower(),
        "username": published_login(row["username"] or ""),
        "status": row["status"],
        "same_person_as_id": row["same_person_as_id"],
        "school_id": row["school_id"],
        "number": row[number],
        "sourced_id": row["sourced_id"],
        "pk": row["pk"],
    }


def _person_rows(model, pks: Iterable[int]) -> dict[int, dict]:
    number = "student_number" if model is m.Student else "staff_number"
    fields = ("pk", "sourced_id", "primary_email", "username", "status", "same_person_as_id", "school_id", number)
    pks = list(pks)
    return {
        row["pk"]: _person_state(model, row)
        for start in range(0, len(pks), 2000)
        for row in model.objects.filter(pk__in=pks[start : start + 2000]).values(*fields)
    }


def _group_records(model, main_ids: set[int]) -> list[tuple[int, str]]:
    """(school id, sourcedId) of every record of the linked groups whose main records are ``main_ids``."""
    if not main_ids:
        return []
    rows = model.objects.filter(pk__in=main_ids) | model.objects.filter(same_person_as__in=main_ids)
    return list(rows.values_list("school_id", "sourced_id"))


def _person_changed(model, before: dict | None, after: dict | None) -> None:
    """Log one person's change; ``before``/``after`` are :func:`_person_state` dicts (None: created/deleted)."""
    _people_changed(model, [(before, after)])


def _people_changed(model, changes: list[tuple[dict | None, dict | None]]) -> None:
    """Log people's changes ``[(before, after)]`` (see :func:`_person_changed`) in a constant number of queries."""
    rows: set[tuple[int, str, str]] = set()
    tenant_entries: set[tuple[str, str]] = set()
    tenant_of: set[int] = set()
    all_states = [s for pair in changes for s in pair if s]
    mains = {s["same_person_as_id"] or s["pk"] for s in all_states}
    with_links = set(model.objects.filter(same_person_as__in=mains).values_list("same_person_as_id", flat=True).distinct())
    linked_mains: set[int] = set()
    for before, after in changes:
        states = [s for s in (before, after) if s]
        rows |= {(s["school_id"], ChangeKind.USER, s["sourced_id"]) for s in states}
        identity = before is None or after is None or any(before[f] != after[f] for f in IDENTITY)
        linked = {s["same_person_as_id"] or s["pk"] for s in states if s["same_person_as_id"] or s["pk"] in with_links}
        if identity or linked:
            tenant_of |= {s["school_id"] for s in states}
        if identity:
            tenant_entries.add((ChangeKind.GENERATED, ""))
            tenant_entries |= {(ChangeKind.EMAIL, s["primary_email"]) for s in states if s["primary_email"]}
            tenant_entries |= {(ChangeKind.USERNAME, s["username"]) for s in states if s["username"]}
        if linked:
            linked_mains |= linked
            tenant_entries |= {(ChangeKind.USER, s["sourced_id"]) for s in states}
    tenant = _tenant_schools(tenant_of) if tenant_of else set()
    records = _group_records(model, linked_mains)
    tenant_entries |= {(ChangeKind.USER, sid) for _, sid in records}
    tenant |= {school_id for school_id, _ in records}
    rows |= {(school_id, kind, key) for school_id in tenant for kind, key in tenant_entries}
    _insert(rows)


@receiver(pre_save, dispatch_uid="lis.changes.person_before")
def _person_before(sender, instance, raw=False, **kwargs):
    if sender in PEOPLE and rows_tracked() and not raw:
        instance._lis_before = _person_rows(sender, [instance.pk]).get(instance.pk) if instance.pk else None


@receiver(pre_delete, dispatch_uid="lis.changes.person_deleting")
def _person_deleting(sender, instance, **kwargs):
    if sender in PEOPLE and rows_tracked():
        # Linked records are unlinked by the delete (SET_NULL, no signal): log the group now.
        _person_changed(sender, _person_rows(sender, [instance.pk]).get(instance.pk), None)


# groups, subjects, memberships ---------------------------------------------------------------------


@receiver(pre_save, dispatch_uid="lis.changes.group_before")
def _group_before(sender, instance, raw=False, **kwargs):
    if raw or not rows_tracked() or not instance.pk:
        return
    if sender is m.Course:
        instance._lis_before = m.Course.objects.filter(pk=instance.pk).values("school_id", "subject__sourced_id").first()
    elif sender in MEMBERSHIPS:
        person = sender.person_field
        instance._lis_before = sender.objects.filter(pk=instance.pk).values(
            f"{person}__sourced_id", f"{person}__school_id"
        ).first()


@receiver(post_save, dispatch_uid="lis.changes.saved")
def _saved(sender, instance, created=False, raw=False, **kwargs):
    if raw or not rows_tracked():
        return
    if sender in PEOPLE:
        after = _person_rows(sender, [instance.pk]).get(instance.pk)
        _person_changed(sender, None if created else getattr(instance, "_lis_before", None), after)
        if not created and getattr(instance, "_lis_before", None) is None:  # unknown before: be safe
            changes_record_full([instance.school_id])
    elif sender is m.Course:
        # Its subject's course is always compared in full (lis.publication.incremental): the class is enough.
        before = getattr(instance, "_lis_before", None) or {}
        changes_record({instance.school_id, before.get("school_id")}, [(ChangeKind.CLASS, instance.sourced_id)])
    elif sender is m.SchoolClass:
        changes_record([instance.school_id], [(ChangeKind.CLASS, instance.sourced_id)])
    elif sender is m.Subject:
        changes_record([instance.school_id], [(ChangeKind.COURSE, instance.sourced_id)])
    elif sender in MEMBERSHIPS:
        _memberships_changed(sender, [instance.pk])
        before = getattr(instance, "_lis_before", None)
        if before and _members_only([before[f"{sender.person_field}__school_id"]]):
            person = sender.person_field
            changes_record([before[f"{person}__school_id"]], [(ChangeKind.USER, before[f"{person}__sourced_id"])])
    elif sender in (CourseSelection, ClassSelection):
        _selections_changed(sender, [instance.pk])
    elif sender is m.School:
        before = getattr(instance, "_lis_school_before", None)
        if created:
            return
        if before is None or before != instance.active_year_id:
            changes_record_full([instance.pk])
        else:
            changes_record([instance.pk], [(ChangeKind.ORG, instance.sourced_id)])
    elif sender is m.SchoolGroup:
        changes_record(instance.schools.values_list("pk", flat=True), [(ChangeKind.ORG, instance.sourced_id)])
    elif sender in (m.AcademicYear, m.Term):
        school_id = instance.school_id if sender is m.AcademicYear else m.AcademicYear.objects.filter(pk=instance.year_id).values_list("school_id", flat=True).first()
        changes_record_full([school_id], tenant=False)
    elif sender is SchoolSyncSettings:
        changes_record_full([instance.school_id], tenant=False)
        changes_record(_tenant_schools([instance.school_id]), [(ChangeKind.ORG, "settings")])
    elif sender is MicrosoftDomain:
        changes_record_full(Integration.objects.filter(pk=instance.integration_id).values_list("schools", flat=True))


@receiver(pre_save, sender=m.School, dispatch_uid="lis.changes.school_before")
def _school_before(sender, instance, raw=False, **kwargs):
    if instance.pk and not raw:
        instance._lis_school_before = m.School.objects.filter(pk=instance.pk).values_list("active_year_id", flat=True).first()


@receiver(post_delete, dispatch_uid="lis.changes.deleted")
def _deleted(sender, instance, **kwargs):
    if not rows_tracked():
        return
    if sender in (m.Course, m.SchoolClass):
        changes_record([instance.school_id], [(ChangeKind.CLASS, instance.sourced_id)])
    elif sender is m.Subject:
        changes_record([instance.school_id], [(ChangeKind.COURSE, instance.sourced_id)])
    elif sender in (m.AcademicYear, m.Term):
        school_id = getattr(instance, "school_id", None) or m.AcademicYear.objects.filter(pk=instance.year_id).values_list("school_id", flat=True).first()
        if school_id and m.School.objects.filter(pk=school_id).exists():
            changes_record_full([school_id], tenant=False)
    elif sender is MicrosoftDomain:
        changes_record_full(Integration.objects.filter(pk=instance.integration_id).values_list("schools", flat=True))


def _members_only(school_ids) -> set[int]:
    """Which of ``school_ids`` publish only members of ticked groups (a membership then decides a user)."""
    settings = SchoolSyncSettings.objects.filter(school__in=set(school_ids), users_to_publish=UsersToPublish.GROUP_MEMBERS)
    return set(settings.values_list("school_id", flat=True))


def _memberships_changed(model, pks: list[int]) -> None:
    """An enrollment each; the person too where the school publishes only members of ticked groups
    (switching that setting logs a full run, so the choice made here stays right)."""
    person = model.person_field
    rows = []
    for start in range(0, len(pks), 2000):
        chunk = model.objects.filter(pk__in=pks[start : start + 2000])
        rows += chunk.values_list("sourced_id", f"{person}__sourced_id", f"{person}__school_id")
    members_only = _members_only({school_id for _, _, school_id in rows})
    entries = {(school_id, ChangeKind.ENROLLMENT, sid) for sid, _, school_id in rows}
    entries |= {(school_id, ChangeKind.USER, person_sid) for _, person_sid, school_id in rows if school_id in members_only}
    _insert(entries)


def _selections_changed(model, pks: list[int]) -> None:
    group = "course" if model is CourseSelection else "school_class"
    rows = list(model.objects.filter(pk__in=pks).values_list(f"{group}__sourced_id", f"{group}__school_id"))
    for sid, school_id in rows:
        changes_record([school_id], [(ChangeKind.CLASS, sid)])
    schools = {school_id for _, school_id in rows}
    members_only = SchoolSyncSettings.objects.filter(school__in=schools, users_to_publish=UsersToPublish.GROUP_MEMBERS)
    members_only = list(members_only.values_list("school_id", flat=True))
    if members_only:
        changes_record(_tenant_schools(members_only), [(ChangeKind.ORG, "ticks")])


@receiver(m2m_changed, sender=m.Course.terms.through, dispatch_uid="lis.changes.course_terms")
def _course_terms(sender, instance, action, reverse, pk_set=None, **kwargs):
    if not action.startswith("post_") or not rows_tracked():
        return
    courses = m.Course.objects.filter(pk__in=pk_set or ()) if reverse else m.Course.objects.filter(pk=instance.pk)
    if reverse and action == "post_clear":
        changes_record_full([instance.year.school_id], tenant=False)
        return
    for sid, school_id in courses.values_list("sourced_id", "school_id"):
        changes_record([school_id], [(ChangeKind.CLASS, sid)])


@receiver(m2m_changed, sender=Integration.schools.through, dispatch_uid="lis.changes.integration_schools")
def _integration_schools(sender, instance, action, reverse, pk_set=None, **kwargs):
    # Before and after: the tenant's schools change, so their duplicate checks do.
    if action not in ("pre_add", "post_add", "pre_remove", "post_remove", "pre_clear"):
        return
    if reverse:  # instance is a School, pk_set integrations
        integrations = set(pk_set or ()) | set(instance.integrations.values_list("pk", flat=True))
        schools = set(m.School.objects.filter(integrations__in=integrations).values_list("pk", flat=True)) | {instance.pk}
    else:
        schools = set(instance.schools.values_list("pk", flat=True)) | set(pk_set or ())
    changes_record_full(schools, tenant=False)


@receiver(school_data_changed, dispatch_uid="lis.changes.school_data_changed")
def _school_data_changed(sender, *, school_ids, pks, old_values, **kwargs):
    """Bulk writes reported by the school domain and the LIS itself (see the module docstring)."""
    if pks is None:
        changes_record_full(school_ids)
    elif sender in PEOPLE:
        pairs = []
        for pk, after in _person_rows(sender, pks).items():
            pairs.append(({**after, **{f: (v or "").lower() for f, v in old_values.get(pk, {}).items()}}, after))
        _people_changed(sender, pairs)
    elif sender in MEMBERSHIPS:
        _memberships_changed(sender, pks)
    elif sender in (CourseSelection, ClassSelection):
        _selections_changed(sender, pks)
    else:
        changes_record_full(school_ids)
