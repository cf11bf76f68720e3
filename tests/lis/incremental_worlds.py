"""Two identical small Microsoft tenants, edited alike, for comparing incremental with full publication.

A :class:`World` is one tenant (an integration) of two schools: subjects, courses, homeroom
classes, students and teachers, every row with a sourcedId starting with the world's ``tag``
(``SIDA_`` or ``SIDB_``), so the two worlds' stores can be compared after translating one tag
into the other. :meth:`World.apply` makes one edit through the product's own write paths (model
``save()``/``delete()``, the primary-email service, the selection service, the membership admin's
delete, the sync-settings service).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from django.contrib import admin

from lis.domains import microsoft_domains_register
from lis.models import ClassSelection, CourseSelection, Integration, PublishedObject, SchoolSyncSettings, UsersToPublish
from lis.publication import homeroom_course_id
from lis.selection.services import school_sync_settings_update, selections_set_sync
from myschool import models as m
from myschool.emails import EmailChangeRefused, PersonKey, primary_emails_change

EMAILS = ["ann@school.example", "ANN@school.example", "bob@school.example", "", "eve@elsewhere.example", "cy@school.example"]
USERNAMES = ["ann", "Ann", "bob", "", "", "dee@x"]
OPERATIONS = [
    "add_student", "add_teacher", "delete_person", "rename", "email_save", "email_service", "username",
    "status", "enrol", "tick", "move_course", "course_terms", "link", "members_only", "rename_subject",
    "rename_class",
]


class World:
    """One tenant of two schools (see the module docstring)."""

    def __init__(self, tag: str):
        self.tag, self.count = tag, 0
        group = m.SchoolGroup.objects.create(name="Trust", code=f"{tag}trust", sourced_id=f"{tag}trust")
        self.schools: list[m.School] = []
        for n in range(2):
            school = m.School.objects.create(
                name=f"School {n}", code=f"{tag}s{n}", sourced_id=f"{tag}s{n}", group=group if n == 0 else None
            )
            year = m.AcademicYear.objects.create(
                school=school, name="2026/27", start_date=dt.date(2026, 8, 1), end_date=dt.date(2027, 7, 31),
                sourced_id=f"{tag}y{n}",
            )
            school.active_year = year
            school.save()
            for k, (start, end) in enumerate(((dt.date(2026, 8, 1), dt.date(2026, 12, 31)), (dt.date(2027, 1, 1), dt.date(2027, 7, 31)))):
                m.Term.objects.create(year=year, name=f"Term {k}", start_date=start, end_date=end, sourced_id=f"{tag}t{n}{k}")
            SchoolSyncSettings.objects.create(school=school, should_sync=True, share_demographics=n == 0)
            subjects = [
                m.Subject.objects.create(school=school, name=f"Subject {k}", code=f"S{k}", subject_area="Math", sourced_id=self.sid("subj"))
                for k in range(2)
            ]
            for k in range(3):
                course = m.Course.objects.create(
                    school=school, year=year, subject=subjects[k % 2], name=f"Course {k}", grade_levels="09", sourced_id=self.sid("crs")
                )
                CourseSelection.objects.create(course=course, sync=k != 2)
            for k in range(2):
                homeroom = m.SchoolClass.objects.create(school=school, year=year, name=f"Form {k}", grade_level="09", sourced_id=self.sid("cls"))
                ClassSelection.objects.create(school_class=homeroom, sync=k == 0)
            for k in range(4):
                self.add_person(m.Student, school, f"p{k}@school.example", f"pupil{k}")
            for k in range(2):
                self.add_person(m.Teacher, school, f"t{k}@school.example", f"teacher{k}" if k else "")
            groups = self.groups(school)
            for k, person in enumerate(self.people(m.Student, school)):
                self.enrol(person, groups[k % len(groups)])
                self.enrol(person, groups[-1])
            for k, person in enumerate(self.people(m.Teacher, school)):
                self.enrol(person, groups[k])
            self.schools.append(school)
        self.integration = Integration.objects.create(
            name=f"Tenant {tag}", tenant_id=str(uuid.uuid4()), key_contact_name="Kim", key_contact_email="kim@school.example"
        )
        self.integration.schools.set(self.schools)
        microsoft_domains_register(integration=self.integration, domains=["school.example"])

    # rows ------------------------------------------------------------------------------------
    def sid(self, name: str) -> str:
        self.count += 1
        return f"{self.tag}{name}{self.count}"

    def add_person(self, model, school, email: str, username: str):
        number = {"student_number": self.sid("n")} if model is m.Student else {"staff_number": self.sid("n")}
        extra = {"grade_level": "09", "birth_date": dt.date(2011, 1, 2), "sex": "female"} if model is m.Student else {}
        return model.objects.create(
            school=school, sourced_id=self.sid("usr"), given_name="Given", family_name="Family", username=username,
            primary_email=email, **number, **extra,
        )

    def people(self, model, school) -> list:
        return list(model.objects.filter(school=school).order_by("pk"))

    def groups(self, school) -> list:
        return list(m.Course.objects.filter(school=school).order_by("pk")) + list(m.SchoolClass.objects.filter(school=school).order_by("pk"))

    def enrol(self, person, group) -> None:
        role = "student" if isinstance(person, m.Student) else "teacher"
        membership = {("student", True): m.CourseStudent, ("student", False): m.ClassStudent,
                      ("teacher", True): m.CourseTeacher, ("teacher", False): m.ClassTeacher}[(role, isinstance(group, m.Course))]
        group_field = "course" if isinstance(group, m.Course) else "school_class"
        existing = membership.objects.filter(**{role: person, group_field: group})
        if existing.exists():  # unenrol as the membership admin's "delete selected" does
            admin.site._registry[membership].delete_queryset(None, existing)
        else:
            membership.objects.create(**{role: person, group_field: group}, sourced_id=self.sid("enr"))

    # edits -----------------------------------------------------------------------------------
    def apply(self, edit: tuple) -> None:
        """Make one edit ``(operation, school, role, i, j)`` (indexes taken modulo what exists)."""
        operation, s, role, i, j = edit
        school = m.School.objects.get(pk=self.schools[s].pk)
        model = m.Student if role == 0 else m.Teacher
        people = self.people(model, school)
        person = people[i % len(people)] if people else None
        groups = self.groups(school)
        group = groups[j % len(groups)]
        if operation == "add_student":
            self.add_person(m.Student, school, EMAILS[i % len(EMAILS)], USERNAMES[j % len(USERNAMES)].replace("@x", ""))
        elif operation == "add_teacher":
            self.add_person(m.Teacher, school, EMAILS[i % len(EMAILS)], USERNAMES[j % len(USERNAMES)].replace("@x", ""))
        elif person is None:
            return
        elif operation == "delete_person":
            person.delete()
        elif operation == "rename":
            person.given_name += "x"
            person.save()
        elif operation == "email_save":
            person.primary_email = EMAILS[j % len(EMAILS)]
            person.save()
        elif operation == "email_service":
            try:
                primary_emails_change(
                    school=school, changes={PersonKey(model._meta.model_name, person.pk): EMAILS[j % len(EMAILS)]},
                    user=None, kind=m.EmailChangeKind.MASS_EDIT,
                )
            except EmailChangeRefused:
                pass
        elif operation == "username":
            person.username = USERNAMES[j % len(USERNAMES)].replace("@x", "")
            person.save()
        elif operation == "status":
            person.status = m.Status.LEFT if person.status == m.Status.ACTIVE else m.Status.ACTIVE
            person.save()
        elif operation == "enrol":
            self.enrol(person, group)
        elif operation == "tick":
            selection = CourseSelection if isinstance(group, m.Course) else ClassSelection
            rows = selection.objects.filter(**{"course" if isinstance(group, m.Course) else "school_class": group})
            selections_set_sync(selections=rows, sync=not rows.get().sync, user=None)
        elif operation == "move_course":
            course = m.Course.objects.filter(school=school).order_by("pk")[j % 3]
            subjects = list(m.Subject.objects.filter(school=school).order_by("pk"))
            course.subject = subjects[(subjects.index(course.subject) + 1) % len(subjects)]
            course.save()
        elif operation == "course_terms":
            course = m.Course.objects.filter(school=school).order_by("pk")[j % 3]
            terms = list(m.Term.objects.filter(year=school.active_year).order_by("pk"))
            course.terms.set(terms[: (course.terms.count() + 1) % 3])
        elif operation == "link":
            self.link(model, i, j)
        elif operation == "members_only":
            settings = school.sync_settings
            wanted = UsersToPublish.ALL_ACTIVE if settings.users_to_publish == UsersToPublish.GROUP_MEMBERS else UsersToPublish.GROUP_MEMBERS
            school_sync_settings_update(school=school, user=None, users_to_publish=wanted)
        elif operation == "rename_subject":
            subject = m.Subject.objects.filter(school=school).order_by("pk")[j % 2]
            subject.name += "x"
            subject.save()
        elif operation == "rename_class":
            group.name += "x"
            group.save()

    def link(self, model, i: int, j: int) -> None:
        """Link record ``i`` of the second school to record ``j`` of the first (or unlink it)."""
        records = self.people(model, self.schools[1])
        mains = self.people(model, self.schools[0])
        if not records or not mains:
            return
        record, main = records[i % len(records)], mains[j % len(mains)]
        if record.same_person_as_id is not None:
            record.same_person_as = None
        elif main.same_person_as_id is None and not record.linked_records.exists():
            record.same_person_as = main
        record.save()

    # the store ---------------------------------------------------------------------------------
    def store(self, into: World | None = None) -> dict[tuple[str, str], tuple]:
        """(kind, sourcedId) → (status, payload, content hash, owning school's code) of this world's
        published objects; with ``into``, in ``into``'s sourcedIds (hash of the translated payload)."""
        from lis.publication.mapping import PublishedRecord

        pairs = []
        if into is not None:
            for mine, theirs in zip(self.schools, into.schools):
                pairs.append((
                    homeroom_course_id(school_sourced_id=mine.sourced_id, year_sourced_id=mine.active_year.sourced_id),
                    homeroom_course_id(school_sourced_id=theirs.sourced_id, year_sourced_id=theirs.active_year.sourced_id),
                ))
            pairs.append((self.tag, into.tag))

        def translate(text: str) -> str:
            for old, new in pairs:
                text = text.replace(old, new)
            return text

        objects = PublishedObject.objects.filter(tenant=0, sourced_id__startswith=self.tag) | PublishedObject.objects.filter(
            tenant=0, school__in=self.schools
        )
        rows = {}
        for obj in objects.select_related("school"):
            payload = json.loads(translate(json.dumps(obj.payload)))
            content_hash = PublishedRecord(obj.kind, "", payload).content_hash if into is not None else obj.content_hash
            code = translate(obj.school.code) if obj.school else None
            rows[(obj.kind, translate(obj.sourced_id))] = (obj.status, payload, content_hash if obj.content_hash else "", code)
        return rows
